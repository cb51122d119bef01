"""Argument helpers shared by subcommands: option types that refuse bad values at parse time."""

from __future__ import annotations

import argparse
import math
import re

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
