"""Evaluate a list of pairs: per-utterance metrics, then the CSV, summary, report and plots.

Work is grouped by source file: the source is read, analysed (WORLD), embedded (GE2E),
recognised and scored (DNSMOS, classifier) once per group however many conversions it pairs
with, and the group's clips are scored by DNSMOS in batched ONNX calls. With ``nj`` > 1 the
groups are spread over that many worker processes (spawned, one thread each unless ``threads``
says otherwise), each loading every model once; jobs of fewer than ``MIN_PAIRS_PER_WORKER``
pairs per worker use fewer workers (a worker's start costs about four utterances). Models are checked before any work, so a
missing package or release fails at once with its fix; after that a pair that cannot be
evaluated (unreadable file, too short, ...) is logged, gets a row with its ``error`` and empty
metrics, and the run goes on.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from promptevc.errors import ConfigError, ModelLoadError, PromptEVCError
from promptevc.eval import metrics as M
from promptevc.eval.pairs import Pair
from promptevc.prompt.control import EMOTIONS

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MAX_GROUP = 16  # pairs per work unit: a source with more conversions is split (and re-analysed)
# Starting a worker (imports, models) costs a few seconds, about as much as evaluating four
# utterances: smaller jobs run in this process.
MIN_PAIRS_PER_WORKER = 4

# utterances.csv columns, in order; p_<emotion> posteriors are appended when a classifier runs.
COLUMNS = [
    "utt", "emotion", "intensity", "converted", "source", "reference", "duration_s",
    "mcd_db", "f0_rmse", "log_f0_rmse_cents", "vuv_agreement", "dur_diff_s",
    "f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db", "tilt_change_db", "pause_stretch",
    "mcd_src_db",
    "f0_median_hz", "src_f0_median_hz", "f0_span_st", "src_f0_span_st", "speech_s", "src_speech_s",
    "level_db", "src_level_db", "spectral_balance_db", "src_spectral_balance_db",
    "speaker_sim", "speaker_sim_ref",
    "wer", "cer", "src_wer", "src_cer", "asr_hyp", "asr_ref", "asr_ref_from",
    "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "src_dnsmos_sig", "src_dnsmos_bak", "src_dnsmos_ovrl",
    "pred_emotion", "emo_correct", "emo_posterior", "src_pred_emotion", "src_emo_correct", "src_emo_posterior",
    "error",
]
# Numeric metrics that are aggregated (mean/std/median) in the summary.
NUMERIC = [
    "mcd_db", "f0_rmse", "log_f0_rmse_cents", "vuv_agreement", "dur_diff_s",
    "f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db", "tilt_change_db", "pause_stretch",
    "mcd_src_db",
    "f0_median_hz", "src_f0_median_hz", "f0_span_st", "src_f0_span_st", "speech_s", "src_speech_s",
    "level_db", "src_level_db", "spectral_balance_db", "src_spectral_balance_db",
    "speaker_sim", "speaker_sim_ref", "wer", "cer", "src_wer", "src_cer",
    "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "src_dnsmos_sig", "src_dnsmos_bak", "src_dnsmos_ovrl",
    "emo_correct", "emo_posterior", "src_emo_correct", "src_emo_posterior",
]
# Measured changes whose rank correlation with the requested intensity is reported.
MONOTONIC = ["f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db", "tilt_change_db",
             "emo_posterior"]
# (converted metric, its source baseline): what the conversion did to an absolute measure.
BASELINES = [
    ("dnsmos_ovrl", "src_dnsmos_ovrl"), ("wer", "src_wer"), ("cer", "src_cer"),
    ("emo_posterior", "src_emo_posterior"), ("emo_correct", "src_emo_correct"),
    ("f0_median_hz", "src_f0_median_hz"), ("f0_span_st", "src_f0_span_st"), ("speech_s", "src_speech_s"),
    ("level_db", "src_level_db"), ("spectral_balance_db", "src_spectral_balance_db"),
]


def default_jobs() -> int:
    """Worker processes when ``--nj`` is not given: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


@dataclass
class EvalOptions:
    """What to compute and how.

    ``asr``: ``auto`` (Whisper tiny.en when installed, else pocketsphinx), a recogniser name
    (:mod:`promptevc.eval.asr`) or None (off); ``language`` of the speech and transcripts;
    ``dnsmos_windows``: ``reference`` or ``single`` (:mod:`promptevc.eval.quality`); ``nj``
    worker processes; ``threads`` per worker for the models (0: CPUs / nj); ``control_rows``:
    the neural engine's control metrics as ``{"metric", "value"}`` rows, shown in the report.
    """

    asr: str | None = "auto"
    language: str = "en"
    dnsmos: bool = True
    dnsmos_windows: str = "single"
    speaker: bool = True
    classifier: str | None = None
    transcripts: dict[str, str] = field(default_factory=dict)
    f0_method: str = "dio"
    device: str = "cpu"
    plots: bool = True
    n_contour_plots: int = 4
    progress: bool = True
    nj: int = 1
    threads: int = 0
    control_rows: list[dict] = field(default_factory=list)


class EmotionClassifier:
    """An evaluator release (kind "evaluator", :mod:`promptevc.models.evaluator`).

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
        with torch.inference_mode():
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


def _threads(options: EvalOptions) -> int:
    if options.threads > 0:
        return options.threads
    return max(1, default_jobs() // max(1, options.nj))


def check_options(options: EvalOptions) -> None:
    """Cheap checks that the requested models can be loaded (before workers start)."""
    import importlib.util

    from promptevc.eval.asr import load_recognizer, resolve_asr_name

    if options.asr:
        name = resolve_asr_name(options.asr, options.language)
        if name in ("pocketsphinx", "whisper-tiny-en") or name.startswith("faster-whisper:"):
            load_recognizer(name, language=options.language)  # small (< 0.5 s) and the only exact check
        options.asr = name
    if options.dnsmos:
        for pkg in ("speechmos", "onnxruntime"):
            if importlib.util.find_spec(pkg) is None:
                raise ModelLoadError(f"DNSMOS needs '{pkg}'; pip install speechmos onnxruntime (or use --no-dnsmos)")
    if options.speaker:
        from promptevc.models.ge2e import resemblyzer_weights_path

        resemblyzer_weights_path()
    if options.classifier and not Path(options.classifier).exists():
        from promptevc.hub import looks_like_repo_id

        if not looks_like_repo_id(options.classifier):
            raise ModelLoadError(f"--classifier {options.classifier}: no such release folder")


class Evaluator:
    """Holds the loaded models; :meth:`evaluate_group` -> one row dict per pair."""

    def __init__(self, options: EvalOptions) -> None:
        self.opts = options
        self.speaker = None
        self.asr = None
        self.dnsmos = None
        self.classifier = None
        threads = _threads(options)
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:  # pragma: no cover - torch is a core dependency
            pass
        if options.speaker:
            from promptevc.models.ge2e import load_ge2e

            self.speaker = load_ge2e(options.device)
        if options.asr:
            from promptevc.eval.asr import load_recognizer

            self.asr = load_recognizer(options.asr, device=options.device, language=options.language,
                                       num_threads=threads)
        if options.dnsmos:
            from promptevc.eval.quality import DNSMOSScorer

            self.dnsmos = DNSMOSScorer(num_threads=threads, windows=options.dnsmos_windows)
        if options.classifier:
            self.classifier = EmotionClassifier(options.classifier, device=options.device)

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        from promptevc.audio import load_audio

        return load_audio(path)

    def _transcript(self, pair: Pair) -> str:
        t = self.opts.transcripts
        return pair.text or t.get(pair.utt) or t.get(pair.source.stem) or ""

    def _source(self, source: Path) -> dict:
        """Everything measured on a source once: audio, analysis, embedding, recognition, scores."""
        opts = self.opts
        wav = self._load(source)
        info: dict = {"wav": wav, "analysis": M.analyse(wav, SAMPLE_RATE, opts.f0_method)}
        info["describe"] = M.describe_analysis(info["analysis"])
        if self.speaker is not None:
            info["spk"] = self.speaker.embed_utterance(wav)
        if self.asr is not None:
            info["hyp"] = self.asr.transcribe(wav)
        if self.classifier is not None:
            info["post"] = self.classifier.posteriors(wav)
        return info

    def evaluate_group(self, pairs: list[Pair]) -> list[dict]:
        """Rows for ``pairs`` that share one source (NaN / "" where not computable)."""
        rows = [_empty_row(p) for p in pairs]
        try:
            src = self._source(pairs[0].source)
        except (PromptEVCError, ValueError, RuntimeError, OSError) as exc:
            return [_failed(p, exc) for p in pairs]
        refs: dict[str, tuple] = {}
        convs: list[np.ndarray | None] = []
        for pair, row in zip(pairs, rows, strict=True):
            try:
                conv_wav = self._load(pair.converted)
                self._pair_metrics(pair, row, conv_wav, src, refs)
                convs.append(conv_wav)
            except (PromptEVCError, ValueError, RuntimeError, OSError) as exc:
                row.clear()
                row.update(_failed(pair, exc))
                convs.append(None)
        if self.dnsmos is not None:
            ok = [i for i, w in enumerate(convs) if w is not None]
            try:
                scores = self.dnsmos.score_many([src["wav"]] + [convs[i] for i in ok])
            except (ValueError, RuntimeError) as exc:
                for i in ok:
                    rows[i].clear()
                    rows[i].update(_failed(pairs[i], exc))
            else:
                for i, sc in zip(ok, scores[1:], strict=True):
                    rows[i].update({k: v for k, v in sc.items() if k in rows[i]})
                    rows[i].update({f"src_{k}": v for k, v in scores[0].items() if f"src_{k}" in rows[i]})
        return rows

    def _pair_metrics(self, pair: Pair, row: dict, conv_wav: np.ndarray, src: dict, refs: dict) -> None:
        opts = self.opts
        row["duration_s"] = len(conv_wav) / SAMPLE_RATE
        conv = M.analyse(conv_wav, SAMPLE_RATE, opts.f0_method)
        src_an = src["analysis"]
        row.update(M.source_metrics(src_an, conv))
        row.update(M.describe_analysis(conv))
        row.update({f"src_{k}": v for k, v in src["describe"].items()})
        ref_wav = None
        if pair.reference:
            key = str(pair.reference)
            if key not in refs:
                ref_wav = self._load(pair.reference)
                refs[key] = (ref_wav, M.analyse(ref_wav, SAMPLE_RATE, opts.f0_method), None)
            ref_wav, ref_an, _ = refs[key]
            row.update(M.reference_metrics(ref_an, conv))
        if pair.converted.resolve() != pair.source.resolve():
            row["_contour"] = {"utt": pair.utt, "emotion": pair.emotion, "intensity": pair.intensity,
                               "src_t": src_an.times, "src_f0": src_an.f0, "conv_t": conv.times, "conv_f0": conv.f0}
        if self.speaker is not None:
            e_conv = self.speaker.embed_utterance(conv_wav)
            row["speaker_sim"] = M.cosine(e_conv, src["spk"])
            if ref_wav is not None:
                key = str(pair.reference)
                if refs[key][2] is None:
                    refs[key] = (*refs[key][:2], self.speaker.embed_utterance(ref_wav))
                row["speaker_sim_ref"] = M.cosine(e_conv, refs[key][2])
        if self.asr is not None:
            self._content(pair, conv_wav, src, row)
        if self.classifier is not None:
            post = self.classifier.posteriors(conv_wav)
            for name, p in zip(EMOTIONS, post, strict=True):
                row[f"p_{name}"] = float(p)
            row["pred_emotion"] = EMOTIONS[int(np.argmax(post))]
            row["src_pred_emotion"] = EMOTIONS[int(np.argmax(src["post"]))]
            if pair.emotion in EMOTIONS:
                k = EMOTIONS.index(pair.emotion)
                row["emo_correct"] = float(row["pred_emotion"] == pair.emotion)
                row["emo_posterior"] = float(post[k])
                row["src_emo_correct"] = float(row["src_pred_emotion"] == pair.emotion)
                row["src_emo_posterior"] = float(src["post"][k])

    def _content(self, pair: Pair, conv_wav: np.ndarray, src: dict, row: dict) -> None:
        lang = self.opts.language
        text = self._transcript(pair)
        if text:
            row["asr_ref_from"] = "transcript"
            row["src_wer"] = M.error_rate(text, src["hyp"], "word", lang)
            row["src_cer"] = M.error_rate(text, src["hyp"], "char", lang)
        else:
            text = src["hyp"]
            row["asr_ref_from"] = "source_asr"
        hyp = self.asr.transcribe(conv_wav)
        row["asr_ref"], row["asr_hyp"] = text, hyp
        row["wer"] = M.error_rate(text, hyp, "word", lang)
        row["cer"] = M.error_rate(text, hyp, "char", lang)


def _empty_row(pair: Pair) -> dict:
    row: dict = {c: "" for c in COLUMNS}
    row.update(utt=pair.utt, emotion=pair.emotion, intensity=pair.intensity, converted=str(pair.converted),
               source=str(pair.source), reference=str(pair.reference) if pair.reference else "")
    return row


def _failed(pair: Pair, exc: BaseException) -> dict:
    message = str(exc).split("\n")[0]
    logger.warning("%s: skipped (%s)", pair.utt, message)
    row = _empty_row(pair)
    row["error"] = message
    return row


def _format(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}" if math.isfinite(float(v)) else ""
    return "" if v is None else str(v)


def write_csv(rows: list[dict], path: Path) -> list[str]:
    """Write ``rows`` to ``path`` (NaN as empty cells); returns the column order used."""
    extra = sorted({k for r in rows for k in r if not k.startswith("_")} - set(COLUMNS))
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


def work_units(pairs: list[Pair], nj: int = 1) -> list[list[int]]:
    """Indexes of ``pairs`` grouped by source (first-appearance order), split into units of at most
    ``MAX_GROUP`` (fewer when that leaves workers idle)."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        groups.setdefault(str(p.source), []).append(i)
    size = MAX_GROUP
    if nj > 1:
        size = max(1, min(MAX_GROUP, math.ceil(len(pairs) / (2 * nj))))
    return [g[k:k + size] for g in groups.values() for k in range(0, len(g), size)]


# Worker-process state: one Evaluator per process, built on the first unit it receives.
_WORKER: dict = {}


def _worker_run(options: EvalOptions, pairs: list[Pair]) -> tuple[str, list[dict] | str]:
    if "evaluator" not in _WORKER:
        try:
            _WORKER["evaluator"] = Evaluator(options)
        except PromptEVCError as exc:
            return "load_error", str(exc)
    return "ok", _WORKER["evaluator"].evaluate_group(pairs)


def _worker_init() -> None:
    # One thread per library in each worker: the processes are the parallelism.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    logging.getLogger("promptevc").setLevel(logging.WARNING)


def run_pairs(pairs: list[Pair], options: EvalOptions) -> tuple[list[dict], list[dict]]:
    """All rows (in ``pairs`` order) and the contour candidates; progress bar with ETA."""
    from tqdm import tqdm

    units = work_units(pairs, options.nj)
    rows: list[dict | None] = [None] * len(pairs)
    contours: list[dict] = []
    bar = tqdm(total=len(pairs), desc="evaluate", unit="utt", disable=not options.progress,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]")
    saved_threads = _torch_threads()
    try:
        if options.nj <= 1:
            evaluator = Evaluator(options)
            for unit in units:
                _store(unit, evaluator.evaluate_group([pairs[i] for i in unit]), rows, contours, options)
                bar.update(len(unit))
        else:
            _run_parallel(pairs, units, options, rows, contours, bar)
    finally:
        bar.close()
        if saved_threads:  # the in-process Evaluator set torch's thread count; give the caller theirs back
            import torch

            torch.set_num_threads(saved_threads)
    return rows, contours


def _torch_threads() -> int:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return 0
    return torch.get_num_threads()


def _store(unit: list[int], result: list[dict], rows: list, contours: list[dict], options: EvalOptions) -> None:
    """Put a unit's rows in place; keep F0 tracks only while an emotion has fewer than the plot needs."""
    for i, row in zip(unit, result, strict=True):
        contour = row.pop("_contour", None)
        if contour is not None and not row.get("error"):
            if sum(c["emotion"] == contour["emotion"] for c in contours) < options.n_contour_plots:
                contours.append(contour)
        rows[i] = row


def _run_parallel(pairs: list[Pair], units: list[list[int]], options: EvalOptions, rows: list,
                  contours: list[dict], bar) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    check_options(options)
    ctx = mp.get_context("spawn")  # no inherited thread pools or CUDA state
    with ProcessPoolExecutor(max_workers=options.nj, mp_context=ctx, initializer=_worker_init) as pool:
        futures = {pool.submit(_worker_run, options, [pairs[i] for i in unit]): unit for unit in units}
        try:
            for fut in as_completed(futures):
                status, result = fut.result()
                if status == "load_error":
                    raise ModelLoadError(result)
                unit = futures[fut]
                _store(unit, result, rows, contours, options)
                bar.update(len(unit))
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def evaluate(pairs: list[Pair], out_dir: str | Path, options: EvalOptions | None = None) -> dict:
    """Evaluate ``pairs`` into ``out_dir``: utterances.csv, summary.json, report.md, *.png.

    Returns the summary dict. Raises ModelLoadError before any work when a model is missing.
    """
    from promptevc.eval.report import summarize, write_report, write_summary

    options = options or EvalOptions()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: exists and is not a folder; choose another --out")
    if options.nj < 1:
        raise ConfigError(f"--nj {options.nj}: give 1 or more worker processes")
    missing = [p for p in pairs if not p.converted.is_file()]
    if len(missing) == len(pairs):
        raise ConfigError(f"{missing[0].converted}: no such file (none of the {len(pairs)} converted files exist)")
    if options.asr:
        from promptevc.eval.asr import resolve_asr_name

        options.asr = resolve_asr_name(options.asr, options.language)
    options.nj = max(1, min(options.nj, len(pairs) // MIN_PAIRS_PER_WORKER, len(work_units(pairs, options.nj))))
    rows, contours = run_pairs(pairs, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out_dir / "utterances.csv")
    settings = {
        "analysis": (f"WORLD {options.f0_method.upper()} F0 and CheapTrick envelope at "
                     f"{M.FRAME_PERIOD_MS:g} ms; MCD on mel-cepstra c1..c{M.MCEP_ORDER} "
                     "(pyworld.code_spectral_envelope), 10/ln10*sqrt(2*sum), DTW after trimming "
                     "leading/trailing non-speech"),
        "f0_method": options.f0_method,
        "speaker_encoder": "GE2E (resemblyzer pretrained.pt)" if options.speaker else None,
        "asr": (f"{options.asr} (language {options.language}; Whisper-style text normalisation)"
                if options.asr else None),
        "dnsmos": f"speechmos DNSMOS (sig_bak_ovr.onnx, {options.dnsmos_windows} windows)" if options.dnsmos else None,
        "classifier": options.classifier,
        "workers": options.nj,
    }
    summary = summarize(rows, settings, control_rows=options.control_rows)
    plots = []
    if options.plots:
        from promptevc.eval.plots import plot_distributions, plot_f0_contours, plot_monotonicity

        picked = pick_contours(contours, options.n_contour_plots)
        if picked:
            plots.append(plot_f0_contours(picked, out_dir / "f0_contours.png"))
        ok_rows = [r for r in rows if not r.get("error")]
        if ok_rows:
            plots.append(plot_distributions(ok_rows, out_dir / "distributions.png"))
            plots.append(plot_monotonicity(ok_rows, out_dir / "monotonicity.png"))
    summary["plots"] = [p.name for p in plots if p is not None]
    write_summary(summary, out_dir / "summary.json")
    write_report(summary, out_dir / "report.md")
    return summary
