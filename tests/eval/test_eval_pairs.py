"""Reading what to evaluate: CSV, Kaldi-style folder, two folders; one-line errors."""

from __future__ import annotations

import math

import pytest

from promptevc.errors import ConfigError
from promptevc.eval.pairs import pairs_from_dirs, read_pairs, read_transcripts


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_csv_relative_paths_and_defaults(tmp_path):
    (tmp_path / "p.csv").write_text(
        "converted,source,reference,emotion,intensity\n"
        "conv/a.wav,src/a.wav,ref/a.wav,Happy,0.5\n"
        "conv/b.flac,src/b.wav,,,\n",
        encoding="utf-8",
    )
    a, b = read_pairs(tmp_path / "p.csv")
    assert a.utt == "a" and a.converted == tmp_path / "conv/a.wav" and a.reference == tmp_path / "ref/a.wav"
    assert a.emotion == "happy" and a.intensity == 0.5
    assert b.utt == "b" and b.reference is None and b.emotion == "" and math.isnan(b.intensity)


@pytest.mark.parametrize(
    "text, match",
    [
        ("converted,emotion\nx.wav,sad\n", "lacks source"),
        ("converted,source,mood\nx.wav,y.wav,sad\n", "unknown CSV column"),
        ("converted,source,emotion\nx.wav,y.wav,furious\n", "unknown emotion 'furious'"),
        ("converted,source,intensity\nx.wav,y.wav,lots\n", "not a number"),
        ("converted,source\nx.wav,y.wav\nx.wav,z.wav\n", "appears twice"),
        ("converted,source\n", "no pairs"),
        ("converted,source\n,y.wav\n", "must both be given"),
    ],
)
def test_csv_errors(tmp_path, text, match):
    (tmp_path / "p.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        read_pairs(tmp_path / "p.csv")


def test_scp_folder(tmp_path):
    d = tmp_path / "pairs"
    d.mkdir()
    (d / "conv.scp").write_text("u1 /c/u1.wav\nu2 /c/u2.wav\n")
    (d / "src.scp").write_text("u1 /s/u1.wav\nu2 /s/u2.wav\n")
    (d / "ref.scp").write_text("u1 /r/u1.wav\n")
    (d / "utt2emo").write_text("u1 angry\nu2 sad\n")
    (d / "utt2intensity").write_text("u1 0.8\n")
    (d / "text").write_text("u1 hello there\n")
    u1, u2 = read_pairs(d)
    assert (u1.utt, str(u1.converted), str(u1.reference), u1.emotion, u1.intensity, u1.text) == (
        "u1", "/c/u1.wav", "/r/u1.wav", "angry", 0.8, "hello there")
    assert u2.reference is None and u2.emotion == "sad" and math.isnan(u2.intensity)
    (d / "src.scp").write_text("u1 /s/u1.wav\n")
    with pytest.raises(ConfigError, match="no source for 1"):
        read_pairs(d)
    (d / "src.scp").unlink()
    with pytest.raises(ConfigError, match="no src.scp"):
        read_pairs(d)


def test_dirs_match_by_name(tmp_path):
    for name in ("a.wav", "sub/b.wav", "c.wav"):
        _touch(tmp_path / "conv" / name)
    for name in ("a.wav", "sub/b.wav", "c.flac"):  # c matched by name without extension
        _touch(tmp_path / "src" / name)
    _touch(tmp_path / "ref" / "a.wav")
    pairs = pairs_from_dirs(tmp_path / "conv", tmp_path / "src", tmp_path / "ref", emotion="sad", intensity=0.3)
    by = {p.utt: p for p in pairs}
    assert set(by) == {"a", "b", "c"}
    assert by["b"].source == tmp_path / "src/sub/b.wav"
    assert by["c"].source == tmp_path / "src/c.flac"
    assert by["a"].reference == tmp_path / "ref/a.wav" and by["b"].reference is None
    assert all(p.emotion == "sad" and p.intensity == 0.3 for p in pairs)
    _touch(tmp_path / "conv" / "d.wav")
    with pytest.raises(ConfigError, match="no source file named like 1 converted file"):
        pairs_from_dirs(tmp_path / "conv", tmp_path / "src")


def test_missing_inputs(tmp_path):
    with pytest.raises(ConfigError, match="no such pairs file"):
        read_pairs(tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match="no such transcripts file"):
        read_transcripts(tmp_path / "text")
    (tmp_path / "empty").mkdir()
    (tmp_path / "src").mkdir()
    with pytest.raises(ConfigError, match="no audio files"):
        pairs_from_dirs(tmp_path / "empty", tmp_path / "src")
