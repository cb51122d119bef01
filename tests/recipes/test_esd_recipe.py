"""egs/esd/run.sh stages 1-2 for real (promptevc prepare-data and dump-features, mel content) on
a small synthetic ESD tree with the real corpus's quirks (egs/esd/local/make_synthetic_esd.py):
relative --esd_root and roots with spaces; an interrupted dump continues without dumping anything
twice; a re-run never re-dumps; --redo_dump after an F0 change computes F0 only; English then
Mandarin with different tags overwrite nothing."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from recipe_support import process_ends, wait_for

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "egs" / "esd" / "run.sh"
N_PER_LANGUAGE = 2 * 5 * 3  # 2 speakers x 5 emotions x (1 dev, 1 test, 1 train)


@pytest.fixture(scope="module")
def esd_copy(tmp_path_factory) -> Path:
    """A folder holding ``Emotion Speech Dataset/`` with English 0011-0012 and Mandarin 0001-0002."""
    spec = importlib.util.spec_from_file_location("make_synthetic_esd", REPO / "egs/esd/local/make_synthetic_esd.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("esd")
    mod.make_synthetic_esd(out, language="both", n_speakers=2, per_block=3, seconds=1.0, seed=1)
    return out


def esd_env(**extra: str) -> dict[str, str]:
    base = dict(PYTHONPATH=str(REPO), PYTHON=sys.executable, PROMPTEVC=f"{sys.executable} -m promptevc.cli",
                OMP_NUM_THREADS="1")
    return {**os.environ, **base, **extra}


def run_esd(cwd: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """egs/esd/run.sh from ``cwd`` with a small CPU setup; options after it win."""
    cmd = ["bash", str(RUN), "--nj", "2", "--ngpu", "0", "--content", "mel", "--f0_method", "dio",
           "--stop_stage", "2", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env or esd_env(), capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"run.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def workdir(tmp_path: Path, esd_copy: Path) -> Path:
    """A user's working directory (with a space) holding a relative link to the corpus copy."""
    cwd = tmp_path / "my work"
    cwd.mkdir()
    (cwd / "corpus").symlink_to(esd_copy)
    return cwd


def stamps(root: Path) -> dict[str, tuple[str, int]]:
    return {str(f.relative_to(root)): (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns)
            for f in sorted(root.rglob("*")) if f.is_file()}


def ledger_lines(store_root: Path) -> list[str]:
    return [line for f in store_root.rglob("ledger/*.tsv") for line in f.read_text().splitlines()]


@pytest.mark.slow  # two pipeline runs with real dumps, ~15 s on a busy 2-core machine
def test_relative_esd_root_and_roots_with_spaces(tmp_path, esd_copy):
    cwd = workdir(tmp_path, esd_copy)
    before = {p.name for p in (REPO / "egs/esd").iterdir()}
    out = run_esd(cwd, "--esd_root", "corpus/Emotion Speech Dataset", "--data_root", "my data", "--exp_root", "my exp")
    # Relative paths are the user's: everything is under the working directory, nothing in egs/esd.
    prep, tag = cwd / "my data/esd_english", cwd / "my exp/base"
    assert {p.name for p in (REPO / "egs/esd").iterdir()} == before
    assert (prep / ".done/stage1").is_file() and (tag / ".done/stage2").is_file()
    for s in ("train", "dev", "test"):
        wav = (tag / f"data/{s}/wav.scp").read_text().splitlines()
        feats = (tag / f"data/{s}/feats.scp").read_text().splitlines()
        assert len(wav) == len(feats) == {"train": 10, "dev": 10, "test": 10}[s]
        assert all(" " in line.split(" ", 1)[1] for line in wav)  # "Emotion Speech Dataset" in every path
    assert "outputs are missing" not in out.stdout + out.stderr
    # Every transcript quirk (UTF-16 with and without BOM, Latin-1, space separators) decoded.
    text = dict(line.split(" ", 1) for line in (prep / "test/text").read_text().splitlines())
    assert text["0012_000021"] == "The nine eggs, 21 of them, naïvely kept."
    # A mistyped relative root names the resolved path, not the licence.
    proc = run_esd(cwd, "--esd_root", "corpus/typo", "--data_root", "my data", "--exp_root", "e2", check=False)
    assert proc.returncode != 0
    assert f"{cwd}/corpus/typo': no such folder" in proc.stdout + proc.stderr
    assert "HLTSingapore" not in proc.stdout + proc.stderr


@pytest.mark.slow  # three pipeline runs with real dumps, ~40 s on a busy 2-core machine
def test_interrupted_dump_continues_and_nothing_is_dumped_twice(tmp_path, esd_copy):
    cwd = workdir(tmp_path, esd_copy)
    args = ("--esd_root", "corpus/Emotion Speech Dataset", "--data_root", "data", "--exp_root", "exp")
    # Job 2 of the dump stalls (a wrapper sleeps before it starts); job 1 finishes; then Ctrl-C.
    wrapper = tmp_path / "slow_promptevc.sh"
    wrapper.write_text(
        "#!/usr/bin/env bash\n"
        'if [[ " $* " == *"split2/2 "* && -n "${STALL_PIDFILE:-}" ]]; then echo $$ > "$STALL_PIDFILE"; exec sleep 120; fi\n'
        f'exec {sys.executable} -m promptevc.cli "$@"\n'
    )
    wrapper.chmod(0o755)
    pidfile = tmp_path / "stall.pid"
    env = esd_env(PROMPTEVC=str(wrapper), STALL_PIDFILE=str(pidfile))
    cmd = ["bash", str(RUN), "--nj", "2", "--ngpu", "0", "--content", "mel", "--f0_method", "dio", "--stop_stage", "2",
           *args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    job1 = cwd / "exp/base/logs/dump.1.log"
    if not wait_for(lambda: pidfile.is_file() and job1.is_file() and "# Ended (code 0)" in job1.read_text(), 120):
        proc.kill()
        raise AssertionError("job 1 of the dump did not finish")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted during stage 2" in err
    assert not (cwd / "exp/base/.done/stage2").exists()
    assert process_ends(int(pidfile.read_text()))  # the stalled job went with the stage
    store_root = cwd / "data/dump/esd"
    dumped_first = len(ledger_lines(store_root))
    assert 0 < dumped_first < 3 * 10
    kept = stamps(store_root)
    # The same command again: only the utterances job 2 never did are dumped.
    out = run_esd(cwd, *args)
    assert f"skipped {dumped_first} (already dumped)" in out.stdout
    assert len(ledger_lines(store_root)) == 30  # every utterance dumped exactly once over both runs
    assert all(stamps(store_root).get(k) == v for k, v in kept.items() if "ledger" not in k)
    # A re-run of stage 2 after the data dirs changed (the old split-rebuild trigger) re-dumps nothing.
    for f in (cwd / "exp/base/data/train").iterdir():
        os.utime(f)
    out = run_esd(cwd, *args, "--force_stages", "2")
    assert "dumped 0" in out.stdout and len(ledger_lines(store_root)) == 30


@pytest.mark.slow  # three pipeline runs with real dumps
def test_redo_dump_after_an_f0_change_computes_f0_only(tmp_path, esd_copy):
    cwd = workdir(tmp_path, esd_copy)
    args = ("--esd_root", "corpus/Emotion Speech Dataset")
    run_esd(cwd, *args, "--data_root", "data", "--exp_root", "exp")
    store_root = cwd / "data/dump/esd"
    (dio,) = list(store_root.iterdir())
    kept = stamps(dio)
    proc = run_esd(cwd, *args, "--data_root", "data", "--exp_root", "exp", "--f0_method", "harvest", check=False)
    assert proc.returncode != 0 and "f0: dio -> harvest" in proc.stderr and "--redo_dump true" in proc.stderr
    assert list(store_root.iterdir()) == [dio]
    out = run_esd(cwd, *args, "--data_root", "data", "--exp_root", "exp", "--f0_method", "harvest", "--redo_dump", "true")
    # Per dump job: "dumped N (computed f0 N; copied from other stores spectral N, speaker N, content N)".
    jobs = re.findall(r"dumped (\d+) \(computed f0 (\d+); copied from other stores spectral (\d+), speaker (\d+), "
                      r"content (\d+)\)", out.stdout)
    assert len(jobs) == 2 and all(len(set(counts)) == 1 for counts in jobs)
    assert sum(int(counts[0]) for counts in jobs) == 30
    assert stamps(dio) == kept  # the dio features are untouched (another tag may use them)
    harvest = next(d for d in store_root.iterdir() if d != dio)
    feats = (cwd / "exp/base/data/train/feats.scp").read_text()
    assert str(harvest) in feats and str(dio) not in feats


@pytest.mark.slow  # two pipeline runs with real dumps
def test_english_then_mandarin_with_other_tags_overwrite_nothing(tmp_path, esd_copy):
    cwd = workdir(tmp_path, esd_copy)
    args = ("--esd_root", "corpus/Emotion Speech Dataset", "--data_root", "data", "--exp_root", "exp")
    run_esd(cwd, *args)
    english = {**stamps(cwd / "data/esd_english"), **stamps(cwd / "exp/base"), **stamps(cwd / "data/dump")}
    out = run_esd(cwd, *args, "--language", "mandarin", "--tag", "base_zh")
    assert "stage 1 (data prep): start" in out.stdout
    after = {**stamps(cwd / "data/esd_english"), **stamps(cwd / "exp/base"), **stamps(cwd / "data/dump")}
    assert all(after[k] == v for k, v in english.items())  # every English file as it was
    zh = (cwd / "exp/base_zh/data/test/feats.scp").read_text().splitlines()
    assert len(zh) == 10 and all(line.startswith("000") for line in zh)
    text = (cwd / "data/esd_mandarin/test/text").read_text()
    assert "我们明天见" in text or "今天天气很好" in text  # GB2312 transcripts
    # Forgetting --tag for Mandarin is refused instead of replacing the English tag's data.
    proc = run_esd(cwd, *args, "--language", "mandarin", check=False)
    assert proc.returncode != 0 and "--tag base_mandarin" in proc.stderr
