"""Prompt mapper: conditional diffusion from e_txt to the fine-grained emotion embedding e_pm.

PromptEVC (papers.md §1.2) describes a variance-preserving diffusion over the emotion embedding,
starting from x_0 = e_ref, with a Transformer-encoder network conditioned on e_txt and time.
Its text says the network predicts x_0, but its loss (Eq. 3) regresses the noise. We follow the
loss: **epsilon prediction**, L = || eps - eps_theta(x_t, e_txt, t) ||^2, on a discrete VP (DDPM)
schedule; x_0 is recovered from eps in the sampler. Epsilon prediction is the standard, well-
conditioned parameterisation at the noisy end of the schedule.

Inference uses a deterministic DDIM sampler (eta = 0) over ``sample_steps`` evenly spaced steps,
starting from Gaussian noise drawn with a seeded generator, so a seed gives one e_pm.
Optional classifier-free guidance: e_txt is dropped (replaced by a learned null token) with
probability ``cond_dropout`` during training; ``guidance`` > 1 extrapolates at sampling time.

The denoiser sees three tokens, [x_t, e_txt, time], through a small Transformer encoder and reads
eps off the x_t token.

Ablation (``cfg.projection``): a linear head ``e_txt -> e_ref`` trained beside the mapper with an
MSE loss on a *detached* e_txt, so it learns from the same text embedding without changing
anything else the model learns. :meth:`PromptMapper.project` is the deterministic point estimate
PromptEVC's "w/o prompt mapper" row stands for; the neural engine uses it with
``--prompt-mapper projection``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from promptevc.models.config import PromptMapperConfig

X0_CLIP = 4.0


def make_alpha_bars(cfg: PromptMapperConfig) -> torch.Tensor:
    """Cumulative signal fractions alpha_bar_t for t = 1..T, shape (T,), decreasing from ~1 to ~0."""
    steps = cfg.diffusion_steps
    if cfg.schedule == "linear":
        betas = torch.linspace(cfg.beta_start, cfg.beta_end, steps, dtype=torch.float64)
        return torch.cumprod(1.0 - betas, 0).float()
    # Cosine schedule (Nichol & Dhariwal 2021), betas clipped at 0.999.
    s = 0.008
    t = torch.linspace(0, steps, steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1.0 - betas, 0).float()


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer steps t (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / max(half, 1))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    return nn.functional.pad(emb, (0, dim - emb.shape[-1]))


class PromptMapper(nn.Module):
    """eps_theta(x_t (B, E), e_txt (B, D_txt), t (B,)) and the diffusion loss / DDIM sampler."""

    def __init__(self, cfg: PromptMapperConfig, emb_dim: int, txt_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.emb_dim = emb_dim
        d = cfg.dim
        self.in_x = nn.Linear(emb_dim, d)
        self.in_txt = nn.Linear(txt_dim, d)
        self.null_txt = nn.Parameter(torch.zeros(txt_dim))
        self.in_t = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.pos = nn.Parameter(torch.randn(3, d) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d, cfg.heads, dim_feedforward=4 * d, dropout=cfg.dropout, batch_first=True, norm_first=True
        )
        self.net = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, emb_dim))
        self.register_buffer("alpha_bars", make_alpha_bars(cfg), persistent=False)
        self.projection = nn.Linear(txt_dim, emb_dim) if cfg.projection else None

    def eps(self, x_t: torch.Tensor, e_txt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predicted noise (B, E) for noisy x_t (B, E) at integer steps t (B,) in [0, T)."""
        tokens = torch.stack(
            [self.in_x(x_t), self.in_txt(e_txt), self.in_t(timestep_embedding(t, self.cfg.dim))], dim=1
        )
        h = self.net(tokens + self.pos)
        return self.out(h[:, 0])

    def loss(self, x0: torch.Tensor, e_txt: torch.Tensor) -> torch.Tensor:
        """Epsilon-prediction MSE (Eq. 3 of PromptEVC) for clean embeddings x0 (B, E)."""
        if self.cfg.repeats > 1:
            x0 = x0.repeat(self.cfg.repeats, 1)
            e_txt = e_txt.repeat(self.cfg.repeats, 1)
        b = x0.shape[0]
        t = torch.randint(0, self.cfg.diffusion_steps, (b,), device=x0.device)
        ab = self.alpha_bars[t].unsqueeze(-1)
        noise = torch.randn_like(x0)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        if self.training and self.cfg.cond_dropout > 0:
            drop = torch.rand(b, 1, device=x0.device) < self.cfg.cond_dropout
            e_txt = torch.where(drop, self.null_txt.expand_as(e_txt), e_txt)
        return nn.functional.mse_loss(self.eps(x_t, e_txt, t), noise)

    def projection_loss(self, x0: torch.Tensor, e_txt: torch.Tensor) -> torch.Tensor:
        """MSE of the ablation head's estimate of x0 (B, E) from a detached e_txt (B, D_txt)."""
        if self.projection is None:
            raise ValueError("this prompt mapper has no projection head (prompt_mapper.projection is false)")
        return nn.functional.mse_loss(self.projection(e_txt.detach()), x0)

    def project(self, e_txt: torch.Tensor) -> torch.Tensor:
        """The ablation head's e_pm (B, E) for e_txt (B, D_txt): a linear read-out, no sampling."""
        if self.projection is None:
            raise ValueError("this prompt mapper has no projection head (prompt_mapper.projection is false)")
        return self.projection(e_txt)

    @torch.no_grad()
    def sample(
        self,
        e_txt: torch.Tensor,
        steps: int | None = None,
        generator: torch.Generator | None = None,
        guidance: float | None = None,
        num_samples: int | None = None,
    ) -> torch.Tensor:
        """Deterministic DDIM (eta = 0) sample e_pm (B, E) given e_txt (B, D_txt).

        The starting noise is drawn on the CPU with ``generator`` (same seed -> same e_pm on any
        device). With ``num_samples`` > 1 (default ``cfg.num_samples``) the result is the mean of
        that many samples per row.
        """
        k = int(num_samples or self.cfg.num_samples)
        if k > 1:
            b0 = e_txt.shape[0]
            many = self.sample(e_txt.repeat_interleave(k, 0), steps, generator, guidance, num_samples=1)
            return many.reshape(b0, k, -1).mean(1)
        steps = int(steps or self.cfg.sample_steps)
        guidance = self.cfg.guidance if guidance is None else guidance
        total = self.cfg.diffusion_steps
        b = e_txt.shape[0]
        x = torch.randn(b, self.emb_dim, generator=generator).to(e_txt.device, e_txt.dtype)
        # Evenly spaced steps from T-1 down to 0.
        ts = torch.linspace(total - 1, 0, max(steps, 1)).round().long().tolist()
        null = self.null_txt.expand_as(e_txt)
        for i, t in enumerate(ts):
            tt = torch.full((b,), t, device=e_txt.device, dtype=torch.long)
            eps = self.eps(x, e_txt, tt)
            if guidance != 1.0:
                eps = self.eps(x, null, tt) + guidance * (eps - self.eps(x, null, tt))
            ab = self.alpha_bars[t]
            # x0 is clipped: at the noisiest steps alpha_bar ~ 0 and the estimate is ill-conditioned;
            # the embeddings are normalised to unit variance per dimension, so +-4 is rarely binding
            # on a good estimate.
            x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-X0_CLIP, X0_CLIP)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt().clamp(min=1e-8)
            ab_prev = self.alpha_bars[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=x.device)
            x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        return x
