"""ESD data prep on a fake corpus tree with the real quirks (papers.md §3.3): flat and split
folder layouts, transcripts in UTF-8, UTF-16 LE with BOM, Latin-1 and GB2312, space separators."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from promptevc.cli import main as cli_main
from promptevc.data.corpora import esd
from promptevc.data.kaldi import read_scp
from promptevc.errors import PromptEVCError

FOLDERS = {"neutral": "Neutral", "angry": "Angry", "happy": "Happy", "sad": "Sad", "surprise": "Surprise"}
POSITIONS = [1, 2, 21, 22, 23, 51, 52, 53, 350]  # 2 dev, 3 test, 4 train per speaker x emotion


def _utts(spk: str):
    for block, emotion in enumerate(esd.BLOCK_EMOTIONS):
        for k in POSITIONS:
            yield f"{spk}_{block * 350 + k:06d}", emotion, k


def make_fake_esd(root: Path) -> None:
    """Speakers with every layout and transcript quirk seen in real copies."""
    quirks = {
        "0011": ("flat", "utf-8", "\t"),
        "0012": ("split-lower", "utf-16-bom", "\t"),
        "0013": ("split-paper", "latin-1", " "),
        "0014": ("flat", "utf-16-nobom", " "),
        "0001": ("flat", "gb2312", "\t"),  # Mandarin
    }
    for spk, (layout, encoding, sep) in quirks.items():
        spk_dir = root / "Emotion Speech Dataset" / spk
        lines = []
        for utt, emotion, k in _utts(spk):
            folder = spk_dir / FOLDERS[emotion]
            split = esd.split_for_position(k)
            if layout == "split-lower":
                folder = folder / {"dev": "evaluation", "test": "test", "train": "train"}[split]
            elif layout == "split-paper":
                folder = folder / {"dev": "Evaluation Set", "test": "Test Set", "train": "Training Set"}[split]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{utt}.wav").write_bytes(b"RIFF")
            text = "我们明天见。" if spk == "0001" else f"Sentence {k} at the café, I keep."
            label = "惊喜" if (spk == "0001" and emotion == "surprise") else FOLDERS[emotion]
            lines.append(f"{utt}{sep}{text}{sep}{label}")
        raw = "\r\n".join(lines) + "\r\n"
        if encoding == "utf-16-bom":
            data = b"\xff\xfe" + raw.encode("utf-16-le")
        elif encoding == "utf-16-nobom":
            data = raw.encode("utf-16-le")
        else:
            data = raw.encode(encoding)
        (spk_dir / f"{spk}.txt").write_bytes(data)


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("esd")
    make_fake_esd(root)
    return root


def test_utt_index_split_and_parallel_ids():
    info = esd.parse_utt_id("0011_000351")
    assert (info.speaker, info.emotion, info.position, info.split) == ("0011", "angry", 1, "dev")
    assert esd.parse_utt_id("0019_000750").split == "test"  # position 50 of the angry block
    assert esd.parse_utt_id("0019_001451").split == "train"  # surprise, position 51
    assert esd.parse_utt_id("0020_001750").emotion == "surprise"
    assert esd.parallel_utt("0011_000021", "happy") == "0011_000721"
    assert esd.parallel_utt("0011_000721", "neutral") == "0011_000021"
    for bad in ("0011-000001", "0011_001751", "0011_000000", "x"):
        with pytest.raises(ValueError):
            esd.parse_utt_id(bad)


def test_transcript_line_quirks():
    assert esd.parse_transcript_line("0011_000351\tThe nine the eggs, I keep.\tAngry") == (
        "0011_000351", "The nine the eggs, I keep.", "angry")
    assert esd.parse_transcript_line("0011_000351 The nine the eggs, I keep. Angry") == (
        "0011_000351", "The nine the eggs, I keep.", "angry")
    assert esd.parse_transcript_line("0011_001401  Is it   true?\tSurprise\r") == (
        "0011_001401", "Is it true?", "surprise")
    assert esd.parse_transcript_line("\ufeff0001_000001\t我们明天见。\t中立")[2] == "neutral"
    assert esd.parse_transcript_line("") is None
    assert esd.parse_transcript_line("header line") is None


def test_decode_transcript_encodings():
    text = "0011_000001\tAt the café.\tNeutral\n"
    assert esd.decode_transcript(b"\xff\xfe" + text.encode("utf-16-le")) == (text, "utf-16-le")
    assert esd.decode_transcript(text.encode("utf-16-le"))[0] == text  # no BOM
    assert esd.decode_transcript(text.encode("latin-1")) == (text, "latin-1")
    assert esd.decode_transcript(text.encode("utf-8")) == (text, "utf-8")
    zh = "0001_000001\t我们明天见。\t中立\n"
    assert esd.decode_transcript(zh.encode("gb2312"), prefer_gb=True) == (zh, "gb18030")


def test_prepare_english_counts_and_quirks(fake_root, tmp_path):
    report = esd.prepare_esd(fake_root, tmp_path / "data")
    speakers = ["0011", "0012", "0013", "0014"]
    # Per speaker x emotion: positions 1-2 dev, 21-23 test, 51-53 and 350 train.
    for spk in speakers:
        for emotion in esd.BLOCK_EMOTIONS:
            assert report.count("dev", spk, emotion) == 2
            assert report.count("test", spk, emotion) == 3
            assert report.count("train", spk, emotion) == 4
    assert report.count(speaker="0001") == 0  # Mandarin is not prepared by default
    assert any("0015" in w for w in report.warnings)  # missing English speakers are reported

    for split, n in (("train", 4), ("dev", 2), ("test", 3)):
        d = tmp_path / "data" / split
        emo = read_scp(d / "utt2emo")
        spk = read_scp(d / "utt2spk")
        assert Counter(emo.values()) == {e: n * len(speakers) for e in esd.BLOCK_EMOTIONS}
        assert Counter(spk.values()) == {s: n * 5 for s in speakers}
        for name in ("wav.scp", "utt2spk", "spk2utt", "text", "utt2emo"):
            keys = [line.split()[0] for line in (d / name).read_text().splitlines()]
            assert keys == sorted(keys), name
        wav = read_scp(d / "wav.scp")
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in wav.values())
    text = read_scp(tmp_path / "data/test/text")
    # UTF-16 (with and without BOM), Latin-1 and space-separated lines all decode to the same text.
    for spk in speakers:
        assert text[f"{spk}_000021"] == "Sentence 21 at the café, I keep."
    assert read_scp(tmp_path / "data/test/utt2emo")["0012_001421"] == "surprise"


def test_prepare_mandarin_and_explicit_speakers(fake_root, tmp_path):
    report = esd.prepare_esd(fake_root, tmp_path / "zh", language="mandarin")
    assert report.count() == 5 * len(POSITIONS) and report.count(speaker="0001") == report.count()
    assert read_scp(tmp_path / "zh/dev/text")["0001_000001"] == "我们明天见。"
    report = esd.prepare_esd(fake_root, tmp_path / "sel", speakers=["12", "0014"])
    assert {spk for (_, spk, _) in report.counts} == {"0012", "0014"}


def test_index_beats_folder_and_duplicates_are_skipped(fake_root, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(fake_root / "Emotion Speech Dataset" / "0011", root / "0011")
    # A file filed under the wrong emotion folder, and a second copy of an utterance.
    (root / "0011/Neutral/0011_000351.wav").write_bytes(b"RIFF")
    (root / "0011/Angry/0011_000351.wav").unlink()
    (root / "0011/Backup").mkdir()
    (root / "0011/Backup/0011_000001.wav").write_bytes(b"RIFF")
    report = esd.prepare_esd(root, tmp_path / "data", speakers=["0011"])
    assert read_scp(tmp_path / "data/dev/utt2emo")["0011_000351"] == "angry"
    assert any("index says angry" in w for w in report.warnings)
    assert any("duplicate" in w for w in report.warnings)
    assert report.count() == 5 * len(POSITIONS)


def test_prepare_data_cli(fake_root, tmp_path, capsys):
    assert cli_main(["prepare-data", "--corpus", "esd", "--root", str(fake_root), "--out", str(tmp_path / "d"),
                     "--speakers", "0011", "0013"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "neutral" in out
    assert len(read_scp(tmp_path / "d/train/wav.scp")) == 2 * 5 * 4
    assert cli_main(["prepare-data", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    # A missing folder is a path problem: the message names the resolved path, not the licence.
    assert f"{tmp_path / 'nowhere'} does not exist" in err and "HLTSingapore" not in err and "Traceback" not in err
    with pytest.raises(PromptEVCError, match="none of the speakers.*licence-gated"):
        esd.prepare_esd(fake_root, tmp_path / "f", speakers=["0019"])
