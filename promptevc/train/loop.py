"""One training loop for every model kind: :func:`fit` runs a :class:`Task`; :func:`export_release`.

A task (``promptevc.train.acoustic``, ``.evaluator``, ``.vocoder``) says *what* is trained:
``build`` (data, models, parameter groups), ``train_step`` (forward, losses, one
``ctx.backward(group, loss)`` per optimiser), ``validate`` and ``release`` (what a release
holds). The loop owns *how*, the same for all three:

- **Seeding.** Every process starts from ``train.seed`` (identical initial weights). Before
  each batch the torch RNG is re-seeded from ``(seed, global batch number)``, and the data
  samplers draw each item from ``(seed, epoch, position)``: what a step computes does not depend
  on the number of processes, the DataLoader workers or an interruption.
- **Devices and DDP.** ``--device``; under ``torchrun`` one process per GPU (NCCL) or CPU
  process (gloo). Models with trainable parameters are wrapped in DistributedDataParallel
  (``find_unused_parameters`` only when the task declares it), every process gets its own share
  of the batches, and only rank 0 logs, validates, saves and exports.
- **Precision.** ``train.precision`` / ``--precision``: fp32, bf16 (autocast) or fp16 (autocast +
  GradScaler); ``auto`` = bf16 on GPUs that support it, fp16 on other GPUs, fp32 on CPU.
- **Gradients.** ``train.grad_accum_steps`` batches per optimiser step (DDP synchronises only on
  the last), global-norm clipping per optimiser (``train.grad_clip``).
- **Non-finite steps.** A step whose loss or gradient norm is not finite is skipped (no update,
  the scaler lowers its scale) and counted; ``train.max_nonfinite_steps`` in a row stop training
  with a TrainingError.
- **Cadence.** Metrics every ``log_every`` steps (``EXP/metrics.csv``, TensorBoard, train.log),
  validation every ``valid_every``, a checkpoint every ``save_every``, and all three at the last
  step. The best validation result (the task's ``best_metric``) is tracked, its checkpoint kept
  when old ones are pruned (``keep_checkpoints``), and ``promptevc export --checkpoint best``
  exports it.
- **Resume.** Re-running with the same ``--exp`` continues from the latest checkpoint: weights,
  optimisers, schedulers, scaler, step, epoch position (at the next unseen batch), best result
  and RNG states. The checkpoint is read on the CPU and then placed. On CPU with a fixed seed a
  resumed run ends bit-for-bit where an uninterrupted one does.
- **Export.** When training ends rank 0 writes ``EXP/release`` (as ``promptevc export`` does).

Host synchronisation: one per optimiser step (the finite check) plus one per log interval.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from promptevc.errors import ConfigError, ModelLoadError, TrainingError
from promptevc.train.config import TrainConfig
from promptevc.train.distributed import (
    DistInfo,
    all_gather,
    all_true,
    barrier,
    cleanup,
    init_distributed,
    mean_over_processes,
    wrap_ddp,
)

log = logging.getLogger(__name__)

RELEASE_SUBDIR = "release"
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


# --------------------------------------------------------------------------------------------
# What a task provides
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Env:
    """Where a task is being trained (handed to :meth:`Task.build`, ``validate``, ``finish``)."""

    exp_dir: Path
    device: torch.device
    dist: DistInfo
    precision: str  # fp32, bf16 or fp16 (resolved)
    resuming: bool = False
    experiment: Any = None  # the Experiment (metrics, files) once the task is built

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context of the run's precision (a no-op for fp32)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=AUTOCAST_DTYPES[self.precision])

    def fp32(self) -> contextlib.AbstractContextManager:
        """Leave autocast (for numerically delicate parts such as spectrogram losses)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, enabled=False)


@dataclasses.dataclass
class Parts:
    """What :meth:`Task.build` returns; the loop places, wraps, optimises and checkpoints it."""

    models: dict[str, nn.Module]  # every module whose state is checkpointed
    groups: dict[str, list[nn.Parameter]]  # one optimiser (and schedule) per group
    train_set: torch.utils.data.Dataset
    sampler: Any  # a batch sampler with set_epoch / set_start (promptevc.data.sampler)
    collate: Callable[[list[Any]], Any] | None = None


@dataclasses.dataclass
class ReleaseContents:
    """What :meth:`Task.release` puts in a release: inference needs only, nothing of training."""

    config: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]
    folders: dict[str, Path] = dataclasses.field(default_factory=dict)  # name in the release -> source


class Task:
    """One model kind trained by :func:`fit`. Subclasses set the class attributes and the methods."""

    kind: ClassVar[str] = ""
    config_class: ClassVar[type] = object  # top-level config dataclass; ``.train`` is a TrainConfig
    find_unused_parameters: ClassVar[bool] = False
    best_metric: ClassVar[tuple[str, str] | None] = None  # (validation metric, "min" | "max")
    validate_at_start: ClassVar[bool] = False  # also validate before the first step of a new run

    config: Any

    @property
    def train_config(self) -> TrainConfig:
        return self.config.train

    def resumed_config(self, exp_dir: Path) -> Any:
        """The config to continue an experiment with (default: the one given now)."""
        return self.config

    def build(self, env: Env) -> Parts:
        """Load the data, derive data-dependent config fields, build models (on the CPU)."""
        raise NotImplementedError

    def provenance(self) -> dict[str, Any]:
        """Facts recorded in ``EXP/experiment.json`` for the release (e.g. encoder revisions)."""
        return {}

    def write_experiment_files(self, exp_dir: Path) -> None:
        """Files the release will need, copied into the experiment dir (rank 0, after build)."""

    def train_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Forward and losses of one batch; call ``ctx.backward(group, loss)`` once per group.

        Returns detached 0-d tensors to log (averaged over the log interval and processes).
        """
        raise NotImplementedError

    def validate(self, env: Env, step: int) -> dict[str, float]:
        """Validation metrics (rank 0, models in eval mode, no grad); may write files in EXP."""
        return {}

    def finish(self, env: Env, step: int) -> None:
        """Called on rank 0 after the last step, before the release is written."""

    @classmethod
    def release(cls, config: Any, payload: dict[str, Any], exp_dir: Path) -> ReleaseContents:
        """The release of a checkpoint (``payload`` from read_checkpoint: ``models`` states, ``step``, ``extra``)."""
        raise NotImplementedError


TASKS = {
    "acoustic": "promptevc.train.acoustic:AcousticTask",
    "evaluator": "promptevc.train.evaluator:EvaluatorTask",
    "vocoder": "promptevc.train.vocoder:VocoderTask",
}


def task_class(kind: str) -> type[Task]:
    if kind not in TASKS:
        raise ConfigError(f"unknown experiment kind {kind!r}; expected one of {', '.join(TASKS)}")
    module, name = TASKS[kind].split(":")
    return getattr(importlib.import_module(module), name)


# --------------------------------------------------------------------------------------------
# One optimiser step
# --------------------------------------------------------------------------------------------


class StepContext:
    """Handed to :meth:`Task.train_step`: the models and the backward/step of each group."""

    def __init__(self, models: dict[str, nn.Module], wrapped: dict[str, nn.Module],
                 optimizers: dict[str, torch.optim.Optimizer], schedulers: dict[str, Any],
                 groups: dict[str, list[nn.Parameter]], scaler: torch.amp.GradScaler, cfg: TrainConfig,
                 env: Env) -> None:
        self.models = models  # the plain modules (methods, and forward passes that need no gradient sync)
        self.wrapped = wrapped  # the modules to call for trainable forward passes (DDP under torchrun)
        self.env = env
        self._optimizers, self._schedulers, self._groups = optimizers, schedulers, groups
        self._scaler, self._cfg = scaler, cfg
        self._restrict = len(groups) > 1  # several optimisers: each backward fills only its own grads
        self.micro, self.last_micro = 0, True
        self._loss_ok: dict[str, torch.Tensor] = {}
        self.skipped: list[str] = []
        self.grad_norms: dict[str, torch.Tensor] = {}

    @property
    def device(self) -> torch.device:
        return self.env.device

    def _begin_step(self) -> None:
        self.skipped, self.grad_norms, self._loss_ok = [], {}, {}
        for opt in self._optimizers.values():
            opt.zero_grad(set_to_none=True)

    def backward(self, group: str, loss: torch.Tensor) -> None:
        """Accumulate the gradients of ``loss`` for ``group``; on the last batch of the step, update it.

        The update unscales (fp16), clips, checks that the loss and the gradient norm are finite
        (on every process), and steps the optimiser and its schedule, or skips the update.
        """
        params = self._groups[group]
        loss = loss.float()
        ok = torch.isfinite(loss.detach())
        self._loss_ok[group] = ok if group not in self._loss_ok else self._loss_ok[group] & ok
        scaled = loss / self._cfg.grad_accum_steps
        if self._scaler.is_enabled():
            scaled = self._scaler.scale(scaled)
        with self.env.fp32():
            scaled.backward(inputs=params if self._restrict else None)
        if self.last_micro:
            self._update(group)

    def _update(self, group: str) -> None:
        opt, params = self._optimizers[group], self._groups[group]
        if self._scaler.is_enabled():
            self._scaler.unscale_(opt)
        clip = self._cfg.grad_clip
        if clip:
            norm = nn.utils.clip_grad_norm_(params, clip)
        else:
            grads = [p.grad for p in params if p.grad is not None]
            norm = nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=self.device)
        ok = all_true(torch.isfinite(norm) & self._loss_ok[group], self.env.dist)
        self.grad_norms[group] = norm.detach()
        if bool(ok):  # the one host sync of the step (per optimiser)
            if self._scaler.is_enabled():
                self._scaler.step(opt)
            else:
                opt.step()
            self._schedulers[group].step()
        else:
            opt.zero_grad(set_to_none=True)
            self.skipped.append(group)

    def _end_step(self) -> None:
        if self._scaler.is_enabled():
            self._scaler.update()


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


def resolve_precision(name: str, device: torch.device) -> str:
    """fp32 / bf16 / fp16 for ``name`` (auto, fp32, bf16, fp16) on ``device``."""
    if name not in ("auto", "fp32", "bf16", "fp16"):
        raise ConfigError(f"precision {name!r}: choose auto, fp32, bf16 or fp16")
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_batch(seed: int, batch_number: int, device: torch.device) -> None:
    """Seed torch for global batch ``batch_number`` (the same whatever the process count).

    Seeds the CPU generator and the one of ``device`` only: ``torch.manual_seed`` also walks
    every other device type and costs milliseconds per call.
    """
    value = (seed + 1) * 1_000_003 + batch_number
    torch.default_generator.manual_seed(value)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        torch.cuda.default_generators[index].manual_seed(value)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move the tensors of a (nested) batch to ``device``; other values pass unchanged."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)) and batch and torch.is_tensor(batch[0]):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


@dataclasses.dataclass
class _Position:
    """Where training stands: step, epoch and batches of this process already used in the epoch."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best: dict[str, Any] | None = None
    nonfinite_total: int = 0
    nonfinite_run: int = 0


def fit(task: Task, exp_dir: str | Path, *, device: str = "auto", precision: str | None = None,
        argv: Sequence[str] | None = None, progress: bool = True) -> Path:
    """Train (or resume) ``task`` in ``exp_dir``; returns the release written at the end (EXP/release)."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: torch sees no CUDA GPU; use --device cpu (or auto)")
    info = init_distributed(device)
    try:
        return _Run(task, Path(exp_dir), info, precision, argv, progress).run()
    finally:
        cleanup(info)


class _Run:
    def __init__(self, task: Task, exp_dir: Path, info: DistInfo, precision: str | None,
                 argv: Sequence[str] | None, progress: bool) -> None:
        self.task, self.exp_dir, self.info = task, exp_dir, info
        self.argv, self.progress = argv, progress
        self.device = torch.device(info.device)
        self.precision = resolve_precision(precision or task.train_config.precision, self.device)

    # ---------------------------------------------------------------- set-up
    def run(self) -> Path:
        from promptevc.train.checkpoint import latest_checkpoint, read_checkpoint
        from promptevc.train.experiment import Experiment, check_experiment_kind

        task, exp_dir, info = self.task, self.exp_dir, self.info
        check_experiment_kind(exp_dir, task.kind)
        ckpt = latest_checkpoint(exp_dir)
        if ckpt is not None:
            task.config = task.resumed_config(exp_dir)
        cfg = task.train_config
        seed_everything(cfg.seed)  # the same initial weights on every process
        env = Env(exp_dir, self.device, info, self.precision, resuming=ckpt is not None)
        parts = task.build(env)
        if len(parts.sampler) == 0:
            raise ConfigError(f"{task.kind}: the training data gives no batch; lower train.batch_size")
        self.exp = env.experiment = Experiment(exp_dir, task.kind, task.config, argv=self.argv,
                                               is_main=info.is_main, info=task.provenance())
        try:
            if info.is_main:
                task.write_experiment_files(exp_dir)
            payload = read_checkpoint(ckpt) if ckpt is not None else None
            self._setup(parts, payload, env)
            if payload is not None:
                log.info("resumed from %s (step %d)", ckpt, self.pos.step)
            self._train(parts, env)
            return self._finish(env)
        finally:
            self.exp.close()

    def _setup(self, parts: Parts, payload: dict[str, Any] | None, env: Env) -> None:
        from promptevc.train.checkpoint import restore, set_rng_state
        from promptevc.train.optim import build_optimizer, build_scheduler

        cfg, info = self.task.train_config, self.info
        self.models = parts.models
        if payload is not None:  # weights first, on the CPU; then placed
            restore(payload, models=self.models, name=f"checkpoint step {payload['step']}")
        for m in self.models.values():
            m.to(self.device)
        self.groups = parts.groups
        self.optimizers = {g: build_optimizer(p, cfg) for g, p in self.groups.items()}
        self.schedulers = {g: build_scheduler(o, cfg) for g, o in self.optimizers.items()}
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.pos = _Position()
        self.saved_step = -1
        if payload is not None:
            self.saved_step = int(payload["step"])
            restore(payload, models={}, optimizers=self.optimizers, schedulers=self.schedulers, scaler=self.scaler)
            extra = payload.get("extra", {}).get("loop", {})
            self.pos = _Position(step=int(payload["step"]), epoch=int(extra.get("epoch", 0)),
                                 best=extra.get("best"), nonfinite_total=int(extra.get("nonfinite_total", 0)))
            saved_world = int(extra.get("world_size", 1))
            batches = int(extra.get("batch_in_epoch", 0))
            # Batches of the epoch already used, re-counted for this process count.
            self.pos.batch_in_epoch = batches if saved_world == info.world_size else \
                math.ceil(batches * saved_world / info.world_size)
            rng = payload.get("rng")
            if isinstance(rng, list) and len(rng) == info.world_size:
                set_rng_state(rng[info.rank])
            elif rng:
                set_rng_state(rng[0] if isinstance(rng, list) else rng)
        self.wrapped = {name: wrap_ddp(m, info, self.task.find_unused_parameters) for name, m in self.models.items()}
        self.ctx = StepContext(self.models, self.wrapped, self.optimizers, self.schedulers, self.groups,
                               self.scaler, cfg, env)
        self.loader = torch.utils.data.DataLoader(
            parts.train_set, batch_sampler=parts.sampler, collate_fn=parts.collate, num_workers=cfg.num_workers,
            pin_memory=self.device.type == "cuda", persistent_workers=cfg.num_workers > 0,
        )
        self.sampler = parts.sampler

    def _batches(self) -> Iterator[Any]:
        """Batches forever, epoch after epoch, starting at the next unseen one."""
        pos = self.pos
        while True:
            self.sampler.set_epoch(pos.epoch)
            self.sampler.set_start(pos.batch_in_epoch)
            for batch in self.loader:
                pos.batch_in_epoch += 1
                yield batch
            pos.epoch += 1
            pos.batch_in_epoch = 0

    # ---------------------------------------------------------------- training
    def _train(self, parts: Parts, env: Env) -> None:
        from tqdm import tqdm

        task, cfg, info, pos, ctx = self.task, self.task.train_config, self.info, self.pos, self.ctx
        if pos.step == 0 and task.validate_at_start and cfg.max_steps > 0:
            self._validate(env)
        for m in self.models.values():
            m.train()
        ddp_modules = [w for name, w in self.wrapped.items() if w is not self.models[name]]
        bar = tqdm(total=cfg.max_steps, initial=pos.step, desc=f"train {task.kind}", unit="step",
                   disable=not (self.progress and info.is_main), dynamic_ncols=True)
        sums: dict[str, torch.Tensor] = {}
        count, t0, steps_at_t0 = 0, time.time(), pos.step
        batches = self._batches()
        accum = cfg.grad_accum_steps
        try:
            while pos.step < cfg.max_steps:
                ctx._begin_step()
                for micro in range(accum):
                    batch = to_device(next(batches), self.device)
                    seed_batch(cfg.seed, (pos.step * accum + micro) * info.world_size + info.rank, self.device)
                    ctx.micro, ctx.last_micro = micro, micro == accum - 1
                    with contextlib.ExitStack() as stack:
                        if not ctx.last_micro:
                            for m in ddp_modules:
                                stack.enter_context(m.no_sync())
                        stack.enter_context(env.autocast())
                        metrics = task.train_step(batch, ctx)
                    for k, v in metrics.items():
                        v = v.detach().float()
                        sums[k] = sums[k] + v if k in sums else v
                    count += 1
                ctx._end_step()
                for g, norm in ctx.grad_norms.items():
                    k = "grad_norm" if len(self.groups) == 1 else f"grad_norm_{g}"
                    sums[k] = sums[k] + norm.float() if k in sums else norm.float()
                pos.step += 1
                bar.update(1)
                self._count_nonfinite(ctx.skipped)
                last = pos.step == cfg.max_steps
                if pos.step % cfg.log_every == 0 or last:
                    self._log(sums, count, pos.step - steps_at_t0, time.time() - t0, bar)
                    sums, count, t0, steps_at_t0 = {}, 0, time.time(), pos.step
                new_best = False
                if pos.step % cfg.valid_every == 0 or last:
                    new_best = self._validate(env)
                if pos.step % cfg.save_every == 0 or last or new_best:
                    self._save()
        finally:
            bar.close()

    def _count_nonfinite(self, skipped: list[str]) -> None:
        pos, cfg = self.pos, self.task.train_config
        if not skipped:
            pos.nonfinite_run = 0
            return
        pos.nonfinite_total += 1
        pos.nonfinite_run += 1
        scaler = "; the fp16 gradient scaler lowers its scale" if self.scaler.is_enabled() else ""
        log.warning("step %d: non-finite loss or gradient (%s); update skipped (%d skipped so far%s)",
                    pos.step, ", ".join(skipped), pos.nonfinite_total, scaler)
        if pos.nonfinite_run >= cfg.max_nonfinite_steps:
            raise TrainingError(
                f"step {pos.step}: {pos.nonfinite_run} steps in a row had a non-finite loss or gradient; "
                f"training stopped (last checkpoint kept). Lower train.learning_rate, set train.grad_clip, "
                f"or use --precision fp32/bf16 instead of {self.precision}"
            )

    def _log(self, sums: dict[str, torch.Tensor], count: int, steps: int, seconds: float, bar: Any) -> None:
        if not sums:
            return
        names = sorted(sums)
        # Task metrics were summed per batch, gradient norms per optimiser step.
        stacked = torch.stack([sums[k] for k in names])  # on the device: NCCL reduces GPU tensors only
        divisors = torch.tensor([max(steps if k.startswith("grad_norm") else count, 1) for k in names],
                                device=stacked.device)
        values = mean_over_processes(stacked / divisors, self.info)
        metrics = dict(zip(names, values.tolist(), strict=True))
        for g, sched in self.schedulers.items():
            metrics["lr" if len(self.schedulers) == 1 else f"lr_{g}"] = sched.get_last_lr()[0]
        metrics["steps_per_s"] = steps / max(seconds, 1e-9)
        metrics["nonfinite_steps"] = float(self.pos.nonfinite_total)
        if self.device.type == "cuda":
            metrics["gpu_mem_gb"] = torch.cuda.max_memory_allocated(self.device) / 2**30
        if self.info.is_main:
            self.exp.log_metrics(self.pos.step, metrics, split="train")
            shown = {k: v for k, v in metrics.items() if k in names[:3] or k == "loss"}
            bar.set_postfix({k: f"{v:.3g}" for k, v in shown.items()})
            log.info("step %d: %s", self.pos.step, ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))

    def _validate(self, env: Env) -> bool:
        """Validation on rank 0 (the others wait); True when it is a new best result."""
        new_best = False
        if self.info.is_main:
            for m in self.models.values():
                m.eval()
            with torch.no_grad(), env.autocast():
                metrics = self.task.validate(env, self.pos.step)
            for m in self.models.values():
                m.train()
            if metrics:
                self.exp.log_metrics(self.pos.step, metrics, split="valid")
                log.info("step %d valid: %s", self.pos.step, ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
                new_best = self._update_best(metrics)
        return bool(all_gather(new_best, self.info)[0])

    def _update_best(self, metrics: dict[str, float]) -> bool:
        spec = self.task.best_metric
        if spec is None or spec[0] not in metrics or self.pos.step == 0:
            return False
        name, mode = spec
        value = float(metrics[name])
        best = self.pos.best
        if best is None or (value < best["value"] if mode == "min" else value > best["value"]):
            self.pos.best = {"step": self.pos.step, "metric": name, "value": value}
            return True
        return False

    def _save(self) -> None:
        from promptevc.train.checkpoint import checkpoint_path, prune_checkpoints, rng_state, save_checkpoint

        rngs = all_gather(rng_state(), self.info)
        self.saved_step = self.pos.step
        if not self.info.is_main:
            return
        pos = self.pos
        extra = {"loop": {"epoch": pos.epoch, "batch_in_epoch": pos.batch_in_epoch,
                          "world_size": self.info.world_size, "best": pos.best,
                          "nonfinite_total": pos.nonfinite_total}}
        save_checkpoint(checkpoint_path(self.exp_dir, pos.step), step=pos.step, models=self.models,
                        optimizers=self.optimizers, schedulers=self.schedulers, scaler=self.scaler,
                        extra=extra, rng=rngs)
        protect = (checkpoint_path(self.exp_dir, pos.best["step"]),) if pos.best else ()
        prune_checkpoints(self.exp_dir, self.task.train_config.keep_checkpoints, protect=protect)

    def _finish(self, env: Env) -> Path:
        release = self.exp_dir / RELEASE_SUBDIR
        if self.saved_step != self.pos.step:  # the same decision on every process
            self._save()
        if self.info.is_main:
            for m in self.models.values():
                m.eval()
            with torch.no_grad():
                self.task.finish(env, self.pos.step)
            export_release(self.exp_dir, release)
        barrier(self.info)
        return release


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def resolve_checkpoint(exp_dir: Path, checkpoint: str | Path | None) -> Path:
    """The checkpoint to export: a path, ``best`` (the best validation result) or None (the latest)."""
    from promptevc.train.checkpoint import checkpoint_path, latest_checkpoint, read_checkpoint

    if checkpoint is None or str(checkpoint) == "latest":
        ckpt = latest_checkpoint(exp_dir)
        if ckpt is None:
            raise ModelLoadError(f"{exp_dir}: no checkpoint to export (train first, or pass --checkpoint)")
        return ckpt
    if str(checkpoint) == "best":
        latest = latest_checkpoint(exp_dir)
        best = read_checkpoint(latest).get("extra", {}).get("loop", {}).get("best") if latest else None
        if not best:
            raise ModelLoadError(f"{exp_dir}: no best checkpoint recorded (train with validation data)")
        ckpt = checkpoint_path(exp_dir, int(best["step"]))
    else:
        ckpt = Path(checkpoint)
    if not ckpt.is_file():
        raise ModelLoadError(f"{ckpt}: no such checkpoint")
    return ckpt


def export_release(exp_dir: str | Path, out_dir: str | Path, checkpoint: str | Path | None = None) -> Path:
    """Write the release of an experiment's checkpoint (latest, ``best`` or a path) to ``out_dir``.

    The kind comes from ``EXP/experiment.json``; the task decides the contents (inference needs
    only: architecture config, AudioConfig, labels, encoder ids with revisions, weights).
    """
    from promptevc.release import write_release
    from promptevc.train.checkpoint import read_checkpoint
    from promptevc.train.experiment import load_saved_config, read_experiment_info

    exp_dir = Path(exp_dir)
    info = read_experiment_info(exp_dir)
    cls = task_class(info["kind"])
    config = load_saved_config(exp_dir, cls.config_class)
    ckpt = resolve_checkpoint(exp_dir, checkpoint)
    payload = read_checkpoint(ckpt)
    contents = cls.release(config, payload, exp_dir)
    meta = {**contents.meta, "step": int(payload["step"])}
    out = write_release(out_dir, kind=cls.kind, config=contents.config, tensors=contents.tensors, meta=meta,
                        folders=contents.folders)
    log.info("wrote %s release %s (step %d)", cls.kind, out, meta["step"])
    return out
