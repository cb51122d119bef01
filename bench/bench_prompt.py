"""Prompt-parser benchmark: cold load, warm parse latency, accuracy. Prints figures (not a test).

    python bench/bench_prompt.py [--repeats 3] [--skip-cli]

Cold figures run in fresh Python processes: "first run" has an empty user cache and takes the
anchor embeddings shipped in promptevc/resources (copying them to the cache); "later runs" read
the user cache; "anchors from scratch" encodes all anchors (a custom encoder, or edited anchors).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "prompt"))

_COLD_SNIPPET = """
import time, json
t0 = time.perf_counter()
from promptevc.prompt.parser import get_parser
t1 = time.perf_counter()
p = get_parser()
t2 = time.perf_counter()
p.parse("slightly sad, a bit slower")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first_parse": t3 - t2, "cache_hit": p.cache_hit}))
"""


def _cold(cache_dir: str, fresh: bool) -> dict:
    env = dict(os.environ, PROMPTEVC_CACHE_DIR=cache_dir)
    if fresh:
        for f in Path(cache_dir).glob("anchors-*"):
            f.unlink()
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _COLD_SNIPPET], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - start
    return result


def _cli_wall(args: list[str], cache_dir: str) -> float:
    env = dict(os.environ, PROMPTEVC_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "promptevc.cli", *args], env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="cold runs per setting (median reported)")
    ap.add_argument("--skip-cli", action="store_true", help="skip the cold 'promptevc convert' timing")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as cache_dir:
        fresh = [_cold(cache_dir, fresh=True) for _ in range(args.repeats)]
        cached = [_cold(cache_dir, fresh=False) for _ in range(args.repeats)]
        assert all(r["cache_hit"] for r in cached)
        for name, runs in (("cold, first run", fresh), ("cold, later runs", cached)):
            med = {k: statistics.median(r[k] for r in runs) for k in ("import", "load", "first_parse", "process")}
            print(f"{name:28s}: import {med['import']:.2f} s, get_parser() {med['load']:.2f} s, "
                  f"first parse {med['first_parse']:.3f} s, whole process {med['process']:.2f} s")

        os.environ["PROMPTEVC_CACHE_DIR"] = cache_dir
        from phrasings import PHRASINGS, PHRASINGS_EXTENDED

        from promptevc.prompt import templates as T
        from promptevc.prompt.control import EMOTIONS
        from promptevc.prompt.parser import get_parser

        parser = get_parser()
        t = time.perf_counter()
        texts = parser._anchor_texts()
        parser.encoder.encode(texts)
        print(f"anchors from scratch        : {time.perf_counter() - t:.2f} s to encode {len(texts)} anchors")
        latencies = []
        correct = 0
        for prompt, expected in PHRASINGS:
            t = time.perf_counter()
            control = parser.parse(prompt)
            latencies.append(time.perf_counter() - t)
            correct += control.emotion == expected
        latencies.sort()
        print(f"warm parse latency          : median {1000 * statistics.median(latencies):.1f} ms, "
              f"p90 {1000 * latencies[int(0.9 * len(latencies))]:.1f} ms over {len(latencies)} prompts")
        print(f"phrasing-set accuracy       : {correct / len(PHRASINGS):.3f} ({correct}/{len(PHRASINGS)})")
        ext_ok, ext_lat = 0, []
        for prompt, expected in PHRASINGS_EXTENDED:
            t = time.perf_counter()
            ext_ok += parser.parse(prompt).label == expected
            ext_lat.append(time.perf_counter() - t)
        print(f"extended set (issue 12)     : {ext_ok / len(PHRASINGS_EXTENDED):.3f} ({ext_ok}/{len(PHRASINGS_EXTENDED)}) "
              f"by label; warm parse median {1000 * statistics.median(ext_lat):.1f} ms (includes the first "
              "multilingual-encoder load)")
        results = {"accuracy_esd_set": round(correct / len(PHRASINGS), 4),
                   "accuracy_extended_set": round(ext_ok / len(PHRASINGS_EXTENDED), 4),
                   "warm_parse_median_ms": round(1000 * statistics.median(latencies), 1)}
        rng = random.Random(0)
        for split in T.SPLITS:
            ok = 0
            for i in range(200):
                emotion = EMOTIONS[i % 5]
                second = rng.choice([None, None] + [e for e in EMOTIONS if e != emotion])
                hint = rng.choice([None, ("tempo", 1), ("pitch", -1), ("volume", -1)])
                text = T.generate_prompt(emotion, T.BUCKETS[i % 3], rng, second_emotion=second, hint=hint, split=split)
                ok += parser.parse(text).emotion == emotion
            print(f"generated {split:7s} prompts   : parser recovers {ok / 200:.3f} of 200")

        print(f"describe CLI, cold          : {_cli_wall(['describe', 'slightly sad'], cache_dir):.2f} s wall")
        if not args.skip_cli:
            try:
                import soundfile as sf

                from promptevc.utils.synth import synth_speech

                with tempfile.TemporaryDirectory() as tmp:
                    wav = Path(tmp) / "in.wav"
                    sf.write(wav, synth_speech(f0_hz=150.0, seconds=3.0, sample_rate=16000), 16000)
                    walls = [_cli_wall(["convert", str(wav), "--prompt", "slightly sad", "-o",
                                        str(Path(tmp) / f"out{i}.wav")], cache_dir) for i in range(args.repeats)]
                print(f"convert CLI, cold, 3 s input: median {statistics.median(walls):.2f} s wall")
                results["cold_convert_s"] = round(statistics.median(walls), 3)
            except (subprocess.CalledProcessError, ImportError) as err:
                print(f"convert CLI, cold           : not measured ({err})")
        print(json.dumps({"bench": "prompt", **results}))


if __name__ == "__main__":
    main()
