"""Objective evaluation of emotion conversion (``promptevc evaluate``).

- :mod:`~promptevc.eval.metrics`: pure metric functions (WORLD analysis, MCD, F0, tempo, energy, tilt, WER);
- :mod:`~promptevc.eval.normalize`: Whisper-style text normalisation for WER/CER;
- :mod:`~promptevc.eval.pairs`: reading what to evaluate (CSV, Kaldi-style folder, two folders);
- :mod:`~promptevc.eval.asr`, :mod:`~promptevc.eval.quality`: recognisers (Whisper, pocketsphinx,
  transformers) and DNSMOS;
- :mod:`~promptevc.eval.runner`: :func:`evaluate` runs everything (source groups, worker processes)
  and writes the outputs;
- :mod:`~promptevc.eval.directions`: expected cue directions from the prosody profile table;
- :mod:`~promptevc.eval.report`, :mod:`~promptevc.eval.plots`: summary.json, report.md, PNGs, ``--compare``;
- :mod:`~promptevc.eval.significance`: confidence intervals, Wilcoxon, sign test, Holm, Krippendorff's alpha.
"""
