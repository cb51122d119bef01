"""Data-dir validation catches unsorted, duplicate, missing and inconsistent entries with readable
messages; fix_data_dir repairs what can be repaired and says what it dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptevc.data.validate import fix_data_dir, main, validate_data_dir

UTTS = {"0011_000001": ("0011", "neutral", "0"), "0011_000351": ("0011", "angry", "0.8"),
        "0012_000001": ("0012", "neutral", "0"), "0012_000701": ("0012", "happy", "0.4")}


def write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    for utt in UTTS:
        (tmp_path / f"{utt}.wav").write_bytes(b"RIFF")
    write(d / "wav.scp", [f"{u} {tmp_path / (u + '.wav')}" for u in UTTS])
    write(d / "utt2spk", [f"{u} {s}" for u, (s, _, _) in UTTS.items()])
    write(d / "spk2utt", ["0011 0011_000001 0011_000351", "0012 0012_000001 0012_000701"])
    write(d / "text", [f"{u} some words here" for u in UTTS])
    write(d / "utt2emo", [f"{u} {e}" for u, (_, e, _) in UTTS.items()])
    write(d / "utt2intensity", [f"{u} {x}" for u, (_, _, x) in UTTS.items()])
    return d


def test_valid_dir_has_no_problems(data_dir):
    assert validate_data_dir(data_dir) == []


def one(problems: list[str], needle: str) -> str:
    hits = [p for p in problems if needle in p]
    assert hits, f"no problem mentions {needle!r}: {problems}"
    return hits[0]


def test_unsorted_and_duplicates(data_dir):
    lines = (data_dir / "text").read_text().splitlines()
    write(data_dir / "text", [lines[1], lines[0], *lines[2:], lines[3]])
    problems = validate_data_dir(data_dir)
    msg = one(problems, "text: not sorted")
    assert "'0011_000001' comes after '0011_000351'" in msg and "fix_data_dir.sh" in msg
    assert "0012_000701" in one(problems, "text: duplicate keys")


def test_missing_entries_files_and_labels(data_dir, tmp_path):
    write(data_dir / "utt2emo", ["0011_000001 neutral", "0011_000351 furious", "0012_000001 neutral"])
    write(data_dir / "utt2intensity", ["0011_000001 0.3", "0011_000351 1.5", "0012_000001 0",
                                       "0012_000701 x"])
    (tmp_path / "0012_000001.wav").unlink()
    problems = validate_data_dir(data_dir)
    assert "0012_000701" in one(problems, "utt2emo: 1 utterances of wav.scp missing")
    assert "0011_000351=furious" in one(problems, "utt2emo: labels not in neutral, angry, happy, sad, surprise")
    msg = one(problems, "utt2intensity: values must be numbers in [0, 1]")
    assert "0011_000351=1.5" in msg and "0012_000701=x" in msg
    assert "0011_000001=0.3" in one(problems, "neutral utterances must have intensity 0")
    assert "0012_000001" in one(problems, "wav.scp: 1 files do not exist")
    assert not any(p.startswith("wav.scp:") for p in validate_data_dir(data_dir, check_files=False))


def test_spk2utt_inconsistent_and_required_files(data_dir):
    write(data_dir / "spk2utt", ["0011 0011_000001", "0012 0012_000001 0012_000701", "0013 0013_000001"])
    problems = validate_data_dir(data_dir)
    assert "0011_000351" in one(problems, "spk2utt: speaker 0011 lists different utterances")
    one(problems, "spk2utt: speaker 0013 has no utterances in utt2spk")
    (data_dir / "text").unlink()
    assert "text: missing (required in a data dir)" in validate_data_dir(data_dir)
    assert validate_data_dir(data_dir.parent / "nope") == [f"{data_dir.parent / 'nope'}: not a data dir (no such folder)"]


def test_fix_data_dir(data_dir):
    # Unsorted text without one utterance, a duplicate in utt2spk, a bad label, a stale spk2utt.
    write(data_dir / "text", ["0012_000701 b", "0011_000001 a", "0012_000001 c"])
    lines = (data_dir / "utt2spk").read_text().splitlines()
    write(data_dir / "utt2spk", lines + [lines[0]])
    write(data_dir / "utt2emo", ["0011_000001 neutral", "0011_000351 angry", "0012_000001 neutral",
                                 "0012_000701 joy"])
    write(data_dir / "spk2utt", ["0011 0011_000001"])
    report = fix_data_dir(data_dir)
    assert any("utt2spk: dropped 1 lines" in r and "duplicate" in r for r in report)
    assert any("utt2emo: dropped 1 lines" in r and "'joy'" in r for r in report)
    assert any("wav.scp: dropped 2 utterances missing from" in r for r in report)
    assert validate_data_dir(data_dir) == []
    assert (data_dir / "text").read_text() == "0011_000001 a\n0012_000001 c\n"
    assert (data_dir / "spk2utt").read_text() == "0011 0011_000001\n0012 0012_000001\n"
    assert (data_dir / ".backup" / "text").read_text().startswith("0012_000701 b")


def test_command_line(data_dir, capsys):
    assert main([str(data_dir)]) == 0
    assert "valid data dir (4 utterances)" in capsys.readouterr().out
    write(data_dir / "utt2emo", ["0011_000001 neutral"])
    assert main([str(data_dir)]) == 1
    assert "utt2emo: 3 utterances of wav.scp missing" in capsys.readouterr().err
    assert main([str(data_dir), "--fix"]) == 0
