"""Python API: ``Converter.load(engine=...)``, then ``convert``, ``convert_file`` or ``convert_many``.

Example::

    from promptevc import Converter
    conv = Converter.load()                       # embedded prosody engine, nothing to download
    out, sr = conv.convert(wav, 44100, prompt="slightly sad")          # same rate and layout back
    conv.convert_file("in.flac", "out.flac", prompt="very happy")

The converter owns the shared front and back of every engine (DESIGN §1-2, the contract in
:mod:`promptevc.engines.base`):

1. header check (``promptevc.audio.probe_audio``) before any sample is decoded, and the output
   path and format checked before any work (``promptevc.outputs``, ``promptevc.batch``);
2. pass 1 over blocks: NaN/Inf, length, silence, DC offset and channel covariance;
3. if the engine's session ``needs_analysis``: a pass of ``observe`` over the whole input;
4. pass 2: blocks, DC removed, mixed to mono (sign-aligned) for engines with
   ``multichannel = False``, resampled to ``engine.working_rate(input rate)`` by a stream
   resampler, cut at pauses into chunks (one plan: the same session converts every chunk),
   converted, cross-faded, resampled back to the output rate, spread over the output channels,
   peak-limited and streamed into a temp file that is published atomically.

Memory is bounded by the chunk (``InputConfig.chunk_seconds``), not the input's length. The
output keeps the input's sample rate, channel count and sample format unless ``out_sample_rate``,
``mono`` or ``subtype`` say otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from promptevc.audio import (
    ArraySource,
    CrossfadeJoiner,
    FileSource,
    InputStats,
    PauseChunker,
    PeakLimiter,
    StreamResampler,
    read_mono,
    scan,
)
from promptevc.batch import Job, PlannedJob, plan_jobs
from promptevc.config import AudioConfig, InputConfig
from promptevc.engines.base import ENGINES, Engine, EngineSession, load_engine
from promptevc.errors import (
    AudioError,
    ConfigError,
    ModelLoadError,
    OutputError,
    PromptError,
    PromptEVCError,
    describe_os_error,
    one_line,
    short,
)
from promptevc.outputs import OutputFile, check_format_options, choose_subtype, output_format
from promptevc.prompt.control import EmotionControl

log = logging.getLogger(__name__)

MAX_SEED = 2**32 - 1


# ------------------------------------------------------------------------------------------------
# Value checks (the API raises the project's errors, never TypeError)
# ------------------------------------------------------------------------------------------------


def check_number(value: Any, name: str, lo: float | None = None, hi: float | None = None,
                 error: type[PromptEVCError] = ConfigError) -> float:
    """``value`` as a finite float within [lo, hi], or ``error`` naming ``name`` and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise error(f"{name} must be a number, got {short(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise error(f"{name} must be a finite number, got {short(value)}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise error(f"{name} {x:g} is outside [{lo_s}, {hi_s}]")
    return x


def check_seed(seed: Any) -> int | None:
    """``None`` or an integer in [0, 2**32 - 1] (what every random generator accepts)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be a whole number in [0, {MAX_SEED}], got {short(seed)}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ConfigError(f"seed {short(seed)} is outside [0, {MAX_SEED}]")
    return int(seed)


def _check_path(value: Any, name: str) -> str:
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return os.fspath(value)
    raise ConfigError(f"{name} must be a file path, got {short(value)}")


def _as_jobs(jobs: Any) -> list[Job]:
    """``Job`` objects, or ``(source, output)`` pairs, as a list of jobs."""
    if isinstance(jobs, (str, os.PathLike)) or not hasattr(jobs, "__iter__"):
        raise ConfigError(f"jobs must be a list of Job or (input, output) pairs, got {short(jobs)}")
    out = []
    for i, job in enumerate(jobs):
        if isinstance(job, Job):
            out.append(job)
        elif isinstance(job, (tuple, list)) and len(job) == 2:
            out.append(Job(_check_path(job[0], f"job {i} input"), Path(_check_path(job[1], f"job {i} output"))))
        else:
            raise ConfigError(f"job {i}: expected a Job or an (input, output) pair, got {short(job)}")
    return out


def _check_text(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise PromptError(f"{name} must be text, got {short(value)}")


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class BatchResult:
    """What :meth:`Converter.convert_many` did, job by job."""

    converted: list[Job] = dataclasses.field(default_factory=list)
    skipped: list[Job] = dataclasses.field(default_factory=list)
    failed: list[tuple[Job, str]] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return f"converted {len(self.converted)}, skipped {len(self.skipped)} (exists), failed {len(self.failed)}"


class _WholeChunkSession(EngineSession):
    """Compatibility for engines that implement only ``convert(wav (T,), control)`` at their model rate.

    Each chunk is converted by that call (mono, ``audio.sample_rate``): memory stays bounded, but
    whole-input statistics are per chunk. ``identity`` comes from the engine's ``plan`` when it
    has one (the prosody engine), so intensity 0 still returns the exact input.
    """

    def __init__(self, engine: Engine, control: EmotionControl, sample_rate: int, ref_wav: np.ndarray | None,
                 seed: int | None) -> None:
        super().__init__(sample_rate, 1)
        self.engine, self.control, self.ref_wav, self.seed = engine, control, ref_wav, seed
        self._calls = 0
        planner = getattr(engine, "plan", None)
        if callable(planner):
            plan = planner(control)
            self.identity = bool(getattr(plan, "is_identity", lambda: False)())
            self._summary = getattr(plan, "summary", lambda: "")()

    def convert(self, chunk: np.ndarray) -> np.ndarray:
        kwargs: dict[str, Any] = {"seed": self.seed}
        if self.ref_wav is not None:
            kwargs["ref_wav"] = self.ref_wav
        engine_log = logging.getLogger(type(self.engine).__module__)
        level = engine_log.level
        if self._calls:  # the engine's per-call log lines once, not once per chunk
            engine_log.setLevel(logging.WARNING)
        try:
            y = self.engine.convert(chunk[:, 0], self.control, **kwargs)
        finally:
            engine_log.setLevel(level)
            self._calls += 1
        return np.asarray(y, dtype=np.float32).reshape(-1, 1)

    def summary(self) -> str:
        return getattr(self, "_summary", "") or type(self.engine).__name__


class _ArraySink:
    """Collects output blocks in memory (the array API)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def write(self, block: np.ndarray) -> None:
        if len(block):
            self.parts.append(np.asarray(block, dtype=np.float32))

    def result(self, channels: int) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros((0, channels), np.float32)


@contextlib.contextmanager
def _progress(total: float, desc: str, unit: str, enabled: bool) -> Iterator[Any]:
    """A tqdm bar (only on a terminal) with log lines routed above it, or a no-op stand-in."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    logger = logging.getLogger("promptevc")
    console = any(isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) in (sys.stderr, sys.stdout)
                  for h in logger.handlers)
    # Only where a console handler prints our records (the CLI): route them above the bar. An
    # application's own logging setup is left alone.
    redirect = logging_redirect_tqdm(loggers=[logger]) if console else contextlib.nullcontext()
    with redirect:
        with tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False, dynamic_ncols=True) as bar:
            yield bar


# ------------------------------------------------------------------------------------------------
# The converter
# ------------------------------------------------------------------------------------------------


class Converter:
    """Prompt-controlled emotional voice conversion with one engine (see the module docstring)."""

    def __init__(self, engine: Engine, policy: InputConfig | None = None) -> None:
        self.engine = engine
        self.policy = policy or InputConfig()
        self._parser = None

    @property
    def audio(self) -> AudioConfig:
        """The engine's model AudioConfig (its features; not the user's output format)."""
        return self.engine.audio

    @property
    def sample_rate(self) -> int:
        """The engine's model rate. Outputs are written at the input's rate unless asked otherwise."""
        return self.engine.audio.sample_rate

    @classmethod
    def load(
        cls,
        engine: str = "prosody",
        model: str | None = None,
        vocoder: str | None = None,
        device: str = "auto",
        audio: AudioConfig | None = None,
        policy: InputConfig | None = None,
        profile: str | None = None,
    ) -> Converter:
        """Build a converter.

        ``engine="prosody"`` (default) needs nothing else; ``profile`` picks its per-emotion
        profile set (``literature``, the default, or ``esd``). ``engine="neural"`` needs ``model``:
        a release folder or Hugging Face repo id; ``vocoder`` overrides the release's vocoder;
        ``device`` is a torch device or "auto".
        """
        for value, what in ((engine, "engine"), (model, "model"), (vocoder, "vocoder"), (device, "device")):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{what} must be text, got {short(value)}")
        if engine not in ENGINES:
            raise ConfigError(f"unknown engine {short(engine)}; choose from {', '.join(ENGINES)}")
        if policy is not None and not isinstance(policy, InputConfig):
            raise ConfigError(f"policy must be an InputConfig, got {short(policy)}")
        policy = policy or InputConfig()
        if engine == "prosody":
            if model is not None:
                raise ConfigError(f"--model {model} needs --engine neural (the prosody engine has no model)")
            if vocoder is not None:
                raise ConfigError(f"--vocoder {vocoder} needs --engine neural (the prosody engine has no vocoder)")
            kwargs = {} if profile is None else {"profile": _check_text(profile, "profile")}
            eng = load_engine("prosody", audio=audio, policy=policy, **kwargs)
        else:
            if profile is not None:
                raise ConfigError(f"--profile {short(profile)} applies to the prosody engine, not --engine {engine}")
            if not model:
                raise ConfigError(f"--engine {engine} needs --model RELEASE (a release folder or repo id)")
            try:
                eng = load_engine(engine, model=model, vocoder=vocoder, device=device, audio=audio)
            except (ValueError, TypeError, KeyError, AttributeError, IndexError, RuntimeError) as err:
                # A release is untrusted input: a malformed one (wrong types in meta.json or
                # config.yaml, tensors of the wrong kind) must not end in a traceback.
                log.debug("loading %s failed", model, exc_info=True)
                raise ModelLoadError(f"{model}: cannot load this release ({type(err).__name__}: "
                                     f"{one_line(str(err), 200)})") from None
        return cls(eng, policy)

    # --------------------------------------------------------------------------------------------
    # Prompt understanding
    # --------------------------------------------------------------------------------------------

    def describe(self, prompt: str) -> EmotionControl:
        """How ``prompt`` is understood (the zero-shot parser; loaded on first use)."""
        prompt = _check_text(prompt, "prompt")
        if prompt is None or not prompt.strip():
            raise PromptError("the prompt is empty; describe the emotion, e.g. --prompt \"slightly sad\"")
        if self._parser is None:
            from promptevc.prompt.parser import get_parser  # lazy: loads the sentence encoder

            self._parser = get_parser()
        return self._parser.parse(prompt)

    def control(
        self,
        prompt: str | None = None,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
        reference: bool = False,
    ) -> EmotionControl:
        """EmotionControl from a prompt and/or explicit ``emotion`` / ``intensity`` (which win).

        Without a prompt, ``emotion`` is required (intensity then defaults to 0.5), unless
        ``reference``: an emotion reference recording (``--ref``) gives the emotion, and only
        ``intensity`` may be set (the neural engine refuses a prompt or emotion beside it).
        """
        prompt = _check_text(prompt, "prompt")
        emotion = _check_text(emotion, "emotion")
        if intensity is not None:
            intensity = check_number(intensity, "intensity", 0.0, 1.0, error=PromptError)
        if prompt is not None and prompt.strip():
            ctrl = self.describe(prompt)
        elif reference and emotion is None and prompt is None:
            return EmotionControl.from_label("neutral").with_overrides(intensity=intensity)
        elif emotion is not None:
            ctrl = EmotionControl.from_label(emotion, intensity=0.5 if intensity is None else intensity)
        elif prompt is not None:
            raise PromptError("the prompt is empty; describe the emotion, e.g. --prompt \"slightly sad\"")
        else:
            raise PromptError("give a prompt (--prompt \"slightly sad\") or an emotion (--emotion sad)")
        ctrl = ctrl.with_overrides(emotion=emotion, intensity=intensity)
        # An emotion this engine does not know (e.g. fear for the neural models): say what it renders.
        note = self.engine.emotion_warning(ctrl)
        if note and note not in ctrl.warnings:
            ctrl.warnings.append(note)
        return ctrl

    def _resolve_control(self, control: EmotionControl | None, prompt: str | None, emotion: str | None,
                         intensity: float | None, reference: bool = False) -> EmotionControl:
        if control is not None:
            if not isinstance(control, EmotionControl):
                raise PromptError(f"control must be an EmotionControl, got {short(control)}")
            return control
        ctrl = self.control(prompt, emotion=emotion, intensity=intensity, reference=reference)
        for warning in ctrl.warnings:  # the CLI logs them itself: it passes a control
            log.warning("%s", warning)
        return ctrl

    # --------------------------------------------------------------------------------------------
    # Conversion
    # --------------------------------------------------------------------------------------------

    def convert(
        self,
        wav: np.ndarray,
        sample_rate: int,
        prompt: str | None = None,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
        control: EmotionControl | None = None,
        ref_wav: np.ndarray | None = None,
        ref_sample_rate: int | None = None,
        seed: int | None = None,
        name: str = "input",
        out_sample_rate: int | None = None,
        mono: bool = False,
    ) -> tuple[np.ndarray, int]:
        """Convert an array; returns ``(out, rate)`` in the input's layout and rate.

        ``wav``: (T,), (T, C) or (C, T), float or integer PCM, any rate. The output has the same
        layout ((T',), (T', C) or (C, T')) at ``sample_rate`` unless ``out_sample_rate`` / ``mono``
        say otherwise. ``control`` (already parsed) replaces prompt/emotion/intensity;
        ``ref_wav`` (at ``ref_sample_rate``, default ``sample_rate``) goes to engines that use an
        emotion reference.
        """
        ctrl = self._resolve_control(control, prompt, emotion, intensity, ref_wav is not None)
        seed = check_seed(seed)
        source = ArraySource(wav, sample_rate, self.policy, name=name)
        out_rate = self._out_rate(out_sample_rate)
        ref = None
        if ref_wav is not None:
            ref = ArraySource(ref_wav, ref_sample_rate or sample_rate, self.policy, name="reference")
        sink = _ArraySink()
        rate, channels, _ = self._run(source, ctrl, ref=ref, seed=seed, out_rate=out_rate, mono=bool(mono),
                                      open_sink=lambda rate, ch, subtype: sink)
        return source.layout(sink.result(channels)), rate

    def convert_file(
        self,
        in_path: str | Path,
        out_path: str | Path,
        prompt: str | None = None,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
        control: EmotionControl | None = None,
        ref_path: str | Path | None = None,
        seed: int | None = None,
        overwrite: bool = False,
        out_sample_rate: int | None = None,
        mono: bool = False,
        subtype: str | None = None,
    ) -> Path:
        """Convert one file into ``out_path`` (written atomically); returns the output path.

        The output is checked before any work: never the input, an existing file only with
        ``overwrite`` (and then only a regular file), a writable folder, a known format.
        """
        ctrl = self._resolve_control(control, prompt, emotion, intensity, ref_path is not None)
        seed = check_seed(seed)
        out_rate = self._out_rate(out_sample_rate)
        subtype = _check_text(subtype, "subtype")
        job = Job(_check_path(in_path, "input"), Path(_check_path(out_path, "output")))
        planned = plan_jobs([job], overwrite=overwrite, skip_existing=False)[0]
        ref = self._ref_source(ref_path)
        self._convert_planned(planned, ctrl, ref=ref, seed=seed, out_rate=out_rate, mono=bool(mono),
                              subtype=subtype, overwrite=overwrite, quiet=False)
        return Path(out_path)

    def convert_many(
        self,
        jobs: Sequence[Job],
        prompt: str | None = None,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
        control: EmotionControl | None = None,
        ref_path: str | Path | None = None,
        seed: int | None = None,
        overwrite: bool = False,
        out_dir: str | Path | None = None,
        out_sample_rate: int | None = None,
        mono: bool = False,
        subtype: str | None = None,
        progress: bool = True,
    ) -> BatchResult:
        """Convert a batch of :class:`~promptevc.batch.Job` s; one bad input does not stop it.

        Every output is checked before the first job runs (:func:`promptevc.batch.plan_jobs`):
        any that could overwrite an input, leave ``out_dir`` or be shared raises before anything
        is written. Existing outputs are skipped unless ``overwrite``.
        """
        ctrl = self._resolve_control(control, prompt, emotion, intensity, ref_path is not None)
        seed = check_seed(seed)
        out_rate = self._out_rate(out_sample_rate)
        subtype = _check_text(subtype, "subtype")
        planned = plan_jobs(_as_jobs(jobs), out_dir=out_dir, overwrite=overwrite, skip_existing=True)
        if subtype is not None:
            for fmt in sorted({output_format(p.job.output) for p in planned}):
                choose_subtype(fmt, subtype, None)
        ref = self._ref_source(ref_path)
        result = BatchResult()
        with _progress(len(planned), "converting", "file", progress and len(planned) > 1) as bar:
            for item in planned:
                job = item.job
                if item.skip:
                    result.skipped.append(job)
                else:
                    try:
                        self._convert_planned(item, ctrl, ref=ref, seed=seed, out_rate=out_rate, mono=bool(mono),
                                              subtype=subtype, overwrite=overwrite, quiet=len(planned) > 1)
                        result.converted.append(job)
                    except PromptEVCError as err:
                        result.failed.append((job, str(err)))
                    except MemoryError:
                        result.failed.append((job, f"{job.source}: out of memory"))
                    except OSError as err:
                        result.failed.append((job, describe_os_error(err)))
                    except Exception as err:  # a bug on one file must not stop the batch; keep the reason
                        log.debug("unexpected error on %s", job.source, exc_info=True)
                        result.failed.append((job, f"{job.source}: {type(err).__name__}: {err}"))
                if bar is not None:
                    bar.update(1)
        return result

    # --------------------------------------------------------------------------------------------

    def _out_rate(self, out_sample_rate: Any) -> int | None:
        if out_sample_rate is None:
            return None
        rate = check_number(out_sample_rate, "output sample rate", 4000, 384000)
        if rate != int(rate):
            raise ConfigError(f"output sample rate must be a whole number of Hz, got {short(out_sample_rate)}")
        return int(rate)

    def _ref_source(self, ref_path: str | Path | None) -> FileSource | None:
        if ref_path is None:
            return None
        return FileSource(_check_path(ref_path, "reference"), self.policy, name=f"--ref {ref_path}")

    def _convert_planned(self, planned: PlannedJob, control: EmotionControl, *, ref: Any, seed: int | None,
                         out_rate: int | None, mono: bool, subtype: str | None, overwrite: bool, quiet: bool) -> None:
        job = planned.job
        target = planned.target.path
        fmt = output_format(job.output)
        source = FileSource(job.source, self.policy)
        info = source.info
        rate = out_rate or info.sample_rate
        channels = 1 if mono else info.channels
        chosen, note = choose_subtype(fmt, subtype, info.subtype)
        check_format_options(job.output, fmt, rate, channels, chosen)
        if note:
            (log.debug if quiet else log.info)("%s: %s", job.output, note)
        holder: dict[str, OutputFile] = {}

        def open_sink(rate: int, channels: int, _subtype: str | None) -> OutputFile:
            out = OutputFile(target, sample_rate=rate, channels=channels, format=fmt, subtype=chosen,
                             overwrite=overwrite)
            out.open()
            holder["out"] = out
            return out

        try:
            self._run(source, control, ref=ref, seed=seed, out_rate=out_rate, mono=mono, open_sink=open_sink,
                      quiet=quiet, out_name=str(job.output), out_subtype=chosen)
            if "out" in holder:
                holder["out"].commit()
        finally:
            if "out" in holder:
                holder["out"].abort()

    def _run(self, source: FileSource | ArraySource, control: EmotionControl, *, ref: Any, seed: int | None,
             out_rate: int | None, mono: bool, open_sink, quiet: bool = True, out_name: str = "",
             out_subtype: str | None = None) -> tuple[int, int, InputStats]:
        """The pipeline of the module docstring; returns ``(output rate, output channels, stats)``."""
        info = source.info
        policy = self.policy
        engine = self.engine
        say = log.debug if quiet else log.info
        stats = scan(source, policy)  # pass 1: nothing is written unless the input passes
        in_rate, channels = info.sample_rate, info.channels
        out_rate = out_rate or in_rate
        out_channels = 1 if mono else channels
        engine_mono = mono or not engine.multichannel
        engine_channels = 1 if engine_mono else channels
        work_rate = int(engine.working_rate(in_rate))
        ref_wav = read_mono(ref, work_rate, policy) if ref is not None else None
        session = self._start(control, work_rate, engine_channels, ref_wav, seed)
        dc = stats.dc
        weights = stats.mix_weights()
        gains = stats.upmix_gains(weights)
        sink = open_sink(out_rate, out_channels, out_subtype)
        desc = out_name or info.name
        say("%s: %s -> %s%d Hz, %d ch%s", info.name, info.describe(), f"{out_name}: " if out_name else "",
            out_rate, out_channels, f", {out_subtype}" if out_subtype else "")

        if session.identity:
            say("%s: the plan changes nothing (intensity 0, or neutral without hints): input passed through", desc)
            self._pass_through(source, sink, stats, weights, out_rate, out_channels)
            return out_rate, out_channels, stats

        say("%s: %s engine at %d Hz, %d ch%s: %s", desc, engine.name, work_rate, engine_channels,
            " (mixed to mono)" if engine_channels == 1 and channels > 1 else "", session.summary())
        if work_rate != out_rate:
            say("%s: the %s engine's output at %d Hz is resampled to %d Hz%s", desc, engine.name, work_rate, out_rate,
                f" (its bandwidth stays {work_rate / 2000:g} kHz)" if work_rate < out_rate else "")

        def front(block: np.ndarray) -> np.ndarray:
            x = block - dc
            return x @ weights[:, None] if engine_channels == 1 and channels > 1 else x

        if session.needs_analysis:  # pass 2a: whole-input statistics at the working rate
            rs = StreamResampler(in_rate, work_rate, engine_channels)
            for block in source.blocks():
                session.observe(rs.push(front(block)))
            tail = rs.flush()
            if len(tail):
                session.observe(tail)

        rs_in = StreamResampler(in_rate, work_rate, engine_channels)
        chunker = PauseChunker(work_rate, policy.chunk_seconds, policy.crossfade_seconds)
        joiner = CrossfadeJoiner()
        rs_out = StreamResampler(work_rate, out_rate, engine_channels)
        limiter = PeakLimiter(out_rate)
        spread = engine_channels == 1 and out_channels > 1

        def back(y: np.ndarray, last: bool = False) -> None:
            z = rs_out.push(y, last=last)
            if spread:
                z = z * gains[None, :]
            sink.write(limiter.push(z))

        long_input = info.seconds > policy.chunk_seconds
        with _progress(round(info.seconds, 1), desc[-40:], "s", not quiet and long_input) as bar:

            def run_chunks(items) -> None:
                for chunk, lead, tail in items:
                    y = _engine_output(session.convert(chunk), engine_channels, engine.name)
                    back(joiner.push(y, len(chunk), lead, tail))
                    if bar is not None:
                        bar.update(round((len(chunk) - tail) / work_rate, 2))

            for block in source.blocks():
                run_chunks(chunker.push(rs_in.push(front(block))))
            run_chunks(chunker.push(rs_in.flush()))
            run_chunks(chunker.flush())
        rest = joiner.flush()
        back(rest if rest is not None else np.zeros((0, engine_channels), np.float32), last=True)
        sink.write(limiter.flush())
        if limiter.active:
            say("%s: %s", desc, limiter.summary())
        return out_rate, out_channels, stats

    def _start(self, control: EmotionControl, work_rate: int, channels: int, ref_wav: np.ndarray | None,
               seed: int | None) -> EngineSession:
        engine = self.engine
        if type(engine).start is Engine.start:
            return _WholeChunkSession(engine, control, work_rate, ref_wav, seed)
        return engine.start(control, sample_rate=work_rate, num_channels=channels, ref_wav=ref_wav, seed=seed)

    @staticmethod
    def _pass_through(source, sink, stats: InputStats, weights: np.ndarray, out_rate: int, out_channels: int) -> None:
        """Identity plan: the input's own samples (bit-exact when rate and channels are kept)."""
        info = source.info
        if out_rate == info.sample_rate and out_channels == info.channels:
            for block in source.blocks(exact=isinstance(sink, OutputFile)):
                sink.write(block)
            return
        rs = StreamResampler(info.sample_rate, out_rate, out_channels)
        mix = out_channels == 1 and info.channels > 1
        for block in source.blocks():
            sink.write(rs.push(block @ weights[:, None] if mix else block))
        sink.write(rs.flush())


def _engine_output(y: Any, channels: int, name: str) -> np.ndarray:
    """Check an engine's chunk output: (T', C) finite float32."""
    arr = np.asarray(y, dtype=np.float32)
    if arr.ndim == 1 and channels == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != channels:
        raise RuntimeError(f"the {name} engine returned shape {arr.shape} for a {channels}-channel chunk")
    if not np.all(np.isfinite(arr)):
        raise AudioError(f"the {name} engine produced NaN or infinite samples for this input")
    return arr


__all__ = ["Converter", "BatchResult", "Job", "check_number", "check_seed", "OutputError"]
