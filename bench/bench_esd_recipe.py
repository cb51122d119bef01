#!/usr/bin/env python
"""egs/esd stages 1-6 on a synthetic ESD: time, peak memory and disk per stage, extrapolated to ESD.

  python bench/bench_esd_recipe.py [--work /tmp/esd_bench] [--per-block 70] [--speakers 10]
        [--nj 2] [--steps 30] [--hubert-utts 60]

Builds a synthetic ESD (egs/esd/local/make_synthetic_esd.py: ESD's layout and transcript quirks,
10 English speakers x 5 emotions x 70 sentences = 3 500 utterances of ~3 s by default) and runs
``egs/esd/run.sh --nj 2 --ngpu 0 --content mel`` one stage at a time (stage 3 and 6 capped at
``--steps`` optimiser steps, the prompt encoder swapped for the packaged MiniLM: the offline
command). For each stage: wall time, the peak of the summed RSS of the whole process tree
(sampled every 0.2 s from /proc; shared pages count once per process, so it is an upper bound),
the peak RSS of its largest process, and the disk used by the data prep, the feature store and
the experiment after it. Stage 2 also gives the dump throughput (audio hours per wall hour) and
the store size per hour of audio.

``--hubert-utts N`` also dumps N utterances with a HuBERT-base-sized content model (random
weights saved locally: the same architecture and cost as facebook/hubert-base-ls960, which this
machine cannot download) to measure HuBERT throughput on the CPU and its float16 size per hour.

Extrapolation to ESD (20 speakers x 5 emotions x 350 = 35 000 utterances, 29.1 h): stages 1, 2,
4 and 5 (apply) scale with the number of utterances / hours of audio; stages 3 and 6 with their
optimiser steps (reported per step, times the steps of evaluator_base / acoustic_base).
Prints a Markdown table and a final JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ESD_UTTS, ESD_HOURS = 35_000, 29.1  # papers.md §3.1: 20 speakers x 5 emotions x 350; 13.4 h + 15.7 h
REAL_STEPS = {3: 2 * 15_000, 6: 200_000}  # evaluator_base (critic + grading model), acoustic_base
STAGES = {1: "data prep", 2: "feature dump", 3: "emotion evaluator (x2)", 4: "intensity + prompts",
          5: "content units", 6: "acoustic model"}


def tree_rss(root: int) -> tuple[int, int]:
    """(sum, max) RSS in bytes over ``root`` and all its descendants."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            parent[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
            status = Path(f"/proc/{d}/status").read_text()
            m = re.search(r"VmRSS:\s+(\d+) kB", status)
            rss[int(d)] = int(m.group(1)) * 1024 if m else 0
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier += kids
    values = [rss.get(p, 0) for p in tree]
    return sum(values), max(values, default=0)


def run_monitored(cmd: list[str], log: Path, env: dict) -> tuple[float, int, int, int]:
    """(seconds, peak tree RSS, peak single-process RSS, exit code) of ``cmd``."""
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        peak = [0, 0]

        def sample() -> None:
            while proc.poll() is None:
                total, single = tree_rss(proc.pid)
                peak[0], peak[1] = max(peak[0], total), max(peak[1], single)
                time.sleep(0.2)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        rc = proc.wait()
        t.join()
    return time.monotonic() - start, peak[0], peak[1], rc


def per_step_seconds(*exps: Path) -> float | None:
    """Training seconds per optimiser step, from the trainers' metrics.csv (train rows: step, time);
    the mean over ``exps``, None when there are fewer than two logged steps."""
    import csv

    rates = []
    for exp in exps:
        path = exp / "metrics.csv"
        if not path.is_file():
            continue
        first: dict[int, float] = {}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("split") == "train":
                    first.setdefault(int(row["step"]), float(row["time"]))
        steps = sorted(first)
        if len(steps) >= 2:
            rates.append((first[steps[-1]] - first[steps[0]]) / (steps[-1] - steps[0]))
    return sum(rates) / len(rates) if rates else None


def du(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def audio_hours(prep: Path) -> float:
    import soundfile as sf

    total = 0.0
    for s in ("train", "dev", "test"):
        for line in (prep / s / "wav.scp").read_text().splitlines():
            total += sf.info(line.split(" ", 1)[1]).duration
    return total / 3600


def hubert_probe(work: Path, prep: Path, n: int, env: dict) -> dict:
    """Dump ``n`` utterances with a random-weight HuBERT-base (same size and cost as the real one)."""
    from transformers import HubertConfig, HubertModel

    model_dir = work / "hubert-base-random"
    if not (model_dir / "config.json").is_file():
        HubertModel(HubertConfig()).save_pretrained(model_dir)  # base: 12 layers, 768 dims
    data = work / "hubert_probe"
    data.mkdir(exist_ok=True)
    lines = (prep / "train" / "wav.scp").read_text().splitlines()[:n]
    (data / "wav.scp").write_text("\n".join(lines) + "\n")
    cmd = [sys.executable, "-m", "promptevc.cli", "dump-features", "--data", str(data), "--store", str(work / "hubert_store"),
           "--content", "hubert", "--content-model", str(model_dir), "--content-layer", "6", "--f0", "harvest",
           "--no-progress", "--overwrite"]
    seconds, tree, single, rc = run_monitored(cmd, work / "hubert_probe.log", env)
    import soundfile as sf

    hours = sum(sf.info(x.split(" ", 1)[1]).duration for x in lines) / 3600
    return {"utts": n, "seconds": round(seconds, 1), "audio_hours": hours, "rc": rc,
            "store_bytes": du(work / "hubert_store"), "peak_rss": single}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="/tmp/esd_bench", help="scratch folder (default: %(default)s)")
    p.add_argument("--speakers", type=int, default=10)
    p.add_argument("--per-block", type=int, default=70)
    p.add_argument("--seconds", type=float, default=3.0, help="mean utterance length (ESD: ~3.0 s)")
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--steps", type=int, default=30, help="optimiser steps of stages 3 and 6")
    p.add_argument("--hubert-utts", type=int, default=60, help="0 = skip the HuBERT probe")
    p.add_argument("--stages", default="1-6")
    args = p.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", PYTHON=sys.executable,
               PROMPTEVC=f"{sys.executable} -m promptevc.cli")
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} cores")

    corpus = work / "corpus"
    if not (corpus / "Emotion Speech Dataset").is_dir():
        t = time.monotonic()
        subprocess.run([sys.executable, str(REPO / "egs/esd/local/make_synthetic_esd.py"), str(corpus), "--speakers",
                        str(args.speakers), "--per-block", str(args.per_block), "--seconds", str(args.seconds),
                        "--nj", str(args.nj)], check=True, env=env)
        print(f"synthesised the corpus in {time.monotonic() - t:.0f} s")
    caps = (f"--set train.max_steps={args.steps} --set train.valid_every={args.steps} --set train.save_every={args.steps} "
            f"--set train.log_every={max(1, args.steps // 3)}")
    base = ["bash", str(REPO / "egs/esd/run.sh"), "--esd_root", str(corpus / "Emotion Speech Dataset"),
            "--data_root", str(work / "data"), "--exp_root", str(work / "exp"), "--nj", str(args.nj), "--ngpu", "0",
            "--content", "mel", "--evaluator_args", caps,
            "--acoustic_args", f"--set model.descriptor.encoder=packaged:all-MiniLM-L6-v2 {caps}"]
    first, last = (int(x) for x in args.stages.split("-"))
    rows = []
    prep, store, exp = work / "data/esd_english", work / "data/dump", work / "exp/base"
    for n in range(first, last + 1):
        seconds, tree, single, rc = run_monitored([*base, "--stage", str(n), "--stop_stage", str(n)],
                                                  work / f"stage{n}.log", env)
        row = {"stage": n, "what": STAGES[n], "seconds": round(seconds, 1), "peak_tree_rss": tree, "peak_rss": single,
               "disk_prep": du(prep), "disk_store": du(store), "disk_exp": du(exp), "rc": rc}
        rows.append(row)
        print(json.dumps(row))
        if rc != 0:
            print(f"stage {n} failed; see {work / f'stage{n}.log'}")
            break
    hours = audio_hours(prep) if (prep / "train/wav.scp").is_file() else 0.0
    n_utts = sum(len((prep / s / "wav.scp").read_text().splitlines()) for s in ("train", "dev", "test")) if hours else 0
    result = {"load": load, "utts": n_utts, "audio_hours": hours, "stages": rows}

    gb = 1e9
    print(f"\n{n_utts} utterances, {hours:.2f} h of audio; --nj {args.nj} --ngpu 0 --content mel; training "
          f"{args.steps} steps; machine load {load:.1f}\n")
    print("| stage | what | time | peak memory (tree / largest process) | disk after (prep / store / exp) | "
          "ESD (35 000 utts, 29.1 h), same machine |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        n = r["stage"]
        if n in REAL_STEPS:
            parts = {3: ["evaluator", "eval_classifier"], 6: ["acoustic"]}[n]
            per_step = per_step_seconds(*(exp / x for x in parts))
            how = "s/step"
            if per_step is None:
                per_step, how = r["seconds"] / args.steps, "s/step incl. start-up"
            r["seconds_per_step"] = per_step
            extra = f"{per_step:.2f} {how} x {REAL_STEPS[n]:,} steps = {per_step * REAL_STEPS[n] / 3600:.0f} h on this CPU"
        else:
            scale = ESD_HOURS / hours if n == 2 else ESD_UTTS / max(n_utts, 1)
            extra = f"~{r['seconds'] * scale / 3600:.1f} h" if r["seconds"] * scale > 3600 else f"~{r['seconds'] * scale / 60:.0f} min"
        print(f"| {n} | {r['what']} | {r['seconds']:.0f} s | {r['peak_tree_rss'] / gb:.2f} / {r['peak_rss'] / gb:.2f} GB | "
              f"{r['disk_prep'] / 1e6:.1f} / {r['disk_store'] / 1e6:.0f} / {r['disk_exp'] / 1e6:.0f} MB | {extra} |")
    dump = next((r for r in rows if r["stage"] == 2 and r["rc"] == 0), None)
    if dump and hours:
        per_hour = dump["disk_store"] / hours
        result["dump"] = {"audio_hours_per_wall_hour": hours / (dump["seconds"] / 3600), "store_bytes_per_audio_hour": per_hour}
        print(f"\nstage 2 (mel content, Harvest F0, GE2E, {args.nj} CPU jobs): {hours / (dump['seconds'] / 3600):.2f} h of "
              f"audio per hour; store {per_hour / 1e6:.0f} MB per hour of audio -> ESD {per_hour * ESD_HOURS / gb:.1f} GB")
    if args.hubert_utts and hours:
        probe = hubert_probe(work, prep, args.hubert_utts, env)
        result["hubert_probe"] = probe
        per_hour = probe["store_bytes"] / probe["audio_hours"]
        rate = probe["audio_hours"] / (probe["seconds"] / 3600)
        print(f"HuBERT-base layer 6 + Harvest + GE2E, 1 CPU process, {probe['utts']} utts: {rate:.2f} h of audio per "
              f"hour (incl. start-up); store {per_hour / 1e6:.0f} MB per hour of audio (float16) -> ESD "
              f"{per_hour * ESD_HOURS / gb:.1f} GB; peak RSS {probe['peak_rss'] / gb:.2f} GB")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
