"""Evaluate a list of pairs: per-utterance metrics, then the CSV, summary, report and plots.

The models (GE2E, recogniser, DNSMOS, emotion classifier) are loaded once before the loop, so a
missing package or release fails at once with its fix; after that a pair that cannot be
evaluated (unreadable file, too short, ...) is logged, gets a row with its ``error`` and empty
metrics, and the run goes on.
"""

from __future__ import annotations

import csv
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from promptevc.errors import ConfigError, ModelLoadError, PromptEVCError
from promptevc.eval import metrics as M
from promptevc.eval.pairs import Pair
from promptevc.prompt.control import EMOTIONS

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
CACHE_ENTRIES = 1024  # ~4 entries per source file, a few hundred KB each

# utterances.csv columns, in order; p_<emotion> posteriors are appended when a classifier runs.
COLUMNS = [
    "utt", "emotion", "intensity", "converted", "source", "reference", "duration_s",
    "mcd_db", "f0_rmse", "log_f0_rmse_cents", "vuv_agreement", "dur_diff_s",
    "f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db", "mcd_src_db",
    "speaker_sim", "speaker_sim_ref",
    "wer", "cer", "asr_hyp", "asr_ref", "asr_ref_from",
    "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl",
    "pred_emotion", "emo_correct", "emo_posterior",
    "error",
]
# Numeric metrics that are aggregated (mean/std/median) in the summary.
NUMERIC = [
    "mcd_db", "f0_rmse", "log_f0_rmse_cents", "vuv_agreement", "dur_diff_s",
    "f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db", "mcd_src_db",
    "speaker_sim", "speaker_sim_ref", "wer", "cer", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl",
    "emo_correct", "emo_posterior",
]
# Measured changes whose rank correlation with the requested intensity is reported.
MONOTONIC = ["f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db", "emo_posterior"]


@dataclass
class EvalOptions:
    """What to compute. ``asr`` is ``pocketsphinx``, a transformers model id, or None (off)."""

    asr: str | None = "pocketsphinx"
    dnsmos: bool = True
    speaker: bool = True
    classifier: str | None = None
    transcripts: dict[str, str] = field(default_factory=dict)
    f0_method: str = "dio"
    device: str = "cpu"
    plots: bool = True
    n_contour_plots: int = 4
    progress: bool = True


class EmotionClassifier:
    """An evaluator release (kind "evaluator", helper D2's ``promptevc.models.evaluator``).

    ``posteriors(wav (T,) 16 kHz) -> (5,)`` softmax over :data:`EMOTIONS`.
    """

    def __init__(self, path: str, device: str = "cpu") -> None:
        try:
            from promptevc.models.evaluator import load_evaluator
        except ImportError as exc:
            raise ModelLoadError(
                f"--classifier {path}: this installation has no emotion evaluator module "
                f"(promptevc.models.evaluator: {exc}); update promptevc or drop --classifier"
            ) from exc
        import torch

        from promptevc.config import AudioConfig
        from promptevc.features.mel import MelSpectrogram

        self.path = path
        self.model = load_evaluator(path, device=device)
        self.device = device
        audio = getattr(self.model, "audio", None)
        self.audio = audio if isinstance(audio, AudioConfig) else AudioConfig()
        self.mel = MelSpectrogram(self.audio).to(device)
        self._torch = torch

    def posteriors(self, wav: np.ndarray) -> np.ndarray:
        torch = self._torch
        from promptevc.audio import resample

        x = resample(np.asarray(wav, dtype=np.float32), SAMPLE_RATE, self.audio.sample_rate)
        with torch.no_grad():
            mel = self.mel(torch.from_numpy(x).to(self.device)[None])  # (1, n_mels, F)
            lens = torch.tensor([mel.shape[-1]], device=self.device)
            out = self.model(mel, lens)
            logits = out["logits"] if isinstance(out, dict) else out
            post = torch.softmax(logits.float(), dim=-1)[0].cpu().numpy()
        if post.shape != (len(EMOTIONS),):
            raise ModelLoadError(
                f"--classifier {self.path}: gives {post.shape[-1]} classes, expected {len(EMOTIONS)} "
                f"({', '.join(EMOTIONS)}); use an evaluator release of this toolkit"
            )
        return post


class Evaluator:
    """Holds the loaded models and caches per-source work; :meth:`evaluate_pair` -> row dict."""

    def __init__(self, options: EvalOptions) -> None:
        self.opts = options
        self.speaker = None
        self.asr = None
        self.dnsmos = None
        self.classifier = None
        if options.speaker:
            from promptevc.models.ge2e import load_ge2e

            self.speaker = load_ge2e(options.device)
        if options.asr:
            from promptevc.eval.asr import load_recognizer

            self.asr = load_recognizer(options.asr, device=options.device)
        if options.dnsmos:
            from promptevc.eval.quality import DNSMOSScorer

            self.dnsmos = DNSMOSScorer()
        if options.classifier:
            self.classifier = EmotionClassifier(options.classifier, device=options.device)
        # Per-source work (audio, analysis, embedding, recognition) is reused across the pairs that
        # share a source; bounded so a large test set does not keep every file in memory.
        self._cache: OrderedDict[tuple[str, str], object] = OrderedDict()
        # F0 tracks kept for the contour plot: up to n_contour_plots per emotion, picked from later.
        self.contours: list[dict] = []

    def _cached(self, kind: str, path: Path, compute):
        key = (kind, str(path.resolve()))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = self._cache[key] = compute()
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return value

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        from promptevc.audio import load_audio

        return load_audio(path)

    def evaluate_pair(self, pair: Pair) -> dict:
        """All metrics for one pair (NaN / "" where not computable)."""
        opts = self.opts
        row: dict = {c: "" for c in COLUMNS}
        row.update(utt=pair.utt, emotion=pair.emotion, intensity=pair.intensity,
                   converted=str(pair.converted), source=str(pair.source),
                   reference=str(pair.reference) if pair.reference else "")
        conv_wav = self._load(pair.converted)
        src_wav = self._cached("wav", pair.source, lambda: self._load(pair.source))
        row["duration_s"] = len(conv_wav) / SAMPLE_RATE
        conv = M.analyse(conv_wav, SAMPLE_RATE, opts.f0_method)
        src = self._cached("analysis", pair.source, lambda: M.analyse(src_wav, SAMPLE_RATE, opts.f0_method))
        row.update(M.source_metrics(src, conv))
        ref_wav = None
        if pair.reference:
            ref_wav = self._cached("wav", pair.reference, lambda: self._load(pair.reference))
            ref = self._cached("analysis", pair.reference,
                               lambda: M.analyse(ref_wav, SAMPLE_RATE, opts.f0_method))
            row.update(M.reference_metrics(ref, conv))
        same_emotion = [c for c in self.contours if c["emotion"] == pair.emotion]
        if len(same_emotion) < opts.n_contour_plots and pair.converted.resolve() != pair.source.resolve():
            self.contours.append({"utt": pair.utt, "emotion": pair.emotion, "intensity": pair.intensity,
                                  "src_t": src.times, "src_f0": src.f0, "conv_t": conv.times,
                                  "conv_f0": conv.f0})
        if self.speaker is not None:
            e_conv = self.speaker.embed_utterance(conv_wav)
            e_src = self._cached("spk", pair.source, lambda: self.speaker.embed_utterance(src_wav))
            row["speaker_sim"] = M.cosine(e_conv, e_src)
            if ref_wav is not None:
                e_ref = self._cached("spk", pair.reference, lambda: self.speaker.embed_utterance(ref_wav))
                row["speaker_sim_ref"] = M.cosine(e_conv, e_ref)
        if self.asr is not None:
            self._content(pair, conv_wav, src_wav, row)
        if self.dnsmos is not None:
            scores = self.dnsmos.score(conv_wav)
            row.update({k: v for k, v in scores.items() if k in row})
        if self.classifier is not None:
            post = self.classifier.posteriors(conv_wav)
            for name, p in zip(EMOTIONS, post, strict=True):
                row[f"p_{name}"] = float(p)
            row["pred_emotion"] = EMOTIONS[int(np.argmax(post))]
            if pair.emotion:
                row["emo_correct"] = float(row["pred_emotion"] == pair.emotion)
                row["emo_posterior"] = float(post[EMOTIONS.index(pair.emotion)])
        return row

    def _content(self, pair: Pair, conv_wav: np.ndarray, src_wav: np.ndarray, row: dict) -> None:
        text = pair.text or self.opts.transcripts.get(pair.utt) or self.opts.transcripts.get(pair.source.stem)
        if text:
            row["asr_ref_from"] = "transcript"
        else:
            text = self._cached("asr", pair.source, lambda: self.asr.transcribe(src_wav))
            row["asr_ref_from"] = "source_asr"
        hyp = self.asr.transcribe(conv_wav)
        row["asr_ref"], row["asr_hyp"] = text, hyp
        row["wer"] = M.error_rate(text, hyp, "word")
        row["cer"] = M.error_rate(text, hyp, "char")


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.floating)) and math.isfinite(float(v))


def _format(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}" if math.isfinite(float(v)) else ""
    return "" if v is None else str(v)


def write_csv(rows: list[dict], path: Path) -> list[str]:
    """Write ``rows`` to ``path`` (NaN as empty cells); returns the column order used."""
    extra = sorted({k for r in rows for k in r} - set(COLUMNS))
    columns = COLUMNS[:-1] + extra + ["error"]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_format(r.get(c, "")) for c in columns])
    tmp.replace(path)
    return columns


def pick_contours(contours: list[dict], n: int) -> list[dict]:
    """Up to ``n`` contours, taking emotions in turn so the plot shows each requested emotion."""
    by_emotion: dict[str, list[dict]] = {}
    for c in contours:
        by_emotion.setdefault(c["emotion"], []).append(c)
    picked: list[dict] = []
    depth = 0
    while len(picked) < n and any(depth < len(v) for v in by_emotion.values()):
        picked += [v[depth] for v in by_emotion.values() if depth < len(v)][: n - len(picked)]
        depth += 1
    return picked


def evaluate(pairs: list[Pair], out_dir: str | Path, options: EvalOptions | None = None) -> dict:
    """Evaluate ``pairs`` into ``out_dir``: utterances.csv, summary.json, report.md, *.png.

    Returns the summary dict. Raises ModelLoadError before any work when a model is missing.
    """
    from tqdm import tqdm

    from promptevc.eval.report import summarize, write_report, write_summary

    options = options or EvalOptions()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: exists and is not a folder; choose another --out")
    missing = [p for p in pairs if not p.converted.is_file()]
    if len(missing) == len(pairs):
        raise ConfigError(f"{missing[0].converted}: no such file (none of the {len(pairs)} converted files exist)")
    evaluator = Evaluator(options)
    rows = []
    for pair in tqdm(pairs, desc="evaluate", unit="utt", disable=not options.progress):
        try:
            row = evaluator.evaluate_pair(pair)
        except (PromptEVCError, ValueError, RuntimeError, OSError) as exc:
            message = str(exc).split("\n")[0]
            logger.warning("%s: skipped (%s)", pair.utt, message)
            row = {c: "" for c in COLUMNS}
            row.update(utt=pair.utt, emotion=pair.emotion, intensity=pair.intensity,
                       converted=str(pair.converted), source=str(pair.source), error=message)
        rows.append(row)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out_dir / "utterances.csv")
    settings = {
        "analysis": (f"WORLD {options.f0_method.upper()} F0 and CheapTrick envelope at "
                     f"{M.FRAME_PERIOD_MS:g} ms; MCD on mel-cepstra c1..c{M.MCEP_ORDER} "
                     "(pyworld.code_spectral_envelope), 10/ln10*sqrt(2*sum), DTW after trimming "
                     "leading/trailing non-speech"),
        "f0_method": options.f0_method,
        "speaker_encoder": "GE2E (resemblyzer pretrained.pt)" if options.speaker else None,
        "asr": options.asr,
        "dnsmos": "speechmos DNSMOS (sig_bak_ovr.onnx)" if options.dnsmos else None,
        "classifier": options.classifier,
    }
    summary = summarize(rows, settings)
    plots = []
    if options.plots:
        from promptevc.eval.plots import plot_distributions, plot_f0_contours

        contours = pick_contours(evaluator.contours, options.n_contour_plots)
        if contours:
            plots.append(plot_f0_contours(contours, out_dir / "f0_contours.png"))
        ok_rows = [r for r in rows if not r.get("error")]
        if ok_rows:
            plots.append(plot_distributions(ok_rows, out_dir / "distributions.png"))
    summary["plots"] = [p.name for p in plots if p is not None]
    write_summary(summary, out_dir / "summary.json")
    write_report(summary, out_dir / "report.md")
    return summary
