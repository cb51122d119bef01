"""Objective evaluation of emotion conversion (``promptevc evaluate``).

- :mod:`~promptevc.eval.metrics`: pure metric functions (WORLD analysis, MCD, F0, tempo, energy, WER);
- :mod:`~promptevc.eval.pairs`: reading what to evaluate (CSV, Kaldi-style folder, two folders);
- :mod:`~promptevc.eval.asr`, :mod:`~promptevc.eval.quality`: recogniser and DNSMOS wrappers;
- :mod:`~promptevc.eval.runner`: :func:`evaluate` runs everything and writes the outputs;
- :mod:`~promptevc.eval.report`, :mod:`~promptevc.eval.plots`: summary.json, report.md, PNGs.
"""
