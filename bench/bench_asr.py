"""WER/CER of the offline recognisers on real read speech and on the prosody engine's output.

    python bench/bench_asr.py                       # Debian's pocketsphinx-testdata clips
    python bench/bench_asr.py --data DIR            # another folder with *.wav and a transcription file
    python bench/bench_asr.py --asr pocketsphinx whisper-tiny-en --intensity 1.0 --threads 2

Clips: the 10 read-speech recordings with transcripts in Debian's ``pocketsphinx-testdata``
(``/usr/share/pocketsphinx/test/data``: 5 LibriVox sentences of *Sense and Sensibility*, 5
card names from the "cards" set), 16 kHz mono, 1.1-7.1 s, 45.6 s in all. Each clip is also
converted by the prosody engine for every emotion at ``--intensity`` and recognised again, with
the original transcript as the reference (so the figure is content preservation of the engine
as that recogniser hears it).

Figures per recogniser and condition: corpus WER and CER (errors summed over clips / reference
words or characters, both texts normalised by ``promptevc.eval.normalize``; for the original
clips also with only lower case and punctuation removed, to show what the normalisation does),
and the real-time factor (recognition wall time, and CPU time, over audio duration; one thread
unless ``--threads``; after a warm-up call). A final JSON line holds everything.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = Path("/usr/share/pocketsphinx/test/data")
EMOTIONS = ("angry", "happy", "sad", "surprise")
_LINE = re.compile(r"^\s*(?:<s>)?\s*(.*?)\s*(?:</s>)?\s*\(([^()]+)\)\s*$")


def read_clips(data: Path) -> list[tuple[str, Path, str]]:
    """``(id, wav path, transcript)`` for each wav named in a Sphinx ``*transcription`` file under ``data``."""
    clips = []
    for trans in sorted(data.rglob("*transcription")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            m = _LINE.match(line)
            if not m:
                continue
            text, utt = m.group(1), m.group(2)
            wav = trans.parent / f"{utt}.wav"
            if wav.is_file():
                clips.append((utt, wav, " ".join(text.split())))
    return clips


def corpus_rates(pairs: list[tuple[str, str]], basic: bool = False) -> tuple[float, float]:
    """Corpus WER and CER over ``(reference, hypothesis)`` pairs.

    ``basic``: only lower case and punctuation removed (no numbers, titles, contractions), to
    show what the English normalisation changes.
    """
    from promptevc.eval.metrics import edit_distance
    from promptevc.eval.normalize import normalize_basic, normalize_text

    we = wn = ce = cn = 0
    for ref, hyp in pairs:
        r, h = (normalize_basic(ref), normalize_basic(hyp)) if basic else (normalize_text(ref), normalize_text(hyp))
        we += edit_distance(r.split(), h.split())
        wn += len(r.split())
        ce += edit_distance(list(r), list(h))
        cn += len(r)
    return we / max(wn, 1), ce / max(cn, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder searched for *transcription files")
    parser.add_argument("--asr", nargs="+", default=["pocketsphinx", "whisper-tiny-en"], help="recognisers")
    parser.add_argument("--intensity", type=float, default=1.0, help="prosody engine intensity (default 1.0)")
    parser.add_argument("--threads", type=int, default=1, help="recogniser threads (default 1)")
    parser.add_argument("--beam", type=int, nargs="+", default=[5],
                        help="Whisper beam sizes to compare (default 5, what evaluate uses)")
    parser.add_argument("--no-convert", action="store_true", help="only the original clips")
    parser.add_argument("--show", action="store_true", help="print every hypothesis")
    args = parser.parse_args()

    from promptevc.audio import load_audio, resample
    from promptevc.eval.asr import load_recognizer

    clips = read_clips(args.data)
    if not clips:
        sys.exit(f"{args.data}: no clips with transcripts (apt-get install pocketsphinx-testdata)")
    audio = {utt: load_audio(path) for utt, path, _ in clips}
    total_s = sum(len(w) for w in audio.values()) / 16000
    print(f"{len(clips)} clips, {total_s:.1f} s of audio, from {args.data}")
    conditions = {"original": audio}
    if not args.no_convert:
        from promptevc.api import Converter

        conv = Converter.load()
        for emotion in EMOTIONS:
            out = {}
            for utt, wav in audio.items():
                y, sr = conv.convert(wav, 16000, emotion=emotion, intensity=args.intensity)
                out[utt] = resample(np.asarray(y, dtype=np.float32), sr, 16000)
            conditions[f"{emotion} {args.intensity:g}"] = out
    texts = {utt: text for utt, _, text in clips}
    results: dict[str, dict] = {}
    runs = [(name, None) for name in args.asr if "whisper" not in name]
    runs += [(name, beam) for name in args.asr if "whisper" in name for beam in args.beam]
    for asr_name, beam in runs:
        t0 = time.perf_counter()
        asr = load_recognizer(asr_name, num_threads=args.threads)
        load_s = time.perf_counter() - t0
        name = asr_name
        if beam is not None:
            asr.beam_size = beam
            name = f"{asr_name} (beam {beam})" if len(args.beam) > 1 or beam != 5 else asr_name
        asr.transcribe(next(iter(audio.values())))  # warm-up
        results[name] = {"load_s": round(load_s, 2)}
        for cond, waves in conditions.items():
            hyps, busy, cpu, dur = [], 0.0, 0.0, 0.0
            for utt, wav in waves.items():
                t0, c0 = time.perf_counter(), time.process_time()
                hyp = asr.transcribe(wav)
                busy += time.perf_counter() - t0
                cpu += time.process_time() - c0
                dur += len(wav) / 16000
                hyps.append((texts[utt], hyp))
                if args.show:
                    print(f"  [{name} | {cond}] {utt}: {hyp}")
            wer, cer = corpus_rates(hyps)
            results[name][cond] = {"wer": round(wer, 4), "cer": round(cer, 4), "rtf": round(busy / dur, 3),
                                   "cpu_rtf": round(cpu / dur, 3)}
            if cond == "original":
                results[name][cond]["wer_basic_norm"] = round(corpus_rates(hyps, basic=True)[0], 4)
    conds = list(conditions)
    print()
    print("| recogniser | " + " | ".join(f"WER {c}" for c in conds)
          + " | WER original, basic normalisation | RTF wall / CPU (original) |")
    print("|---|" + "---|" * (len(conds) + 2))
    for name, res in results.items():
        cells = [f"{100 * res[c]['wer']:.1f} %" for c in conds]
        print(f"| {name} | " + " | ".join(cells) + f" | {100 * res['original']['wer_basic_norm']:.1f} % | "
              f"{res['original']['rtf']:.2f} / {res['original']['cpu_rtf']:.2f} |")
    print()
    print("| recogniser | " + " | ".join(f"CER {c}" for c in conds) + " |")
    print("|---|" + "---|" * len(conds))
    for name, res in results.items():
        print(f"| {name} | " + " | ".join(f"{100 * res[c]['cer']:.1f} %" for c in conds) + " |")
    print(json.dumps({"clips": len(clips), "audio_s": round(total_s, 2), "threads": args.threads,
                      "intensity": args.intensity, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
