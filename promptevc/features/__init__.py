"""Acoustic features: log-mel (``mel``), F0/voicing and energy (``prosody``).

The names below load their module on first use: ``promptevc.features.prosody`` (numpy and
pyworld only) is imported by the prosody engine, whose cold start must not pay for torch,
which ``promptevc.features.mel`` needs.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"MelSpectrogram": "mel", "extract_mel": "mel", "extract_f0": "prosody", "extract_energy": "prosody"}

__all__ = ["MelSpectrogram", "extract_mel", "extract_f0", "extract_energy"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"promptevc.features.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'promptevc.features' has no attribute {name!r}")
