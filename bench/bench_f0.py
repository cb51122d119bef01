"""F0 trackers for the neural model's prosody normalisation: speed and gross errors on real speech.

The neural model normalises F0 with speaker statistics in training and adds them back at
inference; both sides must use one tracker (issue 11 item 3), and the inference side has to fit
the real-time budget (issue 13 item 5). This script compares, on the mel frame grid of the
default AudioConfig (16 kHz, hop 256 = 16 ms), every tracker :func:`promptevc.features.prosody.
extract_f0` offers plus Praat's autocorrelation tracker (``praat-parselmouth``, when importable):

- speed: real-time factor (wall time / audio time, best of ``--repeats``) on a 10 s input made
  by concatenating the clips, with ``--threads`` torch/BLAS threads (the trackers are single-threaded C);
- gross errors on real speech (the clips of Debian's ``pocketsphinx-testdata``, or ``--inputs``):
  there is no ground-truth F0, so the reference on each frame is the median of the trackers
  that call it voiced, on frames where a majority does. GPE = share of frames voiced by both
  the tracker and the reference where the tracker is more than 20 % off; VDE = share of frames
  where the tracker's voicing disagrees with the majority; octave = share of GPE frames within
  10 % of half or double the reference;
- the speaker statistics each tracker gives (:func:`promptevc.models.prosody.prosody_stats`:
  median log-F0 in Hz and the robust spread in semitones) over all clips, which is what the
  model actually sees.

Usage::

    python bench/bench_f0.py [--inputs WAV ...] [--repeats 3]

Prints a table and a final JSON line.
"""

from __future__ import annotations

import argparse
import glob
import json
import time
from pathlib import Path

import numpy as np

POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")


def default_inputs() -> list[Path]:
    wavs = sorted(Path(p) for p in glob.glob(str(POCKETSPHINX / "**" / "*.wav"), recursive=True))
    raws = [POCKETSPHINX / n for n in ("goforward.raw", "numbers.raw", "something.raw")]
    return wavs + [p for p in raws if p.is_file()]


def read(path: Path) -> np.ndarray:
    from promptevc.audio import resample

    if path.suffix == ".raw":  # pocketsphinx raw: 16 kHz, 16-bit little-endian mono
        return (np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0)
    import soundfile as sf

    wav, sr = sf.read(path, dtype="float32", always_2d=True)
    return resample(wav.mean(1), sr, 16000)


def praat_f0(wav: np.ndarray, audio, f0_min: float = 50.0, f0_max: float = 800.0) -> np.ndarray:
    import parselmouth

    snd = parselmouth.Sound(wav.astype(np.float64), sampling_frequency=audio.sample_rate)
    step = audio.hop_length / audio.sample_rate
    pitch = snd.to_pitch_ac(time_step=step, pitch_floor=f0_min, pitch_ceiling=f0_max)
    times = np.arange(audio.num_frames(len(wav))) * step
    f0 = np.array([pitch.get_value_at_time(t) for t in times], dtype=np.float64)
    return np.nan_to_num(f0, nan=0.0).astype(np.float32)


def trackers() -> dict:
    from promptevc.features.prosody import extract_f0

    out = {name: (lambda w, a, m=name: extract_f0(w, a, method=m)[0]) for name in ("dio", "harvest", "pyin")}
    try:
        import parselmouth  # noqa: F401

        out["praat"] = praat_f0
    except ImportError:
        print("praat-parselmouth not importable: Praat's tracker is left out")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", nargs="*", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the speed-test input")
    args = parser.parse_args()

    import os

    from promptevc.config import AudioConfig
    from promptevc.models.prosody import prosody_stats

    audio = AudioConfig()
    inputs = args.inputs or default_inputs()
    if not inputs:
        raise SystemExit("no inputs: install pocketsphinx-testdata or pass --inputs")
    clips = [read(p) for p in inputs]
    total_s = sum(len(c) for c in clips) / audio.sample_rate
    print(f"{len(clips)} clips, {total_s:.1f} s of real speech; load average {os.getloadavg()[0]:.1f}")
    fns = trackers()

    long = np.concatenate(clips)
    n = int(args.seconds * audio.sample_rate)
    long = np.tile(long, int(np.ceil(n / len(long))))[:n]
    rtf = {}
    for name, fn in fns.items():
        reps = 1 if name == "pyin" else args.repeats
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(long, audio)
            best = min(best, time.perf_counter() - t0)
        rtf[name] = best / args.seconds

    names = list(fns)
    gpe = {k: [0, 0] for k in names}
    vde = {k: [0, 0] for k in names}
    octave = {k: 0 for k in names}
    per_tracker_f0 = {k: [] for k in names}
    for wav in clips:
        f0s = {k: fns[k](wav, audio) for k in names}
        m = min(len(v) for v in f0s.values())
        stack = np.stack([f0s[k][:m] for k in names])  # (K, F)
        voiced = stack > 0
        majority = voiced.sum(0) * 2 > len(names)
        ref = np.array([np.median(stack[voiced[:, i], i]) if majority[i] else 0.0 for i in range(m)])
        for j, k in enumerate(names):
            per_tracker_f0[k].append(stack[j])
            both = voiced[j] & majority
            err = np.abs(stack[j][both] / ref[both] - 1.0) > 0.2
            gpe[k][0] += int(err.sum())
            gpe[k][1] += int(both.sum())
            ratio = stack[j][both][err] / ref[both][err]
            octave[k] += int((np.abs(ratio - 0.5) < 0.05).sum() + (np.abs(ratio - 2.0) < 0.2).sum())
            vde[k][0] += int((voiced[j] != majority).sum())
            vde[k][1] += m

    results = {}
    print(f"\n{'tracker':8s} {'RTF':>7s} {'GPE %':>7s} {'octave %':>9s} {'VDE %':>7s} {'median Hz':>10s} {'spread st':>10s}")
    for k in names:
        f0 = np.concatenate(per_tracker_f0[k])
        stats = prosody_stats(f0, np.zeros_like(f0))
        g = 100.0 * gpe[k][0] / max(gpe[k][1], 1)
        o = 100.0 * octave[k] / max(gpe[k][1], 1)
        v = 100.0 * vde[k][0] / max(vde[k][1], 1)
        med_hz, spread_st = float(np.exp(stats[0])), float(stats[1] * 12 / np.log(2))
        results[k] = {"rtf": round(rtf[k], 4), "gpe_pct": round(g, 2), "octave_pct": round(o, 2), "vde_pct": round(v, 2),
                      "median_hz": round(med_hz, 1), "spread_st": round(spread_st, 2)}
        print(f"{k:8s} {rtf[k]:7.4f} {g:7.2f} {o:9.2f} {v:7.2f} {med_hz:10.1f} {spread_st:10.2f}")
    print(json.dumps({"bench": "f0", "clips": len(clips), "seconds": round(total_s, 1), "trackers": results}))


if __name__ == "__main__":
    main()
