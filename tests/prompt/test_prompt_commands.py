"""``promptevc describe`` and ``promptevc make-prompts`` through cli.main."""

from __future__ import annotations

import json

import pytest

from promptevc.cli import main
from promptevc.data.kaldi import read_scp, write_scp


def test_describe_json(parser, capsys):
    assert main(["describe", "slightly sad, a bit faster", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"emotion", "probs", "label", "extended", "intensity", "hints"}
    assert set(out["hints"]) == {"tempo", "pitch", "volume", "effort"}
    assert out["emotion"] == "sad" and out["intensity"] < 0.5
    assert out["hints"]["tempo"] > 0
    assert abs(sum(out["probs"].values()) - 1) < 1e-3


def test_describe_human_summary_and_warning(parser, capsys):
    assert main(["describe", "happy with a hint of surprise"]) == 0
    out = capsys.readouterr().out
    assert "happy, intensity 0.60" in out and "surprise" in out
    assert main(["describe", "read this sentence"]) == 0
    out = capsys.readouterr().out
    assert "neutral" in out and "warning: no emotion found" in out


def test_describe_overrides(parser, capsys):
    assert main(["describe", "furious", "--emotion", "sad", "--intensity", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["emotion"] == "sad" and out["intensity"] == 0.2


def test_describe_empty_prompt_is_a_one_line_error(parser, capsys):
    assert main(["describe", "  "]) == 2
    err = capsys.readouterr().err
    assert "prompt is empty" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def _data_dir(tmp_path, with_intensity: bool = True):
    data = tmp_path / "data"
    emotions = {f"spk_{i:03d}": e for i, e in enumerate(["neutral", "angry", "happy", "sad", "surprise"] * 4)}
    write_scp(data / "utt2emo", {u: e.capitalize() if i % 2 else e for i, (u, e) in enumerate(emotions.items())})
    if with_intensity:
        intensities = {u: (0.0 if e == "neutral" else round((i % 10) / 9, 3)) for i, (u, e) in enumerate(emotions.items())}
        intensities.pop("spk_001")  # a missing value -> medium
        write_scp(data / "utt2intensity", intensities)
    return data, emotions


def test_make_prompts_writes_sorted_utt2prompt(parser, tmp_path, capsys):
    data, emotions = _data_dir(tmp_path)
    assert main(["make-prompts", "--data", str(data), "--seed", "3"]) == 0
    assert "wrote 20 prompts" in capsys.readouterr().out
    text = (data / "utt2prompt").read_text().splitlines()
    assert [line.split()[0] for line in text] == sorted(emotions)
    prompts = read_scp(data / "utt2prompt")
    agree = sum(parser.parse(prompts[u]).emotion == e for u, e in emotions.items())
    assert agree >= 17
    # Same seed, same file; another seed, other prompts; held-out split to another file.
    first = (data / "utt2prompt").read_text()
    assert main(["make-prompts", "--data", str(data), "--seed", "3"]) == 0
    assert (data / "utt2prompt").read_text() == first
    out = tmp_path / "heldout_prompts"
    assert main(["make-prompts", "--data", str(data), "--seed", "4", "--split", "heldout", "--out", str(out)]) == 0
    assert set(read_scp(out)) == set(emotions) and out.read_text() != first


def test_make_prompts_buckets_follow_intensity(parser, tmp_path):
    data = tmp_path / "data"
    utts = {f"u{i:03d}": "sad" for i in range(60)}
    write_scp(data / "utt2emo", utts)
    write_scp(data / "utt2intensity", {u: f"{i / 59:.3f}" for i, u in enumerate(sorted(utts))})
    assert main(["make-prompts", "--data", str(data)]) == 0
    prompts = read_scp(data / "utt2prompt")
    ordered = sorted(utts)
    low = [parser.parse(prompts[u]).intensity for u in ordered[:15]]
    high = [parser.parse(prompts[u]).intensity for u in ordered[-15:]]
    assert sum(low) / 15 < sum(high) / 15 - 0.2


def test_make_prompts_without_intensity_uses_medium(parser, tmp_path, capsys):
    data, _ = _data_dir(tmp_path, with_intensity=False)
    assert main(["make-prompts", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "angry/medium 4" in out and "neutral 4" in out


@pytest.mark.parametrize(
    "setup, message",
    [("nodir", "not a directory"), ("noemo", "utt2emo: missing"), ("badlabel", "unknown emotion"),
     ("badintensity", "not a number"), ("range", "outside [0, 1]")],
)
def test_make_prompts_bad_input(tmp_path, capsys, setup, message):
    data = tmp_path / "data"
    if setup != "nodir":
        data.mkdir()
    if setup in ("badlabel", "badintensity", "range"):
        write_scp(data / "utt2emo", {"u1": "bored" if setup == "badlabel" else "sad"})
    if setup == "badintensity":
        write_scp(data / "utt2intensity", {"u1": "high"})
    if setup == "range":
        write_scp(data / "utt2intensity", {"u1": "1.5"})
    assert main(["make-prompts", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (data / "utt2prompt").exists()


def test_describe_shows_what_each_engine_does(parser, capsys):
    assert main(["describe", "nervous"]) == 0
    out = capsys.readouterr().out
    assert "parsed as: fear" in out and "prosody engine (fear, literature profile): F0 +" in out
    assert "neural engine (ESD's five): surprise 0.60, sad 0.40" in out and "nearest, surprise" in out
    assert main(["describe", "very sad", "--profile", "esd"]) == 0
    assert "esd profile): F0 +" in capsys.readouterr().out  # ESD's sad raises F0
    assert main(["describe", "very sad"]) == 0
    assert "literature profile): F0 -" in capsys.readouterr().out


def test_convert_profile_option(parser, tmp_path, capsys):
    import numpy as np
    import pyworld
    import soundfile as sf

    from promptevc.utils.synth import synth_speech

    def f0_level_st(wav):
        f0, _ = pyworld.dio(np.ascontiguousarray(wav, dtype=np.float64), 16000, f0_floor=60, f0_ceil=700)
        return float(np.median(12 * np.log2(f0[f0 > 0])))

    src = tmp_path / "in.wav"
    sf.write(src, synth_speech(140.0, 1.5, 16000, seed=2), 16000)
    levels = {}
    for profile in ("literature", "esd"):
        out = tmp_path / f"{profile}.wav"
        assert main(["convert", str(src), "-o", str(out), "--emotion", "sad", "--intensity", "1",
                     "--profile", profile]) == 0
        wav, _ = sf.read(out, dtype="float32")
        levels[profile] = f0_level_st(wav)
    assert levels["esd"] - levels["literature"] > 1.5  # +0.86 st vs -1.5 st at intensity 1
    code = main(["convert", str(src), "-o", str(tmp_path / "x.wav"), "--emotion", "sad", "--engine", "neural",
                 "--model", str(tmp_path), "--profile", "esd"])
    assert code == 2 and not (tmp_path / "x.wav").exists()
    assert "Traceback" not in capsys.readouterr().err
