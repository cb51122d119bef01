"""recipes/utils: option parsing, scp split/merge, data-dir split, the local and Slurm job runners
(quoted logs, GPUs per job, cancel on interrupt), caller-relative paths, marker signatures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from recipe_support import wait_for

UTILS = Path(__file__).resolve().parents[2] / "recipes" / "utils"


def sh(script: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_parse_options(tmp_path):
    script = f"""
        stage=1; use_gpu=false; acoustic_conf=a.yaml; extra=""
        . {UTILS}/parse_options.sh
        echo "$stage|$use_gpu|$acoustic_conf|$extra|$*"
    """
    (tmp_path / "opts.conf").write_text("stage=4\nextra='--set a=1'\n")
    out = subprocess.run(["bash", "-c", script, "x", "--conf", "opts.conf", "--use-gpu", "true",
                          "--acoustic_conf=b.yaml", "pos1"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "4|true|b.yaml|--set a=1|pos1"
    bad = subprocess.run(["bash", "-c", script, "x", "--use_gpu", "yes"], capture_output=True, text=True)
    assert bad.returncode != 0 and "must be true or false" in bad.stderr
    bad = subprocess.run(["bash", "-c", script, "x", "--stgae", "3"], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown option --stgae" in bad.stderr


def test_split_and_merge_scp(tmp_path):
    keys = [f"spk{s}_{i:03d}" for s in range(3) for i in range(4)]  # 3 speakers x 4 utterances
    (tmp_path / "wav.scp").write_text("".join(f"{k} /a/{k}.wav\n" for k in keys))
    (tmp_path / "utt2spk").write_text("".join(f"{k} {k[:4]}\n" for k in keys))
    out = sh(f"{UTILS}/split_scp.sh wav.scp p1 p2 p3 p4 p5 && {UTILS}/merge_scp.sh merged p5 p3 p1 p2 p4", tmp_path)
    assert out.returncode == 0, out.stderr
    sizes = [len((tmp_path / f"p{i}").read_text().splitlines()) for i in range(1, 6)]
    assert sorted(sizes) == [2, 2, 2, 3, 3] and sum(sizes) == 12
    assert (tmp_path / "merged").read_text() == (tmp_path / "wav.scp").read_text()
    # Per speaker: every speaker's lines land in exactly one part.
    out = sh(f"{UTILS}/split_scp.sh --utt2spk utt2spk wav.scp s1 s2", tmp_path)
    assert out.returncode == 0, out.stderr
    parts = [{line[:4] for line in (tmp_path / f"s{i}").read_text().splitlines()} for i in (1, 2)]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    # More parts than speakers is refused; duplicate keys in a merge are an error.
    assert sh(f"{UTILS}/split_scp.sh --utt2spk utt2spk wav.scp a b c d", tmp_path).returncode != 0
    out = sh(f"{UTILS}/merge_scp.sh m2 p1 p1", tmp_path)
    assert out.returncode != 0 and "duplicate keys" in out.stderr


def test_split_data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    utts = [f"{s}_{i:06d}" for s in ("0011", "0012") for i in (1, 2, 3)]
    (d / "wav.scp").write_text("".join(f"{u} /x/{u}.wav\n" for u in utts))
    (d / "utt2spk").write_text("".join(f"{u} {u[:4]}\n" for u in utts))
    (d / "utt2emo").write_text("".join(f"{u} neutral\n" for u in utts))
    out = sh(f"{UTILS}/split_data_dir.sh data 3", tmp_path)
    assert out.returncode == 0, out.stderr
    got = []
    for i in (1, 2, 3):
        part = d / "split3" / str(i)
        wav = part.joinpath("wav.scp").read_text().splitlines()
        assert part.joinpath("utt2emo").read_text().splitlines() == [f"{w.split()[0]} neutral" for w in wav]
        spk2utt = dict(line.split(maxsplit=1) for line in part.joinpath("spk2utt").read_text().splitlines())
        assert sorted(u for v in spk2utt.values() for u in v.split()) == [w.split()[0] for w in wav]
        got += [w.split()[0] for w in wav]
    assert got == utts


def test_run_local_runs_jobs_and_counts_failures(tmp_path):
    out = sh(f'{UTILS}/run_local.sh JOB=1:3 log/x.JOB.log echo job JOB "two words"', tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "log/x.2.log").read_text()
    assert "job 2 two words" in text and "# Ended (code 0)" in text and "# Accounting: time=" in text
    out = sh(f"{UTILS}/run_local.sh --max_jobs_run 1 JOB=1:4 log/f.JOB.log 'test JOB -le 2'", tmp_path)
    assert out.returncode == 1
    assert "2 / 4 jobs failed" in out.stderr and "log/f.*.log" in out.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/f.3.log").read_text()


def fake_sbatch(tmp_path: Path) -> dict[str, str]:
    """An sbatch stand-in on PATH: runs the array tasks locally with SLURM_ARRAY_TASK_ID set and
    appends its flags to sbatch.args."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(
        "#!/usr/bin/env bash\n"
        'echo "$@" >> sbatch.args\n'
        'for a in "$@"; do case $a in --array=*) r=${a#--array=}; r=${r%%%*};; esac; done\n'
        'script="${@: -1}"\n'
        'for ((i=${r%-*}; i<=${r#*-}; i++)); do SLURM_ARRAY_TASK_ID=$i bash "$script"; done\n'
        "exit 0\n"
    )
    (bin_dir / "sbatch").chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_slurm_backend_with_a_stub_sbatch(tmp_path):
    env = fake_sbatch(tmp_path)
    out = sh(f'{UTILS}/slurm.sh --gpu 2 --mem 4G JOB=1:2 log/s.JOB.log echo hi JOB "a b"', tmp_path, env)
    assert out.returncode == 0, out.stderr
    assert "hi 2 a b" in (tmp_path / "log/s.2.log").read_text()
    args = (tmp_path / "sbatch.args").read_text()
    assert "--wait" in args and "--array=1-2" in args and "--gres=gpu:2" in args and "--mem=4G" in args
    out = sh(f"{UTILS}/slurm.sh JOB=1:2 log/t.JOB.log 'test JOB -eq 1'", tmp_path, env)
    assert out.returncode == 1 and "1 / 2 jobs failed" in out.stderr


def test_split_data_dir_keeps_what_jobs_wrote(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    utts = [f"0011_{i:06d}" for i in (1, 2, 3, 4)]
    (d / "wav.scp").write_text("".join(f"{u} /x/{u}.wav\n" for u in utts))
    (d / "utt2spk").write_text("".join(f"{u} 0011\n" for u in utts))
    assert sh(f"{UTILS}/split_data_dir.sh data 2", tmp_path).returncode == 0
    kept = d / "split2/1/feats/0011_000001.npz"
    kept.parent.mkdir()
    kept.write_bytes(b"features")
    # A newer file in the data dir (stage 2 writing feats.scp) does not rebuild the split...
    (d / "feats.scp").write_text("")
    os.utime(d / "split2/.done", (1, 1))
    assert sh(f"{UTILS}/split_data_dir.sh data 2", tmp_path).returncode == 0
    # ...and a real change rebuilds the lists but never deletes what a job left there.
    (d / "wav.scp").write_text("".join(f"{u} /y/{u}.wav\n" for u in utts))
    assert sh(f"{UTILS}/split_data_dir.sh data 2", tmp_path).returncode == 0
    assert kept.read_bytes() == b"features"
    assert "/y/" in (d / "split2/1/wav.scp").read_text()


def test_run_local_quotes_logged_commands_and_gives_each_job_its_gpu(tmp_path):
    out = sh(f'{UTILS}/run_local.sh log/q.log printf "%s|" "a b" "c\'d"', tmp_path)
    assert out.returncode == 0, out.stderr
    first, *_ = (tmp_path / "log/q.log").read_text().splitlines()
    # The logged line pastes back into a shell and runs the same command.
    again = subprocess.run(["bash", "-c", first[2:]], capture_output=True, text=True)
    assert again.stdout == "a b|c'd|"
    env = {"CUDA_VISIBLE_DEVICES": "3,5"}
    out = sh(f"{UTILS}/run_local.sh --gpu 1 JOB=1:2 log/g.JOB.log 'echo gpu=$CUDA_VISIBLE_DEVICES'", tmp_path, env)
    assert out.returncode == 0, out.stderr
    assert "gpu=3" in (tmp_path / "log/g.1.log").read_text() and "gpu=5" in (tmp_path / "log/g.2.log").read_text()


def test_slurm_backend_cancels_its_jobs_on_interrupt(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # sbatch stand-in that submits (prints the id, as --parsable does) and then waits forever.
    (bin_dir / "sbatch").write_text('#!/usr/bin/env bash\necho "4242"\nexec sleep 60\n')
    (bin_dir / "scancel").write_text('#!/usr/bin/env bash\necho "$@" > scancel.args\n')
    for f in ("sbatch", "scancel"):
        (bin_dir / f).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    proc = subprocess.Popen(["bash", f"{UTILS}/slurm.sh", "JOB=1:2", "log/s.JOB.log", "sleep", "1"], cwd=tmp_path,
                            env=env, stderr=subprocess.PIPE, text=True)
    submit = tmp_path / "log/q/s.array.submit.log"
    assert wait_for(lambda: submit.is_file() and submit.read_text().strip(), 10)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert (tmp_path / "scancel.args").read_text().split() == ["4242"]
    assert "cancelled Slurm job 4242" in err


def test_slurm_asks_gpus_only_when_told(tmp_path):
    env = fake_sbatch(tmp_path)
    assert sh(f"{UTILS}/slurm.sh JOB=1:2 log/c.JOB.log true", tmp_path, env).returncode == 0
    assert sh(f"{UTILS}/slurm.sh --gpu 1 log/g.log true", tmp_path, env).returncode == 0
    cpu_job, gpu_job = (tmp_path / "sbatch.args").read_text().splitlines()
    assert "--gres" not in cpu_job and "--gres=gpu:1" in gpu_job


def test_caller_paths_resolve_from_the_users_directory(tmp_path):
    script = (
        f". {UTILS}/caller_paths.sh\n"
        'caller_paths --esd_root "corpus/Emotion Speech Dataset" --data_root=/abs --tag t '
        "--acoustic_conf acoustic_base --vocoder_conf my.yaml --results_md auto\n"
        'printf "%s\\n" "${caller_args[@]}"\n'
    )
    (tmp_path / "my.yaml").write_text("x: 1\n")
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "--esd_root", f"{tmp_path}/corpus/Emotion Speech Dataset", "--data_root=/abs", "--tag", "t",
        "--acoustic_conf", "acoustic_base",  # a packaged name, not a file here: kept
        "--vocoder_conf", f"{tmp_path}/my.yaml", "--results_md", "auto",
    ]


def test_signature_follows_content_and_folder_stats(tmp_path):
    sig = [sys.executable, str(UTILS / "signature.py")]

    def digest(*paths):
        return subprocess.run([*sig, *map(str, paths)], capture_output=True, text=True, check=True).stdout.strip()

    f, d = tmp_path / "meta.json", tmp_path / "release"
    f.write_text("{}")
    d.mkdir()
    (d / "model.bin").write_bytes(b"1")
    first = digest(f, d, tmp_path / "missing")
    f.write_text("{}")  # rewritten with the same content: same signature
    assert digest(f, d, tmp_path / "missing") == first
    os.utime(d / "model.bin", (1, 1))  # a retrained model in a folder: stat changes
    assert digest(f, d, tmp_path / "missing") != first
