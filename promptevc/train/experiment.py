"""Experiment directories: resolved config, command, git commit, logs and metrics (DESIGN §6).

``EXP/`` holds ``config.yaml`` (the resolved config), ``command.txt``, ``git_commit.txt``,
``experiment.json`` (kind, versions, start time, and facts the release needs such as encoder
revisions), ``train.log``, ``metrics.csv`` and
TensorBoard events (``tb/``, when tensorboard is installed), and ``checkpoints/``.
"""

from __future__ import annotations

import csv
import json
import logging
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from promptevc import __version__
from promptevc.config import save_yaml
from promptevc.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")


def git_commit(cwd: str | Path | None = None) -> str:
    """Commit hash of the toolkit source (plus "-dirty"), or "unknown" outside a checkout."""
    cwd = cwd or Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def read_experiment_info(exp_dir: str | Path) -> dict[str, Any]:
    """``EXP/experiment.json``: kind, versions, start time and the task's provenance facts."""
    path = Path(exp_dir) / "experiment.json"
    if not path.exists():
        raise ConfigError(f"{exp_dir}: not an experiment dir (no experiment.json); pass the --exp of a training run")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(info, dict) or "kind" not in info:
        raise ConfigError(f"{path}: has no experiment kind")
    return info


def read_experiment_kind(exp_dir: str | Path) -> str:
    return read_experiment_info(exp_dir)["kind"]


def check_experiment_kind(exp_dir: str | Path, kind: str) -> None:
    """ConfigError when ``exp_dir`` already holds an experiment of another kind."""
    if (Path(exp_dir) / "experiment.json").exists():
        previous = read_experiment_kind(exp_dir)
        if previous != kind:
            raise ConfigError(f"{exp_dir}: holds a {previous!r} experiment, not {kind!r}; use another --exp")


def load_saved_config(exp_dir: str | Path, cls: type[T]) -> T:
    """The resolved config an experiment was trained with (``EXP/config.yaml``)."""
    from promptevc.train.config import load_train_config

    path = Path(exp_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{exp_dir}: no config.yaml; pass the --exp of a training run")
    return load_train_config(cls, path)


class Experiment:
    """Owns one experiment dir for a training run; only rank 0 writes files."""

    def __init__(
        self,
        exp_dir: str | Path,
        kind: str,
        config: Any,
        argv: Sequence[str] | None = None,
        is_main: bool = True,
        tensorboard: bool = True,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.dir = Path(exp_dir)
        self.kind = kind
        self.is_main = is_main
        self._tb = None
        self._csv_file = None
        self._csv_writer = None
        self._csv_fields: list[str] | None = None
        if not is_main:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "checkpoints").mkdir(exist_ok=True)
        info_path = self.dir / "experiment.json"
        check_experiment_kind(self.dir, kind)
        save_yaml(config, self.dir / "config.yaml")
        argv = list(argv if argv is not None else sys.argv)
        with open(self.dir / "command.txt", "a", encoding="utf-8") as f:
            f.write(" ".join(shlex.quote(a) for a in argv) + "\n")
        (self.dir / "git_commit.txt").write_text(git_commit() + "\n", encoding="utf-8")
        facts = {"kind": kind, "toolkit_version": __version__, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 **(info or {})}
        info_path.write_text(json.dumps(facts, indent=2), encoding="utf-8")
        handler = logging.FileHandler(self.dir / "train.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("promptevc").addHandler(handler)
        self._log_handler = handler
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.dir / "tb"))
            except Exception:  # tensorboard is an optional extra  # noqa: BLE001
                self._tb = None

    @property
    def checkpoint_dir(self) -> Path:
        return self.dir / "checkpoints"

    def log_metrics(self, step: int, metrics: dict[str, float], split: str = "train") -> None:
        """Append ``metrics`` to metrics.csv (long format: step, split, name, value) and TensorBoard."""
        if not self.is_main:
            return
        if self._csv_writer is None:
            path = self.dir / "metrics.csv"
            new = not path.exists()
            self._csv_file = open(path, "a", newline="", encoding="utf-8")
            self._csv_writer = csv.writer(self._csv_file)
            if new:
                self._csv_writer.writerow(["step", "split", "name", "value", "time"])
        now = f"{time.time():.1f}"
        for name, value in metrics.items():
            value = float(value)
            self._csv_writer.writerow([step, split, name, f"{value:.6g}", now])
            if self._tb is not None:
                self._tb.add_scalar(f"{split}/{name}", value, step)
        self._csv_file.flush()

    def close(self) -> None:
        if self._csv_file:
            self._csv_file.close()
            self._csv_file = None
            self._csv_writer = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self.is_main and getattr(self, "_log_handler", None):
            logging.getLogger("promptevc").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None


def read_metrics(exp_dir: str | Path) -> list[dict[str, str]]:
    """Rows of EXP/metrics.csv as dicts (for plots and tests)."""
    path = Path(exp_dir) / "metrics.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
