"""Resume checkpoints: everything needed to continue training exactly where it stopped.

A checkpoint (``EXP/checkpoints/step_00001000.pt``) holds model, optimiser, scheduler and
gradient-scaler states, the step, the python/numpy/torch RNG states and whatever the caller
adds in ``extra`` (the training loop stores its epoch position, best validation result and
skip counters there). It contains only tensors and plain python values, so it loads with
``torch.load(weights_only=True)``. It is resume state, not a release: inference never reads it
(``promptevc export`` turns it into a release).

A checkpoint is always read onto the CPU; module states are then copied into the modules
wherever they live (``load_state_dict`` moves them), and RNG states are restored from the CPU
copies. Saving on a GPU and resuming on another device (or on the CPU) therefore works.
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


def step_of(path: str | Path) -> int:
    match = _STEP_RE.search(Path(path).name)
    if not match:
        raise ModelLoadError(f"{path}: not a checkpoint file name (step_NNNNNNNN.pt)")
    return int(match.group(1))


def rng_state() -> dict[str, Any]:
    """The python, numpy, torch (CPU) and CUDA RNG states of this process (CPU tensors)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"key": np_state[0], "state": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def _cpu(t: torch.Tensor) -> torch.Tensor:
    if t.device.type != "cpu":
        raise ModelLoadError(f"RNG state on {t.device}; checkpoints must be read onto the CPU (read_checkpoint)")
    return t


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state` output; every tensor must be on the CPU (as read_checkpoint gives)."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["key"], _cpu(n["state"]).numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(_cpu(state["torch"]).to(torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        cuda = [_cpu(s) for s in state["cuda"]]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


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
    rng: Any = None,
) -> Path:
    """Write a resume checkpoint atomically (temp file + rename).

    ``rng``: the RNG state(s) to store (default: this process's :func:`rng_state`); the training
    loop passes one per process.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "step": int(step),
        "models": {k: _unwrap(m).state_dict() for k, m in models.items()},
        "optimizers": {k: o.state_dict() for k, o in (optimizers or {}).items()},
        "schedulers": {k: s.state_dict() for k, s in (schedulers or {}).items()},
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "rng": rng if rng is not None else rng_state(),
        "extra": extra or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The payload of a checkpoint, every tensor on the CPU (weights_only: no arbitrary unpickling)."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a user-facing error
        raise ModelLoadError(f"{path}: cannot read checkpoint ({str(err).splitlines()[0]})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("models"), dict) or "step" not in payload:
        raise ModelLoadError(f"{path}: not a promptevc training checkpoint")
    return payload


def restore(
    payload: dict[str, Any],
    *,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    schedulers: dict[str, Any] | None = None,
    scaler: Any = None,
    name: str = "checkpoint",
) -> None:
    """Copy the states of a :func:`read_checkpoint` payload into modules, optimisers and schedulers (strict)."""
    from promptevc.release import load_state_strict

    missing = set(models) - set(payload["models"])
    if missing:
        raise ModelLoadError(f"{name}: checkpoint has no state for {sorted(missing)[0]!r}")
    for key, model in models.items():
        load_state_strict(_unwrap(model), payload["models"][key], name=f"{name}:{key}")
    for key, opt in (optimizers or {}).items():
        if key in payload.get("optimizers", {}):
            opt.load_state_dict(payload["optimizers"][key])  # state moves to the parameters' device
    for key, sched in (schedulers or {}).items():
        if key in payload.get("schedulers", {}):
            sched.load_state_dict(payload["schedulers"][key])
    if scaler is not None and scaler.is_enabled() and payload.get("scaler"):
        scaler.load_state_dict(payload["scaler"])


def load_checkpoint(
    path: str | Path,
    *,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    schedulers: dict[str, Any] | None = None,
    scaler: Any = None,
    restore_rng: bool = True,
) -> tuple[int, dict[str, Any]]:
    """Read a checkpoint on the CPU and restore it in place (strict keys); returns ``(step, extra)``.

    The modules may live on any device. A checkpoint of several processes holds a list of RNG
    states; this restores the first.
    """
    payload = read_checkpoint(path)
    restore(payload, models=models, optimizers=optimizers, schedulers=schedulers, scaler=scaler,
            name=Path(path).name)
    if restore_rng and payload.get("rng"):
        rng = payload["rng"]
        set_rng_state(rng[0] if isinstance(rng, list) else rng)
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


def prune_checkpoints(exp_dir: str | Path, keep: int = 3, protect: tuple[Path, ...] = ()) -> None:
    """Delete all but the newest ``keep`` checkpoints and those in ``protect`` (e.g. the best one)."""
    keep_paths = {p.resolve() for p in protect}
    for p in list_checkpoints(exp_dir)[:-keep] if keep > 0 else []:
        if p.resolve() not in keep_paths:
            p.unlink(missing_ok=True)
