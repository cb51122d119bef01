"""Vocoder speed on this CPU: real-time factor and peak memory for 10 s of audio.

Models (random weights; speed does not depend on them): our HiFi-GAN V1 (the architecture of
hifigan-universal / hifigan-ljspeech) and V3 generators (weight norm removed, as loaded for
inference), our Vocos-style generator (ConvNeXt + iSTFT head) at the paper's size (``base``)
and at 4 x 256 (``small``), and transformers' SpeechT5HifiGan with its default config (the
architecture of microsoft/speecht5_hifigan), which is a 16 kHz model and so always runs at
16 kHz; the others run at ``--sample-rate`` (default 22 050 Hz, the hifigan22k preset; the
cost per audio second scales with the frame rate, so 16 kHz costs 0.73 times as much).
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

MODELS = ("hifigan-v1", "hifigan-v3", "vocos-base", "vocos-small", "speecht5-hifigan")
HOP = 256


def build(name: str):
    """(module taking mel (1, 80, F), parameter count)."""
    import torch

    if name.startswith("hifigan-"):
        from promptevc.models.vocoder.hifigan import HiFiGANGenerator, hifigan_preset

        model = HiFiGANGenerator(hifigan_preset(name.split("-")[1]), 80).eval()

        def run(mel):
            return model(mel)

    elif name.startswith("vocos-"):
        from promptevc.models.vocoder.vocos import VocosGenerator, vocos_preset

        model = VocosGenerator(vocos_preset(name.split("-")[1]), 80, center=False).eval()

        def run(mel):
            return model(mel)

    else:
        from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

        model = SpeechT5HifiGan(SpeechT5HifiGanConfig()).eval()

        def run(mel):
            return model(mel.transpose(1, 2))

    torch.manual_seed(0)
    return run, sum(p.numel() for p in model.parameters())


def model_rate(name: str, sample_rate: int) -> int:
    return 16000 if name == "speecht5-hifigan" else sample_rate


def worker(name: str, threads: int, seconds: float, repeats: int, sample_rate: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    base_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run, params = build(name)
    rate = model_rate(name, sample_rate)
    frames = int(seconds * rate / HOP)
    mel = torch.randn(1, 80, frames) - 5.0
    times, cpu_times = [], []
    with torch.inference_mode():
        run(mel[:, :, :63])  # warm-up (allocator, kernels)
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            wav = run(mel)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    assert wav.shape[-1] == frames * HOP
    elapsed = statistics.median(times)
    audio_s = frames * HOP / rate
    return {
        "model": name,
        "threads": threads,
        "sample_rate": rate,
        "params_M": params / 1e6,
        "seconds_audio": audio_s,
        "seconds_compute": elapsed,
        "best_seconds_compute": min(times),
        "rtf": elapsed / audio_s,
        "best_rtf": min(times) / audio_s,
        # CPU seconds (all threads) per audio second: less sensitive to other load on the machine.
        "cpu_rtf": statistics.median(cpu_times) / audio_s,
        "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_model_MB": base_rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample-rate", type=int, default=22050,
                        help="audio rate of every model but SpeechT5 (16 kHz only); default %(default)s")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.seconds, args.repeats,
                                args.sample_rate)))
        return

    print(f"# CPU: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
          f"{args.seconds:g} s of audio, median (and best) of {args.repeats}")
    print(f"{'model':<18} {'rate':>6} {'threads':>7} {'params':>8} {'time s':>8} {'RTF':>7} {'best RTF':>8} "
          f"{'CPU-s/s':>8} {'peak RSS MB':>12}")
    results = []
    for name in args.models:
        for threads in args.threads:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", name, str(threads), "--seconds", str(args.seconds),
                 "--repeats", str(args.repeats), "--sample-rate", str(args.sample_rate)],
                capture_output=True, text=True, check=True,
                env=os.environ | {"OMP_NUM_THREADS": str(threads), "TRANSFORMERS_VERBOSITY": "error"},
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"{r['model']:<18} {r['sample_rate']:>6} {r['threads']:>7} {r['params_M']:>7.2f}M "
                  f"{r['seconds_compute']:>8.2f} {r['rtf']:>7.3f} {r['best_rtf']:>8.3f} {r['cpu_rtf']:>8.3f} "
                  f"{r['peak_rss_MB']:>12.0f}", flush=True)
    # Speed relative to HiFi-GAN V1 (hifigan-universal) at the same thread count, best runs.
    ref = {r["threads"]: r["best_rtf"] for r in results if r["model"] == "hifigan-v1"}
    if ref:
        print("# speed-up over hifigan-v1 (best runs): " + ", ".join(
            f"{r['model']}@{r['threads']}t x{ref[r['threads']] / r['best_rtf']:.1f}"
            for r in results if r["threads"] in ref and r["model"] != "hifigan-v1"))
    print(f"# load average {os.getloadavg()[0]:.1f} at end")
    print(json.dumps({"bench": "vocoder_speed", "seconds": args.seconds, "results": results}))


if __name__ == "__main__":
    main()
