"""The training vocabulary shared by every trainer: :class:`TrainConfig`, and strict config loading.

Every training YAML (``promptevc/configs/{acoustic,evaluator,vocoder}_*.yaml``) has a ``train:``
section parsed into the same :class:`TrainConfig`: optimiser, learning-rate schedule, precision,
batch budget, steps, log/validation/checkpoint cadence and seed mean the same thing for the
acoustic model, the emotion evaluator and the vocoder. What only one task has lives in that
task's own sections (``data:``, ``loss:``, the model sections).

Loading is strict (unknown keys and wrong types are errors). Keys of the older per-trainer
vocabularies (``train.lr``, ``optim.learning_rate``, ``train.log_every_steps`` ...) are refused
with a message that names the key to use instead (:data:`RENAMED`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from promptevc.config import load_yaml
from promptevc.errors import ConfigError

T = TypeVar("T")

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"

Precision = Literal["auto", "fp32", "bf16", "fp16"]


@dataclasses.dataclass
class TrainConfig:
    """How a model is trained; the same keys for the acoustic model, the evaluator and the vocoder."""

    max_steps: int = 1000  # optimiser steps (one step = grad_accum_steps batches on every process)
    seed: int = 1234
    # ---- batches
    batch_size: int = 8  # at most this many utterances (or segments) per batch and process
    # Length-bucketed batching: at most this many padded frames per batch (longest utterance x
    # batch size), so memory is bounded by the budget, not by the longest utterance. 0 = no budget
    # (batch_size alone). Tasks with fixed-size training examples (the vocoder) ignore it.
    max_batch_frames: int = 0
    grad_accum_steps: int = 1  # batches whose gradients are summed before each optimiser step
    num_workers: int = 0  # DataLoader worker processes
    # ---- optimiser (AdamW)
    learning_rate: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01
    grad_clip: float | None = 1.0  # max global gradient norm per optimiser; null = no clipping
    # ---- learning-rate schedule: linear warm-up, then
    #   exponential: lr * lr_decay ** step (per optimiser step);  cosine: down to lr * min_lr_ratio
    #   at max_steps;  constant.
    scheduler: Literal["exponential", "cosine", "constant"] = "exponential"
    warmup_steps: int = 0
    lr_decay: float = 0.999875
    min_lr_ratio: float = 0.0
    # ---- numerics
    # auto: bf16 on a GPU that supports it, fp16 (with a gradient scaler) on other GPUs, fp32 on CPU.
    precision: Precision = "auto"
    # A step whose loss or gradient is not finite is skipped and counted; this many in a row stop
    # training with an error.
    max_nonfinite_steps: int = 25
    # ---- cadence (in optimiser steps; the last step always logs, validates and saves)
    log_every: int = 50
    valid_every: int = 500
    valid_max_batches: int = 0  # 0 = the whole validation set
    save_every: int = 500
    keep_checkpoints: int = 3  # newest checkpoints kept (the best one is always kept too)

    def __post_init__(self) -> None:
        for name in ("max_steps", "grad_accum_steps", "log_every", "valid_every", "save_every"):
            if getattr(self, name) < (0 if name == "max_steps" else 1):
                raise ValueError(f"{name} must be {'>= 0' if name == 'max_steps' else '>= 1'}")
        if self.batch_size < 1 or self.max_batch_frames < 0:
            raise ValueError("batch_size must be >= 1 and max_batch_frames >= 0")
        if self.learning_rate <= 0:
            raise ValueError("learning_rate must be > 0")
        if self.max_nonfinite_steps < 1:
            raise ValueError("max_nonfinite_steps must be >= 1")


# Keys of the older per-trainer vocabularies -> what to write instead.
RENAMED: dict[str, str] = {
    "train.lr": "train.learning_rate",
    "train.amp": "train.precision (auto, fp32, bf16 or fp16)",
    "train.log_every_steps": "train.log_every",
    "train.valid_every_steps": "train.valid_every",
    "train.save_every_steps": "train.save_every",
    "train.init": "init (top level)",
    "train.loss": "loss (top level)",
    "train.max_frames": "data.max_frames",
    "train.default_intensity": "data.default_intensity",
    "train.heldout_prompt_fraction": "data.heldout_prompt_fraction",
    "train.freq_mask": "data.freq_mask",
    "train.time_mask": "data.time_mask",
    "train.stats_utts": "data.stats_utts",
    "train.label_smoothing": "loss.label_smoothing",
    "train.av_weight": "loss.arousal_valence",
    "optim": "train (the optimiser settings are part of train)",
    "optim.learning_rate": "train.learning_rate",
    "optim.betas": "train.betas",
    "optim.weight_decay": "train.weight_decay",
    "optim.lr_decay": "train.lr_decay (per step)",
    "optim.lr_decay_every_steps": "train.lr_decay (now per step: lr_decay ** (1 / lr_decay_every_steps))",
    "optim.grad_clip": "train.grad_clip",
    "data.batch_size": "train.batch_size",
    "data.num_workers": "train.num_workers",
}


def _dotted_keys(data: Any, prefix: str = "") -> list[str]:
    if not isinstance(data, dict):
        return []
    keys = []
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        keys.append(dotted)
        keys.extend(_dotted_keys(value, dotted))
    return keys


def check_renamed(keys: Sequence[str], where: str) -> None:
    """ConfigError for the first key of an older vocabulary, naming the key that replaces it."""
    # The most specific key first: optim.learning_rate says more than optim.
    for key in sorted(keys, key=lambda k: -k.count(".")):
        if key in RENAMED:
            raise ConfigError(f"{where}: {key} is no longer a config key; use {RENAMED[key]}")


def load_train_config(cls: type[T], path: str | Path, overrides: Sequence[str] = ()) -> T:
    """Read a training YAML strictly into ``cls``, then apply dotted ``--set`` overrides."""
    check_renamed([item.split("=", 1)[0].strip() for item in overrides], "--set")
    try:
        return load_yaml(cls, path, overrides)
    except ConfigError:
        try:  # an older key name says more than "unknown key"
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        check_renamed(_dotted_keys(data), str(path))
        raise


def resolve_config_path(name: str | Path, prefix: str) -> Path:
    """A YAML path, or the name of a packaged config: ``tiny`` or ``evaluator_tiny`` for prefix ``evaluator``."""
    path = Path(name)
    if path.is_file():
        return path
    if path.parent == Path(".") and path.suffix not in (".yaml", ".yml"):
        for stem in (str(name), f"{prefix}_{name}"):
            packaged = CONFIG_DIR / f"{stem}.yaml"
            if packaged.is_file() and stem.startswith(f"{prefix}_"):
                return packaged
    choices = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob(f"{prefix}_*.yaml")))
    raise ConfigError(f"{name}: no such config file; pass a YAML path or one of: {choices}")


def derive(config_value: Any, default: Any, data_value: Any, key: str, source: str) -> Any:
    """The data's value of a data-dependent config field; a conflicting explicit value is an error.

    Fields such as the number of k-means units are facts of the data, derived when the task is
    built. A config that leaves the field at its default gets the data's value; one that sets
    another value is refused rather than silently overwritten.
    """
    if config_value != default and config_value != data_value:
        raise ConfigError(f"{key} is {config_value!r} in the config but {data_value!r} in {source}; "
                          f"remove {key} from the config (it is derived from the data)")
    return data_value
