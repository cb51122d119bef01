"""Training losses: the acoustic model's (DESIGN §4, PromptEVC Eq. 3-6, EINet Eq. 6) and the
vocoder's least-squares GAN losses (HiFi-GAN).

All masked terms average over valid positions only. :func:`acoustic_losses` returns every term
(unweighted, detached 0-d tensors for logging: no host sync per step) and the weighted total used
for the backward pass.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from promptevc.models.config import LossWeights


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over valid frames; pred/target (B, L, C), mask (B, L)."""
    m = mask.to(pred.dtype).unsqueeze(-1)
    return ((pred - target).abs() * m).sum() / (m.sum() * pred.shape[-1]).clamp(min=1.0)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.to(pred.dtype)
    return ((pred - target) ** 2 * m).sum() / m.sum().clamp(min=1.0)


def log_cosh_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean log cosh(pred - target) over valid positions (PromptEVC Eq. 4), numerically stable."""
    x = pred - target
    # log cosh x = |x| + log1p(exp(-2|x|)) - log 2, safe for large |x|.
    val = x.abs() + torch.log1p(torch.exp(-2.0 * x.abs())) - math.log(2.0)
    m = mask.to(val.dtype)
    return (val * m).sum() / m.sum().clamp(min=1.0)


def acoustic_losses(
    out: dict[str, torch.Tensor],
    batch: dict[str, Any],
    weights: LossWeights,
    evaluator: nn.Module | None = None,
    mel_denorm: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted total loss and a dict of the unweighted terms (detached 0-d tensors).

    ``out``: :meth:`PromptEVC.forward` outputs. ``evaluator``: the frozen emotion evaluator; its
    cross-entropy on ``mel_denorm`` (B, n_mels, F), the generated mel in the AudioConfig's log
    scale, pushes the rendering towards the target emotion.
    """
    fm, um = out["frame_mask"], out["unit_mask"]
    voiced = batch["voiced"] > 0.5
    terms: dict[str, torch.Tensor] = {
        "mel": masked_l1(out["mel_pred"], out["mel_target"], fm),
        "postnet": masked_l1(out["mel_post"], out["mel_target"], fm),
        "duration": log_cosh_loss(out["log_dur"], torch.log1p(batch["durations"].to(out["log_dur"].dtype)), um),
        "f0": masked_mse(out["lf0"], batch["lf0"], fm & voiced),
        "voicing": (nn.functional.binary_cross_entropy_with_logits(
            out["voicing_logit"], batch["voiced"], reduction="none") * fm).sum() / fm.sum().clamp(min=1),
        "energy": masked_mse(out["energy"], batch["energy"], fm),
        "diffusion": out["loss_diffusion"],
        "speaker_f0": ((out["f0_stats"] - batch["spk_f0_stats"].to(out["f0_stats"].dtype)) ** 2).sum(-1).mean(),
        "descriptor_intensity": nn.functional.mse_loss(out["desc_intensity"], batch["intensity"]),
        "descriptor_emotion": nn.functional.cross_entropy(out["desc_logits"], batch["emotion"]),
    }
    if "loss_projection" in out:  # the prompt-mapper ablation head (model.prompt_mapper.projection)
        terms["projection"] = out["loss_projection"]
    if evaluator is not None and mel_denorm is not None and weights.emotion > 0:
        logits = evaluator(mel_denorm, batch["mel_lens"])["logits"]
        terms["emotion"] = nn.functional.cross_entropy(logits.float(), batch["emotion"])
    total = sum(getattr(weights, k) * v for k, v in terms.items())
    return total, {k: v.detach() for k, v in terms.items()}


def discriminator_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """sum over discriminators of mean((1 - D(y))^2) + mean(D(G(x))^2)."""
    return sum(torch.mean((1 - r) ** 2) + torch.mean(f**2) for r, f in zip(real, fake, strict=True))


def generator_adversarial_loss(fake: list[torch.Tensor]) -> torch.Tensor:
    """sum over discriminators of mean((1 - D(G(x)))^2)."""
    return sum(torch.mean((1 - f) ** 2) for f in fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """sum over discriminators and layers of L1(features(y), features(G(x))), real detached."""
    return sum(
        torch.mean(torch.abs(r.detach() - f))
        for real_d, fake_d in zip(real, fake, strict=True)
        for r, f in zip(real_d, fake_d, strict=True)
    )
