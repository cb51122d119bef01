"""Baseline table: the embedded prosody engine, evaluated with ``promptevc evaluate``'s metrics.

    python bench/bench_baseline_prosody.py                          # synthesised inputs
    python bench/bench_baseline_prosody.py --inputs wavs/ --out /tmp/baseline
    python bench/bench_baseline_prosody.py --prompts "slightly sad" "very happy" "furious"

Inputs: audio files or folders given with ``--inputs``; otherwise a few English sentences
spoken by espeak-ng at two pitches (when the binary exists; then WER is meaningful) or, without
espeak-ng, source-filter speech from ``promptevc.utils.synth`` (WER then skipped).
Every input is converted with every (emotion, intensity) of ``--emotions`` x ``--intensities``
(labels, no prompt parsing) or with every ``--prompts`` text (parsed by the zero-shot parser;
the parsed emotion and intensity are what is evaluated). The outputs and a pairs.csv go to
``--out``, then the evaluation runs there and the table below is printed: the figures the
neural engine has to beat (and the changes it should at least match).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

SR = 16000
SENTENCES = (
    "please call stella and ask her to bring these things with her from the store",
    "the birch canoe slid on the smooth planks",
    "we will meet again tomorrow morning at nine",
)
TABLE_COLUMNS = [
    ("f0_shift_st", "F0 st", "{:+.2f}"),
    ("f0_range_ratio", "range x", "{:.2f}"),
    ("tempo_ratio", "tempo x", "{:.2f}"),
    ("energy_change_db", "energy dB", "{:+.1f}"),
    ("speaker_sim", "spk sim", "{:.3f}"),
    ("mcd_src_db", "MCD-src dB", "{:.2f}"),
    ("wer", "WER", "{:.2f}"),
    ("dnsmos_ovrl", "DNSMOS", "{:.2f}"),
]


def synth_inputs(folder: Path) -> tuple[list[Path], dict[str, str]]:
    """Source files in ``folder`` and their transcripts (empty without espeak-ng)."""
    from promptevc.audio import load_audio, write_audio

    folder.mkdir(parents=True, exist_ok=True)
    paths, texts = [], {}
    if shutil.which("espeak-ng"):
        for i, text in enumerate(SENTENCES):
            for voice, pitch in (("en-us", 35), ("en-us+f3", 60)):
                name = f"s{i}_{'low' if pitch < 50 else 'high'}"
                raw = folder / f"{name}_raw.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "140", "-w", str(raw), text],
                               check=True, capture_output=True)
                path = write_audio(folder / f"{name}.wav", load_audio(raw), SR, overwrite=True)
                raw.unlink()
                paths.append(path)
                texts[name] = text
    else:
        from promptevc.utils.synth import synth_speech

        for i, f0 in enumerate((110.0, 140.0, 200.0, 240.0)):
            path = folder / f"synth_{int(f0)}.wav"
            sf.write(path, synth_speech(f0, 3.0, SR, seed=i), SR)
            paths.append(path)
    return paths, texts


def collect_inputs(items: list[str]) -> list[Path]:
    exts = (".wav", ".flac", ".ogg", ".mp3")
    out: list[Path] = []
    for item in items:
        p = Path(item)
        out += sorted(q for q in p.rglob("*") if q.suffix.lower() in exts) if p.is_dir() else [p]
    return out


def fmt(summary_cell: dict | None, pattern: str) -> str:
    if not summary_cell:
        return "–"
    return pattern.format(summary_cell["mean"])


def print_table(summary: dict, seconds: float, n_inputs: int) -> None:
    header = ["emotion", "intensity", "n"] + [h for _, h, _ in TABLE_COLUMNS]
    rows = []
    for emo, levels in summary["per_emotion_intensity"].items():
        for level, agg in levels.items():
            label = "(source)" if emo == "unspecified" else emo
            rows.append([label, "" if level == "none" else level, str(agg["n"])] + [fmt(agg.get(k), p) for k, _, p in TABLE_COLUMNS])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    print(f"\nProsody-engine baseline ({n_inputs} inputs, {summary['n_ok'] - n_inputs} conversions, "
          f"{seconds:.0f} s; '(source)' = the unconverted inputs against themselves)")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    mono = summary["monotonicity_spearman"]
    if mono:
        keys = ["f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db"]
        print("\nIntensity monotonicity (Spearman rho, requested intensity vs measured change)")
        print("| emotion | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for emo, v in mono.items():
            print(f"| {emo} | " + " | ".join(f"{v[k]:+.2f}" if k in v else "–" for k in keys) + " |")
    if summary["n_failed"]:
        print(f"\n{summary['n_failed']} conversion(s) failed to evaluate: {summary['failed'][:3]}")


def _headline(summary: dict) -> dict:
    """Mean speaker similarity, WER and DNSMOS per emotion (the real-recording bounds)."""
    out = {}
    for emo, levels in summary["per_emotion_intensity"].items():
        for level, agg in levels.items():
            key = "source" if emo == "unspecified" else f"{emo}@{level}"
            out[key] = {k: round(agg[k]["mean"], 3) for k in ("speaker_sim", "wer", "dnsmos_ovrl") if agg.get(k)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", nargs="*", default=None, help="audio files or folders (default: synthesise)")
    parser.add_argument("--out", default=None, help="working folder (default: a temporary one, removed)")
    parser.add_argument("--emotions", nargs="+", default=["angry", "happy", "sad", "surprise"])
    parser.add_argument("--intensities", nargs="+", type=float, default=[0.3, 0.6, 0.9])
    parser.add_argument("--prompts", nargs="*", default=None, help="text prompts instead of labels")
    parser.add_argument("--max-inputs", type=int, default=None, help="use only the first N inputs")
    parser.add_argument("--asr", action=argparse.BooleanOptionalAction, default=True, help="WER (pocketsphinx)")
    parser.add_argument("--dnsmos", action=argparse.BooleanOptionalAction, default=True, help="DNSMOS")
    parser.add_argument("--profile", default="literature", help="prosody profile set: literature (default) or esd")
    args = parser.parse_args(argv)

    import torch

    from promptevc.api import Converter
    from promptevc.eval.pairs import Pair
    from promptevc.eval.runner import EvalOptions, evaluate

    torch.set_num_threads(1)
    tmp = None
    if args.out:
        work = Path(args.out)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="promptevc_baseline_")
        work = Path(tmp.name)
    try:
        if args.inputs:
            sources, texts = collect_inputs(args.inputs), {}
        else:
            sources, texts = synth_inputs(work / "src")
        sources = sources[: args.max_inputs] if args.max_inputs else sources
        if not sources:
            print("no input audio found", file=sys.stderr)
            return 2
        converter = Converter.load(engine="prosody")
        if hasattr(converter.engine, "profile"):
            converter.engine.profile = args.profile
        conditions = []  # (tag, prompt, emotion, intensity)
        if args.prompts:
            for i, prompt in enumerate(args.prompts):
                control = converter.control(prompt)
                conditions.append((f"p{i}", prompt, control.emotion, control.intensity))
        else:
            for emo in args.emotions:
                for x in args.intensities:
                    conditions.append((f"{emo}_{x:g}", None, emo, x))
        (work / "conv").mkdir(parents=True, exist_ok=True)
        # The unconverted sources against themselves: the floor of WER and DNSMOS for these inputs.
        pairs = [Pair(utt=f"{s.stem}__source", converted=s, source=s, text=texts.get(s.stem, "")) for s in sources]
        start = time.perf_counter()
        convert_s, audio_s = 0.0, 0.0
        for src in sources:
            for tag, prompt, emo, x in conditions:
                out = work / "conv" / f"{src.stem}__{tag}.wav"
                t0 = time.perf_counter()
                converter.convert_file(src, out, prompt=prompt, emotion=None if prompt else emo,
                                       intensity=None if prompt else x, overwrite=True)
                convert_s += time.perf_counter() - t0
                audio_s += sf.info(str(src)).duration
                pairs.append(Pair(utt=out.stem, converted=out, source=src, emotion=emo, intensity=x,
                                  text=texts.get(src.stem, "")))
        with open(work / "pairs.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["converted", "source", "emotion", "intensity", "utt", "text"])
            for p in pairs:
                w.writerow([p.converted, p.source, p.emotion, "" if math.isnan(p.intensity) else p.intensity,
                            p.utt, p.text])
        print(f"converted {len(pairs) - len(sources)} files in {convert_s:.1f} s (RTF {convert_s / max(audio_s, 1e-9):.3f})")
        options = EvalOptions(asr="pocketsphinx" if args.asr else None, dnsmos=args.dnsmos, progress=True)
        summary = evaluate(pairs, work / "eval", options)
        print_table(summary, time.perf_counter() - start, len(sources))
        print(json.dumps({"bench": "baseline_prosody", "profile": args.profile, "inputs": len(sources),
                          "per_emotion": _headline(summary)}))
        if args.asr and not texts:
            print("\n(WER is against the source's own recognition: no transcripts for these inputs)")
        if not tmp:
            print(f"\nfull report: {work / 'eval' / 'report.md'}")
        return 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
