"""Vocoder speed on this CPU: real-time factor and peak memory for 10 s of audio.

Models (random weights; speed does not depend on them): our HiFi-GAN V1 and V3 generators
(weight norm removed, as loaded for inference) and transformers' SpeechT5HifiGan with its
default config (the architecture of microsoft/speecht5_hifigan, the toolkit's default).
Each (model, threads) pair runs in a fresh subprocess so that its peak RSS is its own.

RTF = synthesis wall time / audio duration (< 1 is faster than real time), the median of
``--repeats`` runs after one warm-up; CPU-s/s = CPU seconds of all threads per audio second,
which is less affected by other processes competing for the cores. Usage::

    python bench/bench_vocoder.py [--seconds 10] [--threads 1 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

MODELS = ("hifigan-v1", "hifigan-v3", "speecht5-hifigan")


def build(name: str):
    """(module taking mel (1, 80, F), parameter count)."""
    import torch

    if name.startswith("hifigan-"):
        from promptevc.models.vocoder.hifigan import HiFiGANGenerator, hifigan_preset

        model = HiFiGANGenerator(hifigan_preset(name.split("-")[1]), 80).eval()

        def run(mel):
            return model(mel)

    else:
        from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

        model = SpeechT5HifiGan(SpeechT5HifiGanConfig()).eval()

        def run(mel):
            return model(mel.transpose(1, 2))

    torch.manual_seed(0)
    return run, sum(p.numel() for p in model.parameters())


def worker(name: str, threads: int, seconds: float, repeats: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    base_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run, params = build(name)
    frames = int(seconds * 16000 / 256)
    mel = torch.randn(1, 80, frames) - 5.0
    times, cpu_times = [], []
    with torch.inference_mode():
        run(mel[:, :, :63])  # warm-up (allocator, kernels)
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            wav = run(mel)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    assert wav.shape[-1] == frames * 256
    elapsed = statistics.median(times)
    return {
        "model": name,
        "threads": threads,
        "params_M": params / 1e6,
        "seconds_audio": frames * 256 / 16000,
        "seconds_compute": elapsed,
        "rtf": elapsed / (frames * 256 / 16000),
        # CPU seconds (all threads) per audio second: less sensitive to other load on the machine.
        "cpu_rtf": statistics.median(cpu_times) / (frames * 256 / 16000),
        "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_model_MB": base_rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.seconds, args.repeats)))
        return

    print(f"# CPU: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
          f"{args.seconds:g} s of 16 kHz audio, median of {args.repeats}")
    print(f"{'model':<18} {'threads':>7} {'params':>8} {'time s':>8} {'RTF':>7} {'CPU-s/s':>8} {'peak RSS MB':>12}")
    for name in args.models:
        for threads in args.threads:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", name, str(threads), "--seconds", str(args.seconds),
                 "--repeats", str(args.repeats)],
                capture_output=True, text=True, check=True,
                env=os.environ | {"OMP_NUM_THREADS": str(threads), "TRANSFORMERS_VERBOSITY": "error"},
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['model']:<18} {r['threads']:>7} {r['params_M']:>7.2f}M {r['seconds_compute']:>8.2f} "
                  f"{r['rtf']:>7.3f} {r['cpu_rtf']:>8.3f} {r['peak_rss_MB']:>12.0f}", flush=True)
    print(f"# load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
