"""The espeak-ng mini corpus: ESD layout and quirks, prepared by the ESD prep, emotions distinct by
prosody in ESD's directions (happy higher F0, sad slower, angry louder than neutral)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from promptevc.data.corpora import mini
from promptevc.data.corpora.esd import decode_transcript, prepare_esd
from promptevc.data.kaldi import read_scp
from promptevc.errors import OutputExistsError, PromptEVCError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed (apt-get install espeak-ng)")


def test_missing_espeak_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(mini.shutil, "which", lambda name: None)
    with pytest.raises(PromptEVCError, match="apt-get install espeak-ng"):
        mini.make_mini_corpus(tmp_path / "c")


def test_positions_follow_esd_split():
    assert mini.positions(2, 4, 3) == [1, 2, 21, 22, 23, 24, 51, 52, 53]
    with pytest.raises(PromptEVCError):
        mini.positions(0, 1, 1)


@needs_espeak
def test_synthesise_prepare_and_prosody(tmp_path):
    import soundfile as sf

    from promptevc.config import AudioConfig
    from promptevc.features.prosody import extract_energy, extract_f0

    root = tmp_path / "corpus"
    info = mini.make_mini_corpus(root, speakers=["0011", "0012"], n_dev=1, n_test=1, n_train=1, nj=2)
    assert info == {"utterances": 2 * 5 * 3, "speakers": 2}
    assert mini.is_complete(root)
    # ESD layout: flat folders for 0011, split subfolders for 0012; a UTF-16 transcript with BOM.
    assert (root / "0011/Happy/0011_000701.wav").is_file()
    assert (root / "0012/Surprise/test/0012_001421.wav").is_file()
    raw = (root / "0012/0012.txt").read_bytes()
    assert raw.startswith(b"\xff\xfe") and "0012_001401\t" in decode_transcript(raw)[0]
    with pytest.raises(OutputExistsError):
        mini.make_mini_corpus(root, speakers=["0011"], n_dev=1, n_test=1, n_train=1)

    report = prepare_esd(root, tmp_path / "data", speakers=["0011", "0012"])
    for split in ("train", "dev", "test"):
        assert report.count(split) == 10 and report.count(split, emotion="sad") == 2

    wav_scp = {**read_scp(tmp_path / "data/train/wav.scp"), **read_scp(tmp_path / "data/dev/wav.scp"),
               **read_scp(tmp_path / "data/test/wav.scp")}
    audio = AudioConfig()

    def measure(utt: str) -> tuple[float, float, float]:
        wav, sr = sf.read(wav_scp[utt], dtype="float32")
        assert sr == 16000
        f0, voiced = extract_f0(wav, audio, method="dio")
        energy = extract_energy(wav, audio)
        loud = energy > energy.max() - 30  # speech frames, not the padding
        return float(np.median(np.log2(f0[voiced]))) * 12, len(wav) / sr, float(np.mean(energy[loud]))

    # Sentence 51 (train) of speaker 0011 in each emotion, against its neutral reading.
    neu_st, neu_s, neu_db = measure("0011_000051")
    hap_st, _, _ = measure("0011_000751")
    sad_st, sad_s, _ = measure("0011_001101")
    _, _, ang_db = measure("0011_000401")
    assert hap_st - neu_st > 2.0  # happy: several semitones higher
    assert sad_s / neu_s > 1.05  # sad: slower
    assert ang_db - neu_db > 1.5  # angry: louder
    assert sad_st < hap_st


@needs_espeak
def test_make_mini_corpus_cli(tmp_path, capsys):
    from promptevc.cli import main

    assert main(["make-mini-corpus", "--out", str(tmp_path / "c"), "--speakers", "0015",
                 "--n-dev", "1", "--n-test", "1", "--n-train", "1"]) == 0
    assert "15 utterances from 1 speakers" in capsys.readouterr().out
    assert main(["prepare-data", "--corpus", "mini", "--root", str(tmp_path / "c"), "--out",
                 str(tmp_path / "d")]) == 0
    assert len(read_scp(tmp_path / "d/test/wav.scp")) == 5
    assert main(["prepare-data", "--corpus", "mini", "--root", str(tmp_path / "none"), "--out",
                 str(tmp_path / "e")]) == 2
    assert "--make-corpus" in capsys.readouterr().err
