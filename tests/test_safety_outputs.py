"""Batch outputs that cannot destroy data: every output checked before the first job runs.

Each test is a case of issue 13 that failed on the code before it (reproductions from the issue).
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import time

import numpy as np
import pytest
import soundfile as sf
from safety_support import digest, fresh_logging, write_speech  # noqa: F401

from promptevc.batch import Job, collect_jobs, plan_jobs, read_scp_jobs
from promptevc.cli import main
from promptevc.errors import ConfigError, OutputError, OutputExistsError
from promptevc.outputs import _HOST, OutputFile, check_output_target, clean_stale_temps, write_audio


@pytest.fixture
def wavs(tmp_path):
    folder = tmp_path / "wavs"
    folder.mkdir()
    write_speech(folder / "a.wav", 0.8)
    write_speech(folder / "y.wav", 0.8, f0=200.0)
    return folder


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_scp_output_cannot_replace_another_jobs_input(tmp_path, wavs, capsys):
    """The issue's reproduction: job y's output wavs/y.wav is job z's input."""
    scp = tmp_path / "wav.scp"
    scp.write_text(f"y {wavs / 'a.wav'}\nz {wavs / 'y.wav'}\n")
    before = {p.name: digest(p) for p in wavs.iterdir()}
    code = main(["convert", str(scp), "--prompt", "sad", "--emotion", "sad", "--out-dir", str(wavs), "--overwrite"])
    err = _err(capsys)
    assert code == 2 and "would overwrite the input" in err and "wav.scp:1" in err
    assert {p.name: digest(p) for p in wavs.iterdir()} == before  # nothing converted, nothing lost


@pytest.mark.parametrize("utt, reason", [
    ("../../x", "path separator"), ("/abs/x", "path separator"), ("sub/x", "path separator"),
    ("..", "relative folder"), ("a\x00b", "NUL"), (".hidden", "starts with '.'"),
])
def test_utterance_ids_cannot_leave_out_dir(tmp_path, wavs, capsys, utt, reason):
    scp = tmp_path / "wav.scp"
    scp.write_bytes(f"ok {wavs / 'a.wav'}\n{utt} {wavs / 'y.wav'}\n".encode())
    victim = tmp_path / "x.wav"
    victim.write_bytes(b"unrelated file")
    out = tmp_path / "out" / "deeper"
    code = main(["convert", str(scp), "--emotion", "sad", "--out-dir", str(out), "--overwrite"])
    err = _err(capsys)
    assert code == 2 and f"{scp}:2" in err and reason in err
    assert victim.read_bytes() == b"unrelated file" and not out.exists()


def test_symlink_out_of_out_dir_refused(tmp_path, wavs):
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (out / "a.wav").symlink_to(outside / "a.wav")
    with pytest.raises(OutputError, match="outside --out-dir"):
        plan_jobs([Job(str(wavs / "a.wav"), out / "a.wav")], out_dir=out, overwrite=True)


def test_duplicate_ids_and_shared_outputs_are_errors(tmp_path, wavs):
    scp = tmp_path / "wav.scp"
    scp.write_text(f"u1 {wavs / 'a.wav'}\nu2 {wavs / 'y.wav'}\nu1 {wavs / 'y.wav'}\n")
    with pytest.raises(ConfigError, match=r"wav.scp:3: utterance id 'u1' also on line 1"):
        read_scp_jobs(scp, tmp_path / "out")
    write_speech(wavs / "a.flac", 0.8)  # a.wav and a.flac would both become out/a.wav
    with pytest.raises(OutputError, match="would both be written to"):
        plan_jobs(collect_jobs([str(wavs)], out_dir=str(tmp_path / "out")), out_dir=tmp_path / "out")


def test_bom_is_not_part_of_the_first_output_name(tmp_path, wavs):
    scp = tmp_path / "wav.scp"
    scp.write_bytes(b"\xef\xbb\xbfutt1 " + str(wavs / "a.wav").encode() + b"\r\nutt2 " + str(wavs / "y.wav").encode())
    assert [j.output.name for j in read_scp_jobs(scp, tmp_path)] == ["utt1.wav", "utt2.wav"]
    scp.write_bytes(b"u1 \xff\xfe\n")
    with pytest.raises(ConfigError, match="wav.scp:1: not valid UTF-8"):
        read_scp_jobs(scp, tmp_path)


def test_out_dir_inside_the_input_folder_is_not_rescanned(tmp_path, wavs, capsys):
    out = wavs / "converted"
    argv = ["convert", str(wavs), "--emotion", "happy", "--out-dir", str(out)]
    assert main(argv) == 0
    assert "converted 2, skipped 0 (exists), failed 0" in capsys.readouterr().out
    assert main(argv) == 0
    assert "converted 0, skipped 2 (exists), failed 0" in capsys.readouterr().out
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav")) == ["a.wav", "y.wav"]
    assert main(["convert", str(wavs), "--emotion", "happy", "--out-dir", str(wavs)]) == 2
    assert "is the input folder" in _err(capsys)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_overwrite_never_replaces_a_fifo_or_device(tmp_path, wavs, capsys, kind):
    target = tmp_path / "out.wav"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/null")  # out.wav -> a device
    code = main(["convert", str(wavs / "a.wav"), "-o", str(target), "--emotion", "sad", "--overwrite"])
    assert code == 2 and "not a regular file" in _err(capsys)
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    else:
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def _racer(path: str, rounds: int, barrier, wins, value: float) -> None:
    from promptevc.outputs import OutputExistsError as Exists

    x = np.full((800, 1), value, np.float32)
    for r in range(rounds):
        target = f"{path}{r}.wav"
        barrier.wait()
        try:
            check_output_target(target)  # both see "no such file" ...
            with OutputFile(target, sample_rate=16000, channels=1, format="WAV", subtype="FLOAT") as out:
                out.write(x)
                barrier.wait()  # ... and both commit at the same moment
                out.commit()
            wins.put((r, value))
        except Exists:
            pass
        except Exception as err:  # noqa: BLE001 - report anything else to the parent
            wins.put((r, repr(err)))


def test_two_processes_writing_one_output_cannot_both_succeed(tmp_path):
    """No check-then-rename race: in every round exactly one writer wins and its file is whole."""
    rounds = 40
    ctx = multiprocessing.get_context("fork")
    barrier, wins = ctx.Barrier(2), ctx.Queue()
    prefix = str(tmp_path / "out")
    procs = [ctx.Process(target=_racer, args=(prefix, rounds, barrier, wins, v)) for v in (0.25, 0.5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    results = []
    while not wins.empty():
        results.append(wins.get())
    by_round: dict[int, list] = {}
    for r, v in results:
        by_round.setdefault(r, []).append(v)
    assert sorted(by_round) == list(range(rounds))
    for r, winners in by_round.items():
        assert len(winners) == 1, (r, winners)
        data, _ = sf.read(f"{prefix}{r}.wav")
        assert np.all(data == winners[0])
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_commit_without_overwrite_never_replaces_a_file_created_meanwhile(tmp_path):
    target = tmp_path / "o.wav"
    check_output_target(target)
    with OutputFile(target, sample_rate=16000, channels=1, format="WAV", subtype="PCM_16") as out:
        out.write(np.zeros((100, 1), np.float32))
        target.write_bytes(b"someone else's file")
        with pytest.raises(OutputExistsError, match="created meanwhile"):
            out.commit()
    assert target.read_bytes() == b"someone else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["o.wav"]


def test_stale_temp_files_are_recognised_and_removed(tmp_path, wavs):
    out = tmp_path / "out"
    out.mkdir()
    dead = out / f".a.wav.pevc-{_HOST}-999999-0123abcd.tmp"  # a pid that does not exist
    alive = out / f".y.wav.pevc-{_HOST}-{os.getppid()}-89abcdef.tmp"  # a running process: keep
    legacy = out / ".a.wav.k3j_x9a2.tmp"  # mkstemp name of the earlier writer, 2 h old
    other = out / ".notes.txt.abcdefgh.tmp"  # not ours
    for p in (dead, alive, legacy, other):
        p.write_bytes(b"partial")
    old = time.time() - 7200
    os.utime(legacy, (old, old))
    os.utime(other, (old, old))
    assert main(["convert", str(wavs), "--emotion", "sad", "--out-dir", str(out)]) == 0
    assert not dead.exists() and not legacy.exists()
    assert alive.exists() and other.exists()
    assert clean_stale_temps(out) == 0  # once per folder per process


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, wavs, mask, mode):
    old = os.umask(mask)
    try:
        out = tmp_path / "o.wav"
        assert main(["convert", str(wavs / "a.wav"), "-o", str(out), "--emotion", "sad"]) == 0
        write_audio(tmp_path / "w.flac", np.zeros(1000, np.float32), 16000)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out).st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / "w.flac").st_mode) == mode


def test_exported_release_follows_the_umask(tmp_path):
    import torch

    from promptevc.release import write_release

    old = os.umask(0o022)
    try:
        rel = write_release(tmp_path / "rel", kind="x", config={}, tensors={"w": torch.zeros(2)})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(rel).st_mode) == 0o755


def test_existing_outputs_kept_and_batch_progress_prints_one_summary(tmp_path, wavs, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.wav").write_bytes(b"keep me")
    assert main(["convert", str(wavs), "--emotion", "sad", "--out-dir", str(out)]) == 0
    captured = capsys.readouterr()
    assert (out / "a.wav").read_bytes() == b"keep me"
    text = captured.out + captured.err
    assert text.count("converted 1, skipped 1 (exists), failed 0") == 1
