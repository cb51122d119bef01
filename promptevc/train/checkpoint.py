"""Resume checkpoints: everything needed to continue training exactly where it stopped.

A checkpoint (``EXP/checkpoints/step_00001000.pt``) holds model, optimiser, scheduler and AMP
scaler states, the step, and the python/numpy/torch RNG states. It contains only tensors and
plain python values, so it loads with ``torch.load(weights_only=True)``. It is resume state,
not a release: inference never reads it (``promptevc export`` turns it into a release).
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from promptevc.errors import ModelLoadError

_STEP_RE = re.compile(r"step_(\d+)\.pt$")


def checkpoint_path(exp_dir: str | Path, step: int) -> Path:
    return Path(exp_dir) / "checkpoints" / f"step_{step:08d}.pt"


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"key": np_state[0], "state": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["key"], n["state"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model


def save_checkpoint(
    path: str | Path,
    *,
    step: int,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    schedulers: dict[str, Any] | None = None,
    scaler: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a resume checkpoint atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "step": int(step),
        "models": {k: _unwrap(m).state_dict() for k, m in models.items()},
        "optimizers": {k: o.state_dict() for k, o in (optimizers or {}).items()},
        "schedulers": {k: s.state_dict() for k, s in (schedulers or {}).items()},
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": _rng_state(),
        "extra": extra or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    path: str | Path,
    *,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    schedulers: dict[str, Any] | None = None,
    scaler: Any = None,
    map_location: str | torch.device = "cpu",
    restore_rng: bool = True,
) -> tuple[int, dict[str, Any]]:
    """Restore states in place (strict keys); returns ``(step, extra)``."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a user-facing error
        raise ModelLoadError(f"{path}: cannot read checkpoint ({str(err).splitlines()[0]})") from None
    missing = set(models) - set(payload["models"])
    if missing:
        raise ModelLoadError(f"{path}: checkpoint has no state for {sorted(missing)[0]!r}")
    from promptevc.release import load_state_strict

    for name, model in models.items():
        load_state_strict(_unwrap(model), payload["models"][name], name=f"{path.name}:{name}")
    for name, opt in (optimizers or {}).items():
        if name in payload["optimizers"]:
            opt.load_state_dict(payload["optimizers"][name])
    for name, sched in (schedulers or {}).items():
        if name in payload["schedulers"]:
            sched.load_state_dict(payload["schedulers"][name])
    if scaler is not None and payload.get("scaler"):
        scaler.load_state_dict(payload["scaler"])
    if restore_rng and payload.get("rng"):
        _set_rng_state(payload["rng"])
    return int(payload["step"]), payload.get("extra", {})


def list_checkpoints(exp_dir: str | Path) -> list[Path]:
    ckpt_dir = Path(exp_dir) / "checkpoints"
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _STEP_RE.search(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(exp_dir: str | Path) -> Path | None:
    ckpts = list_checkpoints(exp_dir)
    return ckpts[-1] if ckpts else None


def prune_checkpoints(exp_dir: str | Path, keep: int = 3) -> None:
    """Delete all but the newest ``keep`` checkpoints."""
    for p in list_checkpoints(exp_dir)[:-keep] if keep > 0 else []:
        p.unlink(missing_ok=True)
