"""A tiny Kaldi data dir of synthetic utterances for the vocoder trainer's tests."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from promptevc.data.kaldi import write_scp
from promptevc.utils.synth import synth_speech


def synthetic_data_dir(root: Path, f0s: tuple[float, ...], seconds: float = 1.5) -> Path:
    """``root/data`` with a wav.scp of one ``seconds``-long 16 kHz utterance per F0 in ``f0s``."""
    wav_scp = {}
    for i, f0 in enumerate(f0s):
        path = root / "wav" / f"utt{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, synth_speech(f0_hz=f0, seconds=seconds, seed=i), 16000)
        wav_scp[f"utt{i}"] = str(path)
    write_scp(root / "data" / "wav.scp", wav_scp)
    return root / "data"
