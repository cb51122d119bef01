"""Acoustic features: log-mel (``mel``), F0/voicing and energy (``prosody``)."""

from promptevc.features.mel import MelSpectrogram, extract_mel
from promptevc.features.prosody import extract_energy, extract_f0

__all__ = ["MelSpectrogram", "extract_mel", "extract_f0", "extract_energy"]
