"""``promptevc convert`` through cli.main: good paths, batches, and every documented bad input."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pytest
import soundfile as sf

from promptevc.cli import main
from promptevc.utils.synth import synth_speech

SR = 16000


@pytest.fixture(autouse=True)
def _log_to_this_tests_stderr():
    """cli.setup_logging binds its handler to the sys.stderr of the first call; under capsys
    that stream is closed by the next test, so give each test a fresh handler."""
    logger = logging.getLogger("promptevc")
    saved = logger.handlers[:]
    logger.handlers.clear()
    yield
    logger.handlers[:] = saved


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(path, wav, sr=SR, subtype="PCM_16"):
    sf.write(path, wav, sr, subtype=subtype)
    return path


@pytest.fixture
def good(tmp_path):
    return _write(tmp_path / "good.wav", synth_speech(150.0, 1.0, SR))


def _run_bad(capsys, argv, inputs, message, outputs):
    """Run argv; expect a one-line error naming ``message``, exit != 0, no outputs, inputs intact."""
    before = {p: _digest(p) for p in inputs if p.exists() and p.is_file()}
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err, err
    assert "Traceback" not in err
    for out in outputs:
        assert not out.exists(), out
    for p, digest in before.items():
        assert _digest(p) == digest
    return err


def test_single_file_with_emotion(tmp_path, good, capsys):
    out = tmp_path / "out.wav"
    assert main(["convert", str(good), "-o", str(out), "--emotion", "sad", "--intensity", "0.8"]) == 0
    data, sr = sf.read(out)
    assert sr == SR and len(data) > SR  # sad is slower than the 1 s input
    assert "sad, intensity 0.80" in capsys.readouterr().err


def test_prompt_is_parsed_and_logged(tmp_path, good, capsys, monkeypatch):
    import promptevc.prompt.parser as parser_mod
    from promptevc.prompt.control import EmotionControl

    class _P:
        def parse(self, prompt):
            return EmotionControl.from_label("happy", 0.9, prompt=prompt)

    monkeypatch.setattr(parser_mod, "get_parser", lambda *a, **k: _P())
    out = tmp_path / "out.flac"
    assert main(["convert", str(good), "-o", str(out), "--prompt", "over the moon"]) == 0
    assert sf.info(out).format == "FLAC"
    assert "happy, intensity 0.90" in capsys.readouterr().err


def test_folder_and_scp_batches(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    _write(src / "a.wav", synth_speech(140.0, 0.8, SR))
    _write(src / "sub" / "b.flac", synth_speech(200.0, 0.8, 22050), sr=22050)
    (src / "notes.txt").write_text("not audio")
    out_dir = tmp_path / "out"
    assert main(["convert", str(src), "--out-dir", str(out_dir), "--emotion", "angry"]) == 0
    assert sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.wav")) == ["a.wav", "sub/b.wav"]
    assert "converted 2, skipped 0 (exists), failed 0" in capsys.readouterr().out
    # Re-running keeps existing outputs.
    assert main(["convert", str(src), "--out-dir", str(out_dir), "--emotion", "angry"]) == 0
    assert "converted 0, skipped 2 (exists), failed 0" in capsys.readouterr().out
    # Kaldi wav.scp: outputs named after the utterance ids.
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt2 {src / 'sub' / 'b.flac'}\nutt1 {src / 'a.wav'}\n")
    scp_out = tmp_path / "scp_out"
    assert main(["convert", str(scp), "--out-dir", str(scp_out), "--emotion", "happy", "--intensity", "0.3"]) == 0
    assert sorted(p.name for p in scp_out.iterdir()) == ["utt1.wav", "utt2.wav"]


def test_directory_with_mixed_good_and_bad_files(tmp_path, capsys):
    src = tmp_path / "mixed"
    src.mkdir()
    _write(src / "ok1.wav", synth_speech(150.0, 0.8, SR))
    _write(src / "ok2.wav", synth_speech(180.0, 0.8, SR))
    _write(src / "silent.wav", np.zeros(SR, dtype=np.float32))
    (src / "broken.wav").write_bytes(b"RIFF....garbage")
    out_dir = tmp_path / "out"
    code = main(["convert", str(src), "--out-dir", str(out_dir), "--emotion", "sad"])
    captured = capsys.readouterr()
    assert code == 1
    assert "converted 2, skipped 0 (exists), failed 2" in captured.out
    assert "silent.wav: the recording is silent" in captured.out
    assert "broken.wav: cannot read audio" in captured.out
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in out_dir.iterdir()) == ["ok1.wav", "ok2.wav"]


@pytest.mark.parametrize(
    "case, message",
    [
        ("empty", "cannot read audio"),
        ("silent", "the recording is silent"),
        ("short", "need at least 0.3 s"),
        ("nan", "NaN or infinite"),
        ("unreadable", "cannot read audio"),
        ("long", "exceeds the limit of 1 s"),
        ("missing", "no such file"),
    ],
)
def test_bad_inputs(tmp_path, capsys, case, message):
    path = tmp_path / f"{case}.wav"
    extra = []
    if case == "empty":
        path.write_bytes(b"")
    elif case == "silent":
        _write(path, np.zeros(SR, dtype=np.float32))
    elif case == "short":
        _write(path, synth_speech(150.0, 0.1, SR))
    elif case == "nan":
        wav = synth_speech(150.0, 1.0, SR)
        wav[100:200] = np.nan
        _write(path, wav, subtype="FLOAT")
    elif case == "unreadable":
        path.write_text("this is not audio\n" * 20)
    elif case == "long":
        _write(path, synth_speech(150.0, 2.0, SR))
        extra = ["--max-seconds", "1"]
    out = tmp_path / "out.wav"
    err = _run_bad(capsys, ["convert", str(path), "-o", str(out), "--emotion", "sad", *extra], [path], message, [out])
    assert str(path) in err
    assert len(err.strip().splitlines()) <= 2  # a log line at most, then the one-line error


def test_output_equal_to_input(tmp_path, good, capsys):
    _run_bad(capsys, ["convert", str(good), "-o", str(good), "--emotion", "sad", "--overwrite"],
             [good], "would overwrite the input", [])
    assert sf.info(good).frames == SR


def test_existing_output_needs_overwrite(tmp_path, good, capsys):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    _run_bad(capsys, ["convert", str(good), "-o", str(out), "--emotion", "sad"], [good], "pass --overwrite", [])
    assert out.read_bytes() == b"keep me"
    assert main(["convert", str(good), "-o", str(out), "--emotion", "sad", "--overwrite"]) == 0
    assert sf.info(out).frames > SR


def test_usage_errors(tmp_path, good, capsys):
    other = _write(tmp_path / "other.wav", synth_speech(150.0, 1.0, SR))
    out = tmp_path / "o.wav"
    _run_bad(capsys, ["convert", str(good), str(other), "-o", str(out), "--emotion", "sad"],
             [good, other], "use --out-dir", [out])
    _run_bad(capsys, ["convert", str(good), "--emotion", "sad"], [good], "use -o OUT", [])
    _run_bad(capsys, ["convert", str(good), "-o", str(out)], [good], "give a prompt", [out])
    _run_bad(capsys, ["convert", str(good), "-o", str(out), "--emotion", "sarcastic"], [good], "unknown emotion", [out])
    _run_bad(capsys, ["convert", str(good), "-o", str(out), "--emotion", "sad", "--intensity", "2"],
             [good], "outside [0, 1]", [out])
    _run_bad(capsys, ["convert", str(good), "-o", str(out), "--emotion", "sad", "--model", "x"],
             [good], "needs --engine neural", [out])
    _run_bad(capsys, ["convert", str(good), "-o", str(out), "--engine", "neural", "--emotion", "sad"],
             [good], "needs --model", [out])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    _run_bad(capsys, ["convert", str(empty_dir), "--out-dir", str(tmp_path / "x"), "--emotion", "sad"],
             [], "no audio files", [tmp_path / "x"])


def test_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["convert", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--prompt", "--out-dir", "--emotion", "--intensity", "--engine", "--model", "--vocoder",
                "--ref", "--device", "--overwrite", "--seed", "--max-seconds"):
        assert opt in text
