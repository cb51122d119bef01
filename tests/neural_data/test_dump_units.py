"""dump-features and fit-units on a tiny synthetic data dir (through the CLI)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from promptevc.cli import main
from promptevc.data.dump import COMPONENTS, dump_features, load_feats, read_feats_config
from promptevc.data.kaldi import read_scp, write_scp
from promptevc.errors import PromptEVCError
from promptevc.features.content import ContentConfig, UnitExtractor


def test_dumped_features_consistent(dumped_data):
    scp = read_scp(dumped_data / "feats.scp")
    assert list(scp) == list(read_scp(dumped_data / "wav.scp"))
    frames = read_scp(dumped_data / "utt2num_frames")
    audio, content, cfg = read_feats_config(dumped_data)
    assert content.type == "mel" and cfg["speaker"]["backbone"] == "ge2e" and cfg["f0_method"] == "dio"
    f0_means = {}
    for utt, path in scp.items():
        z = load_feats(path)
        assert set(z) == {"mel", "f0", "energy", "spk_emb", "content"}
        n = z["mel"].shape[1]
        assert z["mel"].shape[0] == audio.n_mels and int(frames[utt]) == n
        assert z["f0"].shape == (n,) and z["energy"].shape == (n,) and z["content"].shape == (n, audio.n_mels)
        assert z["spk_emb"].shape == (256,) and abs(np.linalg.norm(z["spk_emb"]) - 1) < 1e-4
        assert all(v.dtype == np.float32 for v in z.values())
        f0_means[utt] = z["f0"][z["f0"] > 0].mean()
    # F0 follows the synthetic speakers/emotions: spk_b (210 Hz) above spk_a (120 Hz), sad below neutral.
    assert f0_means["spk_b_neutral_000"] > 1.5 * f0_means["spk_a_neutral_000"]
    assert f0_means["spk_a_sad_000"] < f0_means["spk_a_neutral_000"] < f0_means["spk_a_happy_000"]


def test_dump_store_skips_reuses_components_and_reports_failures(tmp_path, synth_data):
    data = synth_data(tmp_path / "d", per_class=1, emotions=("neutral", "sad"))
    root = tmp_path / "store"
    mel = ContentConfig(type="mel")
    r = dump_features(data, content=mel, f0_method="dio", store_root=root, progress=False)
    assert (r.done, r.skipped, r.failed) == (4, 0, 0) and r.computed == dict.fromkeys(COMPONENTS, 4)
    assert r.store.parent == root.resolve() and r.store.name.startswith("mel-dio-")
    first = read_scp(data / "feats.scp")
    stamps = {u: Path(p).stat().st_mtime_ns for u, p in first.items()}
    # Stored compactly: float16 mel and content, float32 F0/energy/speaker; load_feats widens.
    with np.load(first["spk_a_neutral_000"]) as z:
        assert z["mel"].dtype == np.float16 and z["content"].dtype == np.float16 and z["f0"].dtype == np.float32
    assert all(v.dtype == np.float32 for v in load_feats(first["spk_a_neutral_000"]).values())
    # Same settings again, and another data dir sharing utterances: everything is skipped.
    r = dump_features(data, content=mel, f0_method="dio", store_root=root, progress=False)
    assert (r.done, r.skipped) == (0, 4)
    other = tmp_path / "other"
    other.mkdir()
    write_scp(other / "wav.scp", dict(list(read_scp(data / "wav.scp").items())[:2]))
    assert dump_features(other, content=mel, f0_method="dio", store_root=root, progress=False).skipped == 2
    # Another F0 method: a new store; only F0 is computed, the rest is copied; nothing is overwritten.
    r = dump_features(data, content=mel, f0_method="harvest", store_root=root, progress=False)
    assert r.done == 4 and r.computed == {"f0": 4}
    assert r.reused == {"spectral": 4, "speaker": 4, "content": 4}
    second = read_scp(data / "feats.scp")
    assert all(Path(p).parent.parent == r.store for p in second.values())
    assert {u: Path(p).stat().st_mtime_ns for u, p in first.items()} == stamps
    a, b = load_feats(first["spk_a_neutral_000"]), load_feats(second["spk_a_neutral_000"])
    assert np.array_equal(a["mel"], b["mel"]) and np.array_equal(a["content"], b["content"])
    assert not np.array_equal(a["f0"], b["f0"])
    assert read_feats_config(data)[2]["f0_method"] == "harvest"
    # A wav that changed (other size) is dumped again; the others are skipped.
    wavs = read_scp(data / "wav.scp")
    import soundfile as sf

    audio, rate = sf.read(wavs["spk_b_sad_000"])
    sf.write(wavs["spk_b_sad_000"], audio[: len(audio) * 3 // 4], rate)  # re-recorded: other size
    r = dump_features(data, content=mel, f0_method="harvest", store_root=root, progress=False)
    assert (r.done, r.skipped) == (1, 3) and r.computed == dict.fromkeys(COMPONENTS, 1)
    # A broken wav: reported, the others are kept, the run fails at the end with counts.
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    wavs["zz_broken"] = str(tmp_path / "broken.wav")
    write_scp(data / "wav.scp", wavs)
    with pytest.raises(PromptEVCError, match=r"1 of 5 utterances failed \(first: zz_broken"):
        dump_features(data, content=mel, f0_method="harvest", store_root=root, progress=False)
    assert len(read_scp(data / "feats.scp")) == 4


def test_dump_ledger_survives_a_cut_line_and_overwrite_recomputes(tmp_path, synth_data):
    data = synth_data(tmp_path / "d", per_class=1, emotions=("neutral",))
    mel = ContentConfig(type="mel")
    r = dump_features(data, content=mel, f0_method="dio", progress=False)
    assert r.store.parent == (data / "feats").resolve()  # default store root: DATADIR/feats
    ledger = next((r.store / "ledger").glob("*.tsv"))
    # A kill while a line was being written leaves it without its newline: that utterance is redone.
    lines = ledger.read_text().splitlines(keepends=True)
    ledger.write_text("".join(lines[:-1]) + lines[-1].rstrip("\n")[:5])
    r = dump_features(data, content=mel, f0_method="dio", progress=False)
    assert (r.done, r.skipped) == (1, len(lines) - 1)
    r = dump_features(data, content=mel, f0_method="dio", overwrite=True, progress=False)
    assert (r.done, r.skipped, r.reused) == (len(lines), 0, {})


def _tiny_hubert(path):
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    cfg = HubertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                       conv_dim=(8,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    HubertModel(cfg).eval().save_pretrained(path)
    return path


def test_workers_do_signal_processing_only(tmp_path, synth_data):
    """With nj > 1 the neural models live in the calling process: a worker hands back the 16 kHz
    audio for the content model and the speaker encoder instead of loading them."""
    from promptevc.config import AudioConfig
    from promptevc.data import dump

    data = synth_data(tmp_path / "d", per_class=1, emotions=("neutral",), speakers={"s": 150.0})
    utt, wav = next(iter(read_scp(data / "wav.scp").items()))
    cfg = ContentConfig(type="hubert", model_id=str(tmp_path / "not_needed_by_workers"), layer=1)
    settings = dump.feats_settings(AudioConfig(), cfg, "ge2e", None, "dio")
    dump._init_dsp(settings, 1)
    try:
        assert dump._DSP["content"] is None
        arrays, wav16k = dump._dsp_one((utt, wav, tuple(COMPONENTS), {}))
    finally:
        dump._DSP.clear()
    assert set(arrays) == {"mel", "energy", "f0"} and wav16k is not None and wav16k.ndim == 1


@pytest.mark.slow  # spawning worker processes that import torch takes ~25 s on a busy 2-core machine
def test_dump_parallel_matches_serial(tmp_path, synth_data):
    data = synth_data(tmp_path / "d", per_class=1, emotions=("neutral", "angry"), speakers={"s": 150.0})
    other = tmp_path / "d2"
    shutil.copytree(data, other)
    hubert = ContentConfig(type="hubert", model_id=str(_tiny_hubert(tmp_path / "hubert")), layer=1)
    dump_features(data, content=hubert, f0_method="dio", progress=False)
    r = dump_features(other, content=hubert, f0_method="dio", nj=2, progress=False)
    n = len(read_scp(data / "wav.scp"))
    assert r.done == n and r.computed == dict.fromkeys(COMPONENTS, n)
    a, b = read_scp(data / "feats.scp"), read_scp(other / "feats.scp")
    assert list(a) == list(b)
    for utt in a:
        za, zb = load_feats(a[utt]), load_feats(b[utt])
        assert za["content"].shape[1] == 16
        for key in za:
            np.testing.assert_allclose(za[key], zb[key], atol=1e-3)


def test_fit_units_cli(dumped_data, tmp_path, capsys):
    # Work on copies: the session fixture must stay untouched.
    train, valid = tmp_path / "train", tmp_path / "valid"
    shutil.copytree(dumped_data, train)
    shutil.copytree(dumped_data, valid)
    units_dir = tmp_path / "units"
    rc = main(["fit-units", "--data", str(train), "--apply", str(valid), "--k", "12", "--out", str(units_dir)])
    assert rc == 0
    ue = UnitExtractor.load(units_dir)
    assert ue.k == 12 and ue.state_tensors()["centroids"].shape == (12, 80)
    assert yaml.safe_load((units_dir / "content.yaml").read_text())["k"] == 12
    for d in (train, valid):
        scp = read_scp(d / "units.scp")
        frames = read_scp(d / "utt2num_frames")
        assert list(scp) == list(frames)
        used = set()
        for utt, path in scp.items():
            u = np.load(path)
            assert u.dtype == np.int64 and u.shape == (int(frames[utt]),)
            used |= set(u.tolist())
        assert len(used) >= 6
    # Units from a waveform at inference equal the ones written from dumped features.
    from promptevc.audio import load_audio

    utt = "spk_a_happy_000"
    wav = load_audio(read_scp(train / "wav.scp")[utt])
    units = np.load(read_scp(train / "units.scp")[utt])
    assert np.array_equal(ue.units(wav, len(units)), units)


def test_cli_bad_inputs(tmp_path, capsys, dumped_data, synth_data):
    assert main(["dump-features", "--data", str(tmp_path / "missing"), "--content", "mel"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such directory" in err[0]
    (tmp_path / "empty").mkdir()
    assert main(["dump-features", "--data", str(tmp_path / "empty"), "--content", "mel"]) == 2
    assert "no wav.scp" in capsys.readouterr().err
    # A content model that cannot be loaded stops the dump at once with one line.
    data = synth_data(tmp_path / "d", per_class=1, emotions=("neutral",), speakers={"s": 150.0})
    assert main(["dump-features", "--data", str(data), "--content", "hubert", "--content-model",
                 str(tmp_path / "no_model"), "--f0", "dio"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and "content model" in err[0]
    assert not list((data / "feats").rglob("*.npz")) and not (data / "feats_config.yaml").exists()
    # --audio-config takes the audio section of a model config; a wrong key is one line.
    (tmp_path / "bad.yaml").write_text("audio:\n  n_mel: 40\n")
    assert main(["dump-features", "--data", str(data), "--content", "mel", "--audio-config", str(tmp_path / "bad.yaml")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and "n_mel" in err[0]
    (tmp_path / "good.yaml").write_text("audio:\n  n_mels: 40\nmodel: {}\n")
    assert main(["dump-features", "--data", str(data), "--content", "mel", "--f0", "dio", "--no-progress",
                 "--audio-config", str(tmp_path / "good.yaml")]) == 0
    z = load_feats(read_scp(data / "feats.scp")["s_neutral_000"])
    assert z["mel"].shape[0] == 40 and z["content"].shape[1] == 40
    assert read_feats_config(data)[0].n_mels == 40
    assert main(["fit-units", "--data", str(tmp_path / "empty"), "--k", "4", "--out", str(tmp_path / "u")]) == 2
    assert "no feats_config.yaml" in capsys.readouterr().err
    assert main(["fit-units", "--data", str(dumped_data), "--k", "100000", "--out", str(tmp_path / "u"),
                 "--max-frames", "100000"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and "content frames for k=100000" in err[0]
    assert not (tmp_path / "u" / "kmeans.safetensors").exists()
