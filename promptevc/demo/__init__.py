"""The Gradio demo: a conversion tab and blind listening tests (DESIGN §8).

- :mod:`promptevc.demo.convert`: the conversion handler (public :class:`promptevc.Converter` API only);
- :mod:`promptevc.demo.listening`: listening-test design, per-participant randomisation, SQLite store;
- :mod:`promptevc.demo.stats`: MOS confidence intervals, confusion matrix, ranking agreement, CSV;
- :mod:`promptevc.demo.plots`: pitch/energy and confusion figures as PNG;
- :mod:`promptevc.demo.ui`: the ``gr.Blocks`` layout wiring the above together.

Only :mod:`promptevc.demo.ui` imports gradio, so the logic is testable without it.
"""
