"""Argument helpers shared by subcommands: option types that refuse bad values at parse time."""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

MAX_SEED = 2**32 - 1
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb|tb)\s*$", re.IGNORECASE)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a finite number")
    return value


def finite_float(text: str) -> float:
    """A finite number (``nan`` and ``inf`` are refused)."""
    return _number(text)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} must be greater than 0")
    return value


def unit_float(text: str) -> float:
    """A finite number in [0, 1] (intensities)."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is outside [0, 1]")
    return value


def seed_int(text: str) -> int:
    """A whole number in [0, 2**32 - 1] (every random generator in use accepts it)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is outside [0, {MAX_SEED}]")
    return value


def sample_rate_int(text: str) -> int:
    """An output sample rate in Hz (4000..384000)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number of Hz") from None
    if not 4000 <= value <= 384000:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is outside 4000..384000 Hz")
    return value


def file_size(text: str) -> str:
    """A size such as ``20mb``, ``500kb`` or ``1gb`` (Gradio's units), returned normalised."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a size; write e.g. 20mb, 500kb or 1gb")
    return f"{int(m[1])}{m[2].lower()}"


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.max_steps=100 (repeatable)",
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", default="auto", help="torch device: auto (cuda when available), cpu, cuda, cuda:1 ..."
    )


def resolve_device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


TRAINING_HELP = """\
Training (the same for train, train-evaluator and train-vocoder): re-running with the same --exp
resumes from its latest checkpoint at the next unseen batch. Multi-GPU: torchrun --nproc_per_node N
$(which promptevc) <command> ... --device cuda (one process per GPU; rank 0 writes EXP). The train:
section of the config (train.learning_rate, train.batch_size, train.max_batch_frames,
train.grad_accum_steps, train.precision, train.log_every, train.valid_every, train.save_every ...)
is described in promptevc/train/config.py. At the end the release is written to EXP/release.
"""


def add_training_arguments(parser: argparse.ArgumentParser, packaged: str) -> None:
    """--config, --exp, --seed, --precision, --progress, --set and --device of the training commands."""
    parser.add_argument("--config", required=True,
                        help=f"training config YAML, or a packaged name ({packaged})")
    parser.add_argument("--exp", required=True, help="experiment dir (created; resumed when it has checkpoints)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: train.seed of the config)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default=None,
                        help="numeric precision (default: train.precision of the config; auto = bf16 on GPUs "
                             "that support it, fp16 with a gradient scaler on other GPUs, fp32 on CPU)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                        help="show a progress bar (default: on)")
    add_set_argument(parser)
    add_device_argument(parser)


def load_training_config(args: argparse.Namespace, cls: type, prefix: str) -> Any:
    """The config of a training command: --config (path or packaged name), --set, then --seed."""
    from promptevc.train.config import load_train_config, resolve_config_path

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    return load_train_config(cls, resolve_config_path(args.config, prefix), overrides)


def check_dirs(**dirs: str | None) -> None:
    """ConfigError naming the flag of the first directory that does not exist (flag name = keyword)."""
    from pathlib import Path

    from promptevc.errors import ConfigError

    for flag, path in dirs.items():
        if path is not None and not Path(path).is_dir():
            raise ConfigError(f"--{flag.replace('_', '-')} {path}: no such directory")


def print_result(path: Any) -> None:
    """Print a result path once (rank 0 only under torchrun)."""
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        print(path)
