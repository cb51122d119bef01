"""Optimisers and learning-rate schedules, built from :class:`~promptevc.train.config.TrainConfig`.

One AdamW per parameter group a task declares (the vocoder has two: generator and
discriminators), each with the same schedule: linear warm-up over ``warmup_steps``, then

- ``exponential``: ``lr * lr_decay ** (step - warmup_steps)`` (PromptEVC §3.1 decays by a
  constant factor; HiFi-GAN by 0.999 per epoch),
- ``cosine``: half a cosine from ``lr`` down to ``lr * min_lr_ratio`` at ``max_steps``,
- ``constant``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from promptevc.train.config import TrainConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over ``params`` with the config's learning rate, betas and weight decay.

    The multi-tensor implementation on CPU (one kernel per op over all tensors: much faster for
    many small tensors than the per-tensor default there), the fused one on CUDA.
    """
    params = list(params)
    on_cuda = bool(params) and all(p.device.type == "cuda" for p in params)
    return torch.optim.AdamW(params, lr=cfg.learning_rate, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay,
                             **({"fused": True} if on_cuda else {"foreach": True}))


def lr_factor(cfg: TrainConfig) -> Callable[[int], float]:
    """The multiplier of the base learning rate after ``step`` optimiser steps."""
    warm, decay = cfg.warmup_steps, cfg.lr_decay

    def factor(step: int) -> float:
        w = min(1.0, (step + 1) / warm) if warm > 0 else 1.0
        after = max(0, step - warm)
        if cfg.scheduler == "exponential":
            return w * decay**after
        if cfg.scheduler == "cosine":
            progress = min(1.0, after / max(1, cfg.max_steps - warm))
            return w * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
        return w

    return factor


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule of ``optimizer`` (call ``step()`` after each optimiser step)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg))
