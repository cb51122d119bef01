"""Synthetic emotional corpus helpers for tests/neural_data (imported by name, not via conftest).

Emotions differ by construction in F0 level/range, tempo (syllable length) and level, like the
coarse acoustic profiles of ESD's categories; ``intensity`` in [0, 1] interpolates every
attribute from the speaker's neutral voice towards the full emotion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from promptevc.data.kaldi import spk2utt_from_utt2spk, write_scp
from promptevc.prompt.control import EMOTIONS
from promptevc.utils.synth import synth_speech

# emotion: (F0 ratio, F0 range in semitones, syllable seconds, level dB)
PROFILES = {
    "neutral": (1.0, 2.0, 0.22, -20.0),
    "angry": (1.25, 4.0, 0.16, -10.0),
    "happy": (1.45, 7.0, 0.18, -15.0),
    "sad": (0.8, 1.0, 0.34, -28.0),
    "surprise": (1.8, 10.0, 0.20, -14.0),
}
SPEAKERS = {"spk_a": 120.0, "spk_b": 210.0}


def emotional_speech(
    emotion: str, base_f0: float, intensity: float = 1.0, seconds: float = 1.2, seed: int = 0
) -> np.ndarray:
    """16 kHz speech-like audio of ``emotion`` at ``intensity`` (0 = the speaker's neutral voice)."""
    n_ratio, n_range, n_syl, n_level = PROFILES["neutral"]
    ratio, rng, syl, level = PROFILES[emotion]
    mix = lambda a, b: a + (b - a) * intensity  # noqa: E731
    return synth_speech(
        f0_hz=base_f0 * float(np.exp(mix(np.log(n_ratio), np.log(ratio)))),
        seconds=seconds,
        f0_range_st=mix(n_range, rng),
        syllable_seconds=mix(n_syl, syl),
        level_db=mix(n_level, level),
        vowels="aieou"[seed % 5:] + "aieou"[: seed % 5],
        seed=seed,
    )


def make_data_dir(
    root: Path,
    per_class: int = 2,
    speakers: dict[str, float] | None = None,
    emotions: tuple[str, ...] = EMOTIONS,
    intensities: tuple[float, ...] | None = None,
    seconds: float = 1.2,
) -> Path:
    """Write wavs + wav.scp/utt2spk/spk2utt/utt2emo/text; intensities cycle when given."""
    speakers = speakers or SPEAKERS
    wav_dir = root / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    wav_scp, utt2spk, utt2emo, text = {}, {}, {}, {}
    seed = 0
    for spk, f0 in speakers.items():
        for emo in emotions:
            for i in range(per_class):
                x = 1.0 if intensities is None else intensities[i % len(intensities)]
                if emo == "neutral":
                    x = 0.0
                utt = f"{spk}_{emo}_{i:03d}"
                seed += 1
                wav = emotional_speech(emo, f0, x, seconds=seconds + 0.05 * (i % 3), seed=seed)
                path = wav_dir / f"{utt}.wav"
                sf.write(path, wav, 16000, subtype="FLOAT")
                wav_scp[utt], utt2spk[utt], utt2emo[utt], text[utt] = str(path), spk, emo, "a b c"
    write_scp(root / "wav.scp", wav_scp)
    write_scp(root / "utt2spk", utt2spk)
    write_scp(root / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    write_scp(root / "utt2emo", utt2emo)
    write_scp(root / "text", text)
    return root


def add_mel_features(root: Path) -> Path:
    """Fast stand-in for dump-features: feats npz with only ``mel`` + feats.scp + feats_config.yaml.

    Enough for the evaluator and intensity labels, which read nothing else.
    """
    import torch
    import yaml

    from promptevc.audio import load_audio
    from promptevc.config import AudioConfig
    from promptevc.data.dump import feats_settings
    from promptevc.data.kaldi import read_scp
    from promptevc.features.content import ContentConfig
    from promptevc.features.mel import MelSpectrogram

    audio = AudioConfig()
    mel_fn = MelSpectrogram(audio)
    feats = {}
    (root / "feats").mkdir(exist_ok=True)
    for utt, wav_path in read_scp(root / "wav.scp").items():
        with torch.no_grad():
            mel = mel_fn(torch.from_numpy(load_audio(wav_path, audio))[None])[0].numpy()
        out = root / "feats" / f"{utt}.npz"
        np.savez(out, mel=mel.astype(np.float32))
        feats[utt] = str(out)
    write_scp(root / "feats.scp", feats)
    settings = feats_settings(audio, ContentConfig(type="mel"), "ge2e", None, "dio")
    (root / "feats_config.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return root
