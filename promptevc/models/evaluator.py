"""Emotion evaluator (EINet §2): a speech-emotion classifier over ESD's five emotions on log-mel.

Used four ways (DESIGN §4): intensity pseudo-labels, the reference emotion embedding e_ref, an
emotion loss on generated mels (through the frozen model), and, as a separately trained copy,
for evaluation.

Architecture: per-bin input standardisation (statistics of the training set, stored as buffers)
-> 1x1 conv stem -> residual blocks (pre-LayerNorm, dilated 1-D conv, GELU) -> masked attentive
statistics pooling (weighted mean and std over time) -> linear + LayerNorm = ``embedding (B, E)``
-> GELU -> linear = ``logits (B, 5)``; optionally an arousal/valence head on the embedding.

Why convolutions and attention pooling rather than a BiGRU: padding is exactly neutral (padded
frames are zeroed before every convolution, which is what an unpadded convolution sees past the
end, and the pooling masks them), and the frozen model must pass gradients to a generated mel;
cuDNN RNNs cannot run backward in eval mode, convolutions can.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from promptevc.prompt.control import EMOTIONS

# Circumplex-style (arousal, valence) prototypes per category, in [-1, 1]; ESD has no dimensional
# labels, so the optional head is trained towards these (weak supervision).
AROUSAL_VALENCE = {
    "neutral": (0.0, 0.0),
    "angry": (0.8, -0.6),
    "happy": (0.5, 0.8),
    "sad": (-0.6, -0.7),
    "surprise": (0.8, 0.3),
}


@dataclasses.dataclass
class EvaluatorConfig:
    """Size of the emotion evaluator (``n_mels`` comes from the AudioConfig, not from here)."""

    channels: int = 128
    n_blocks: int = 4
    kernel_size: int = 5
    attention_dim: int = 64
    embed_dim: int = 128
    dropout: float = 0.1
    arousal_valence: bool = False

    def __post_init__(self) -> None:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if min(self.channels, self.n_blocks, self.attention_dim, self.embed_dim) < 1:
            raise ValueError("channels, n_blocks, attention_dim and embed_dim must be positive")


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``lengths (B,)`` -> bool mask ``(B, max_len)``, True on real frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class _ChannelNorm(nn.Module):
    """LayerNorm over channels of ``(B, C, F)`` (per frame: independent of padding)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class _ResBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm = _ChannelNorm(channels)
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation, padding=dilation * (kernel_size // 2))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.norm(x) * mask
        return (x + self.dropout(F.gelu(self.conv(h)))) * mask


class EmotionEvaluator(nn.Module):
    """``forward(mel (B, n_mels, F), mel_lens (B,)) -> dict``.

    Returns ``logits (B, 5)`` (classes in :data:`EMOTIONS` order), ``embedding (B, embed_dim)``
    (the penultimate layer, e_ref) and, with ``arousal_valence``, ``arousal_valence (B, 2)``
    in [-1, 1]. Frames at index >= ``mel_lens`` are ignored exactly.
    """

    def __init__(
        self,
        n_mels: int,
        channels: int = 128,
        n_blocks: int = 4,
        kernel_size: int = 5,
        attention_dim: int = 64,
        embed_dim: int = 128,
        dropout: float = 0.1,
        arousal_valence: bool = False,
        n_classes: int = len(EMOTIONS),
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.embed_dim = embed_dim
        self.n_classes = n_classes
        self.labels = EMOTIONS[:n_classes]
        # Per-bin standardisation of the log-mel input; set from training data by the trainer.
        self.register_buffer("mel_mean", torch.zeros(n_mels))
        self.register_buffer("mel_std", torch.ones(n_mels))
        self.stem = nn.Conv1d(n_mels, channels, 1)
        self.blocks = nn.ModuleList(
            [_ResBlock(channels, kernel_size, 2 ** (i % 3), dropout) for i in range(n_blocks)]
        )
        self.out_norm = _ChannelNorm(channels)
        self.attention = nn.Sequential(
            nn.Conv1d(channels, attention_dim, 1), nn.Tanh(), nn.Conv1d(attention_dim, 1, 1)
        )
        self.embed = nn.Sequential(nn.Linear(2 * channels, embed_dim), nn.LayerNorm(embed_dim))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(embed_dim, n_classes)
        self.av_head = nn.Linear(embed_dim, 2) if arousal_valence else None

    @classmethod
    def from_config(cls, cfg: EvaluatorConfig, n_mels: int) -> "EmotionEvaluator":
        return cls(n_mels=n_mels, **dataclasses.asdict(cfg))

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Set the per-bin log-mel mean/std ``(n_mels,)`` used to standardise the input."""
        self.mel_mean.copy_(mean.to(self.mel_mean))
        self.mel_std.copy_(std.clamp_min(1e-3).to(self.mel_std))

    def forward(self, mel: torch.Tensor, mel_lens: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"mel must be (B, {self.n_mels}, F), got {tuple(mel.shape)}")
        b, _, n = mel.shape
        if mel_lens is None:
            mel_lens = torch.full((b,), n, device=mel.device, dtype=torch.long)
        mask = lengths_to_mask(mel_lens.to(mel.device), n).unsqueeze(1).to(mel.dtype)  # (B, 1, F)
        x = (mel - self.mel_mean[None, :, None]) / self.mel_std[None, :, None] * mask
        h = self.stem(x) * mask
        for block in self.blocks:
            h = block(h, mask)
        h = self.out_norm(h) * mask
        pooled = self._attentive_stats(h, mask)
        embedding = self.embed(pooled)
        out = {"embedding": embedding, "logits": self.classifier(self.dropout(F.gelu(embedding)))}
        if self.av_head is not None:
            out["arousal_valence"] = torch.tanh(self.av_head(embedding))
        return out

    def _attentive_stats(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked attention-weighted mean and std over time: ``(B, C, F) -> (B, 2C)``."""
        scores = self.attention(h).float().masked_fill(mask == 0, float("-inf"))
        weights = torch.softmax(scores, dim=-1).to(h.dtype)  # (B, 1, F)
        mean = (h * weights).sum(-1)
        var = (h.pow(2) * weights).sum(-1) - mean.pow(2)
        return torch.cat([mean, var.clamp_min(1e-6).sqrt()], dim=1)

    @torch.no_grad()
    def predict_proba(self, mel: torch.Tensor, mel_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Class probabilities ``(B, 5)`` (no gradient)."""
        return torch.softmax(self(mel, mel_lens)["logits"].float(), dim=-1)


def build_evaluator(config: dict[str, Any]) -> EmotionEvaluator:
    """Model from a release config ``{"model": EvaluatorConfig dict, "audio": AudioConfig dict}``."""
    from promptevc.config import AudioConfig, from_dict

    model_cfg = from_dict(EvaluatorConfig, config.get("model", {}), prefix="model")
    audio = from_dict(AudioConfig, config.get("audio", {}), prefix="audio")
    model = EmotionEvaluator.from_config(model_cfg, audio.n_mels)
    model.audio = audio  # the mel settings the evaluator expects (plain attribute, not state)
    return model


def load_evaluator(path_or_repo_id: str, device: str = "cpu", revision: str | None = None) -> EmotionEvaluator:
    """Frozen, eval-mode evaluator from a release of kind ``evaluator`` (folder or Hub repo id).

    Loading is strict (missing/unexpected weights are a ModelLoadError). ``model.audio`` holds the
    AudioConfig its mels must follow; compare with :func:`promptevc.config.check_audio_compatible`.
    """
    from promptevc.errors import ConfigError, ModelLoadError
    from promptevc.release import load_state_strict, read_release

    release = read_release(path_or_repo_id, kind="evaluator", revision=revision)
    try:
        model = build_evaluator(release.config)
    except ConfigError as err:
        raise ModelLoadError(f"{release.path}: invalid evaluator config ({err})") from None
    load_state_strict(model, release.state_dict, name=f"evaluator {path_or_repo_id}")
    model.eval().requires_grad_(False)
    model.release_meta = release.meta
    return model.to(device)
