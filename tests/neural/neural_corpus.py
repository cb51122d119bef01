"""Synthetic emotional corpora for the neural-model tests (no recordings, no network).

Emotions differ in F0, tempo and level by construction (synth_speech): happy = F0 x1.35, sad =
syllables 1.6x longer, angry = F0 x1.25 and 8 dB louder, neutral = the speaker's base. Features are dumped with D2's
dump_features (mel content, GE2E speaker embeddings, DIO F0) and units fitted with fit_units.
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from promptevc.data.kaldi import spk2utt_from_utt2spk, write_scp
from promptevc.utils.synth import synth_speech

TINY_CONFIG = Path(__file__).resolve().parents[2] / "promptevc" / "configs" / "acoustic_tiny.yaml"

# emotion -> (F0 factor, syllable seconds factor, intensity pseudo-label, level offset dB)
EMOTION_STYLE = {"neutral": (1.0, 1.0, 0.0, 0.0), "happy": (1.35, 1.0, 0.8, 0.0), "sad": (1.0, 1.6, 0.8, 0.0),
                 "angry": (1.25, 1.0, 0.8, 8.0)}
SPEAKERS = {"spk1": 120.0, "spk2": 200.0}


def write_wavs(root: Path, utts_per_style: int = 2, seconds: float = 1.2,
               emotions: tuple[str, ...] = ("neutral", "happy", "sad"), speakers: dict | None = None) -> Path:
    """Write synthetic wavs and a Kaldi data dir (wav.scp, utt2spk, spk2utt, utt2emo,
    utt2intensity, text); returns the data dir."""
    data, wavs = root / "data", root / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    wav_scp, utt2spk, utt2emo, utt2int, text = {}, {}, {}, {}, {}
    for spk, base_f0 in (speakers or SPEAKERS).items():
        for emo in emotions:
            f0_factor, syl_factor, intensity, level = EMOTION_STYLE[emo]
            for i in range(utts_per_style):
                utt = f"{spk}_{emo}_{i:02d}"
                wav = synth_speech(
                    f0_hz=base_f0 * f0_factor, seconds=seconds * syl_factor, syllable_seconds=0.2 * syl_factor,
                    pause_seconds=0.12 * syl_factor, vowels="aieou"[i % 5:] + "aieou"[: i % 5], seed=i,
                    level_db=-20.0 + level,
                )
                path = wavs / f"{utt}.wav"
                sf.write(path, wav, 16000)
                wav_scp[utt], utt2spk[utt], utt2emo[utt] = str(path), spk, emo
                utt2int[utt], text[utt] = f"{intensity:.2f}", "la la la"
    write_scp(data / "wav.scp", wav_scp)
    write_scp(data / "utt2spk", utt2spk)
    write_scp(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    write_scp(data / "utt2emo", utt2emo)
    write_scp(data / "utt2intensity", utt2int)
    write_scp(data / "text", text)
    return data


def make_corpus(root: Path, utts_per_style: int = 2, seconds: float = 1.2, k: int = 12,
                emotions: tuple[str, ...] = ("neutral", "happy", "sad"), speakers: dict | None = None
                ) -> tuple[Path, Path]:
    """Synthetic data dir with features dumped by ``dump_features`` (GE2E per utterance) and
    units from ``fit_units``; returns (data_dir, units_dir)."""
    from promptevc.data.dump import dump_features
    from promptevc.data.units import apply_units, fit_units
    from promptevc.features.content import ContentConfig

    data = write_wavs(root, utts_per_style, seconds, emotions, speakers)
    dump_features(data, content=ContentConfig(type="mel", k=k), speaker_backbone="ge2e", f0_method="dio",
                  progress=False)
    units = root / "units"
    extractor = fit_units(data, units, k=k, n_iter=20, progress=False)
    apply_units(extractor, data, progress=False)
    return data, units


def make_fast_corpus(root: Path, utts_per_style: int = 2, seconds: float = 1.2, k: int = 12,
                     emotions: tuple[str, ...] = ("neutral", "happy", "sad"), speakers: dict | None = None
                     ) -> tuple[Path, Path]:
    """Like :func:`make_corpus` but faster: the same npz contract, with ONE GE2E embedding per
    speaker (GE2E costs ~1.5 s per utterance on a busy CPU) instead of one per utterance."""
    import numpy as np
    import yaml

    from promptevc.audio import load_audio
    from promptevc.config import AudioConfig
    from promptevc.data.dump import FEATS_CONFIG, feats_settings
    from promptevc.data.kaldi import read_scp
    from promptevc.data.units import apply_units, fit_units
    from promptevc.features.content import ContentConfig, ContentEncoder
    from promptevc.features.mel import extract_mel
    from promptevc.features.prosody import extract_energy, extract_f0
    from promptevc.models.speaker import SpeakerBackbone

    data = write_wavs(root, utts_per_style, seconds, emotions, speakers)
    audio, content = AudioConfig(), ContentConfig(type="mel", k=k)
    encoder, backbone = ContentEncoder(content, audio), SpeakerBackbone("ge2e")
    spk_emb: dict[str, np.ndarray] = {}
    utt2spk = read_scp(data / "utt2spk")
    feats = {}
    (data / "feats").mkdir(exist_ok=True)
    for utt, path in read_scp(data / "wav.scp").items():
        wav = load_audio(path, audio)
        spk = utt2spk[utt]
        if spk not in spk_emb:
            spk_emb[spk] = backbone.embed(wav)
        f0, _ = extract_f0(wav, audio, method="dio")
        out = data / "feats" / f"{utt}.npz"
        np.savez(out, mel=extract_mel(wav, audio), f0=f0.astype(np.float32), energy=extract_energy(wav, audio),
                 spk_emb=spk_emb[spk], content=encoder.extract(wav).astype(np.float32))
        feats[utt] = str(out)
    write_scp(data / "feats.scp", feats)
    (data / FEATS_CONFIG).write_text(yaml.safe_dump(feats_settings(audio, content, "ge2e", None, "dio")))
    units = root / "units"
    extractor = fit_units(data, units, k=k, n_iter=20, progress=False)
    apply_units(extractor, data, progress=False)
    return data, units


def make_tiny_text_encoder(folder: Path) -> Path:
    """A 1-layer, 32-wide BERT with the packaged MiniLM tokenizer, saved with save_pretrained."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from promptevc.prompt.encoder import packaged_minilm_path

    if (folder / "config.json").exists():
        return folder
    tok = AutoTokenizer.from_pretrained(str(packaged_minilm_path()))
    import torch

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=32, max_position_embeddings=64))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_random_release(cfg, text_encoder, root: Path, k: int = 12, reference=None):
    """Build a random tiny model, store it as an experiment (config, checkpoint, units) and export it.

    Returns (release dir, model in eval mode). ``reference``: ReferenceIntensity tensors to add.
    """
    import json

    import torch

    from promptevc.config import save_yaml
    from promptevc.features.content import ContentConfig, UnitExtractor
    from promptevc.models.evc import build_model
    from promptevc.train.checkpoint import checkpoint_path, save_checkpoint
    from promptevc.train.loop import export_release

    torch.manual_seed(0)
    model = build_model(cfg, text_encoder=text_encoder)
    model.set_stats(torch.randn(cfg.audio.n_mels) - 4, torch.rand(cfg.audio.n_mels) + 0.5)
    exp = root / "exp"
    exp.mkdir(parents=True)
    save_yaml(cfg, exp / "config.yaml")
    (exp / "experiment.json").write_text(json.dumps({"kind": "acoustic"}))
    save_checkpoint(checkpoint_path(exp, 7), step=7, models={"model": model})
    UnitExtractor(ContentConfig(type="mel", k=k), torch.randn(k, cfg.audio.n_mels), audio=cfg.audio).save(exp / "units")
    release = export_release(exp, root / "release")
    if reference is not None:
        from promptevc.release import read_release, write_release

        rel = read_release(release, kind="acoustic")
        tensors = dict(rel.state_dict) | {f"reference.{k}": v for k, v in reference.items()}
        release = write_release(root / "release_ref", kind="acoustic", config=rel.config, tensors=tensors,
                                meta=rel.meta)
    return release, model.eval()
