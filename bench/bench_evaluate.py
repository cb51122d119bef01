"""Per-utterance time of ``promptevc evaluate`` with its default metrics; prints figures.

    python bench/bench_evaluate.py                         # this checkout, default options
    python bench/bench_evaluate.py --code /tmp/old-checkout --label before
    python bench/bench_evaluate.py --extra "--nj 1"        # extra evaluate options
    python bench/bench_evaluate.py --profile               # where the time goes, in process

The test set: ``--sources`` source utterances of 3.0 s (the first 3 s of the LibriVox read-speech
clips in Debian's ``pocketsphinx-testdata``; espeak-ng sentences when that package is absent),
each converted by the prosody engine for 4 emotions x 2 intensities (0.4, 0.9), so every source
pairs with 8 conversions, as in a recipe's test set. ``evaluate`` runs as a subprocess (Python
start, imports, model loading and all) on the whole set and on one pair; the figures:

- ``per_utt_s``: wall time of the whole run / number of pairs (what a user waits per utterance);
- ``marginal_s``: (whole run - one-pair run) / (pairs - 1): the cost of one more utterance once
  the models are loaded;
- ``startup_s``: the one-pair run (imports + model loading + one utterance);
- ``cpu_per_utt_s``: user + sys CPU seconds of the whole run / pairs (on a loaded machine the
  wall time includes waiting for a core; CPU time does not).

Target (issue 14): per_utt_s <= 1.5 s for a 3 s utterance on 2 cores. A final JSON line holds
the figures. ``--code DIR`` runs another checkout's ``promptevc`` (e.g. ``git archive`` of an
older commit) for before/after comparisons with the same inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SR = 16000
SECONDS = 3.0
TESTDATA = Path("/usr/share/pocketsphinx/test/data/librivox")
SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
]
EMOTIONS = ("angry", "happy", "sad", "surprise")
INTENSITIES = (0.4, 0.9)


def _fit(wav: np.ndarray) -> np.ndarray:
    n = int(SECONDS * SR)
    return wav[:n] if len(wav) >= n else np.pad(wav, (0, n - len(wav)))


def sources(n: int, folder: Path) -> list[Path]:
    """``n`` source files of 3.0 s in ``folder``."""
    from promptevc.audio import load_audio

    folder.mkdir(parents=True, exist_ok=True)
    clips = sorted(TESTDATA.glob("*.wav")) if TESTDATA.is_dir() else []
    out = []
    for i in range(n):
        path = folder / f"s{i:02d}.wav"
        if clips:
            wav = load_audio(clips[i % len(clips)])
        elif shutil.which("espeak-ng"):
            tmp = folder / "tts.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(tmp), SENTENCES[i % len(SENTENCES)]], check=True)
            wav = load_audio(tmp)
            tmp.unlink()
        else:
            from promptevc.utils.synth import synth_speech

            wav = synth_speech(110.0 + 20 * i, SECONDS, SR, seed=i)
        sf.write(path, _fit(np.asarray(wav, dtype=np.float32)), SR, subtype="PCM_16")
        out.append(path)
    return out


def build_set(work: Path, n_sources: int) -> tuple[Path, Path, int]:
    """Sources, prosody-engine conversions, ``pairs.csv`` and a one-pair CSV; returns (csv, one, n)."""
    from promptevc.api import Converter

    srcs = sources(n_sources, work / "src")
    conv_dir = work / "conv"
    conv_dir.mkdir(exist_ok=True)
    conv = Converter.load()
    lines = ["converted,source,emotion,intensity,utt"]
    for src in srcs:
        wav, sr = sf.read(src, dtype="float32")
        for emotion in EMOTIONS:
            for level in INTENSITIES:
                utt = f"{src.stem}-{emotion}-{level:g}"
                y, out_sr = conv.convert(wav, sr, emotion=emotion, intensity=level)
                sf.write(conv_dir / f"{utt}.wav", y, out_sr, subtype="PCM_16")
                lines.append(f"conv/{utt}.wav,src/{src.name},{emotion},{level:g},{utt}")
    (work / "pairs.csv").write_text("\n".join(lines) + "\n")
    (work / "one.csv").write_text("\n".join(lines[:2]) + "\n")
    return work / "pairs.csv", work / "one.csv", len(lines) - 1


def run_evaluate(code: Path, pairs: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall seconds and user+sys CPU seconds of one ``promptevc evaluate`` subprocess."""
    env = dict(os.environ, PYTHONPATH=str(code), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "promptevc.cli", "-q", "evaluate", "--pairs", str(pairs), "--out", str(out),
           "--overwrite", "--no-plots", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # cwd outside any checkout: `python -m` puts the working directory first on sys.path, ahead of
    # PYTHONPATH, so running from a checkout would import that checkout's promptevc instead.
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=out.parent)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"evaluate failed ({proc.returncode}): {' '.join(map(shlex.quote, cmd))}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def profile(pairs: Path, extra: list[str]) -> None:
    """Run the evaluation in this process under cProfile and print the top functions."""
    import cProfile
    import pstats

    from promptevc.cli import main

    out = pairs.parent / "profile_out"
    prof = cProfile.Profile()
    prof.enable()
    main(["-q", "evaluate", "--pairs", str(pairs), "--out", str(out), "--overwrite", "--no-plots", *extra])
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(35)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=5, help="source utterances (default 5 -> 40 pairs)")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose promptevc runs (default: this one)")
    parser.add_argument("--label", default="", help="name printed with the figures (e.g. before/after)")
    parser.add_argument("--extra", default="", help="extra evaluate options, e.g. \"--nj 1\"")
    parser.add_argument("--repeats", type=int, default=1, help="runs of the whole set; the best is reported")
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process run instead")
    parser.add_argument("--keep", type=Path, default=None, help="build the set here and keep it")
    args = parser.parse_args()
    extra = shlex.split(args.extra)

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_evaluate_"))
    try:
        pairs, one, n = build_set(work, args.sources)
        if args.profile:
            profile(pairs, extra)
            return 0
        label = args.label or str(args.code)
        load = os.getloadavg()[0]
        one_wall, _ = run_evaluate(args.code, one, work / "out_one", extra)
        runs = [run_evaluate(args.code, pairs, work / "out", extra) for _ in range(max(1, args.repeats))]
        wall, cpu = min(runs)
        per_utt = wall / n
        marginal = (wall - one_wall) / max(n - 1, 1)
        print(f"[{label}] {n} pairs ({args.sources} sources x {len(EMOTIONS)} emotions x {len(INTENSITIES)} "
              f"intensities, {SECONDS:g} s each), evaluate options: {args.extra or '(defaults)'}")
        print(f"  whole run      {wall:7.1f} s wall, {cpu:7.1f} s CPU")
        print(f"  per utterance  {per_utt:7.2f} s wall, {cpu / n:7.2f} s CPU   (target <= 1.5 s)")
        print(f"  marginal       {marginal:7.2f} s per extra utterance once models are loaded")
        print(f"  one-pair run   {one_wall:7.1f} s (start-up + model loading + 1 utterance)")
        print(f"  load average at start: {load:.2f} on {os.cpu_count()} CPUs")
        print(json.dumps({"label": label, "pairs": n, "seconds_per_utt_audio": SECONDS, "wall_s": round(wall, 2),
                          "cpu_s": round(cpu, 2), "per_utt_s": round(per_utt, 3), "cpu_per_utt_s": round(cpu / n, 3),
                          "marginal_s": round(marginal, 3), "startup_s": round(one_wall, 2),
                          "loadavg": round(load, 2), "extra": args.extra}))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
