"""Speaker identity: a frozen pretrained backbone + a small trainable encoder (DESIGN §4, PromptEVC §2.3).

- :class:`SpeakerBackbone`: utterance embedding from a pretrained speaker-verification model,
  used when features are dumped (``spk_emb`` in feats npz) and at inference.
  ``ge2e`` (default): the GE2E LSTM with the weights shipped in ``resemblyzer``
  (:mod:`promptevc.models.ge2e`), 256-d, offline. ``wavlm``: ``microsoft/wavlm-base-sv``
  (``WavLMForXVector``) through transformers, 512-d x-vector, L2-normalised.
- :class:`SpeakerEncoder`: the trainable projection of PromptEVC ("two 1-D CNN layers and a
  linear layer") plus an F0 constraint head that predicts the speaker's log-F0 mean and std.

Why an MLP: the backbone gives ONE vector per utterance. A 1-D convolution over a length-1
sequence (zero padded) only ever sees its centre tap, so PromptEVC's two conv layers reduce
exactly to two position-wise (kernel-size-1) layers. We write them as ``Conv1d(kernel_size=1)``
over that length-1 sequence, which is the same function and keeps the paper's structure visible.

F0 constraint (PromptEVC Eq. 5, ``L_spk = ||log F0 - log F0_hat||^2``): the paper does not say
whether F0 is frame- or utterance-level. We use the speaker's utterance-level log-F0 statistics
(mean and std over voiced frames, see :func:`log_f0_stats`), which is what an utterance-level
identity vector can predict; :func:`f0_constraint_loss` is the MSE on both.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import torch
from torch import nn

from promptevc.errors import ConfigError, ModelLoadError

log = logging.getLogger(__name__)

BACKBONES = ("ge2e", "wavlm")
WAVLM_DEFAULT = "microsoft/wavlm-base-sv"


class SpeakerBackbone:
    """Frozen pretrained speaker embedder: ``embed(wav16k (T,)) -> (D_spk,)`` float32 numpy.

    ``name``: ``ge2e`` (256-d) or ``wavlm`` (``model_id`` defaults to microsoft/wavlm-base-sv;
    a local folder saved with ``save_pretrained`` also works). Loaded lazily on first use.
    """

    def __init__(
        self,
        name: Literal["ge2e", "wavlm"] = "ge2e",
        device: str = "cpu",
        model_id: str | None = None,
        revision: str | None = None,
    ) -> None:
        if name not in BACKBONES:
            raise ConfigError(f"speaker backbone {name!r}: choose one of {', '.join(BACKBONES)}")
        self.name = name
        self.device = torch.device(device)
        self.model_id = model_id or (WAVLM_DEFAULT if name == "wavlm" else "resemblyzer-ge2e")
        self.revision = revision
        self._model = None
        self._normalize_wav = False

    def _load(self):
        if self._model is not None:
            return self._model
        if self.name == "ge2e":
            from promptevc.models.ge2e import load_ge2e

            self._model = load_ge2e(self.device)
            return self._model
        from transformers import WavLMForXVector

        try:
            model = WavLMForXVector.from_pretrained(self.model_id, revision=self.revision)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelLoadError(
                f"speaker model {self.model_id!r}: cannot load a WavLMForXVector model ({first}); pass a "
                "local folder, download it while online, or use --speaker ge2e"
            ) from None
        try:
            from transformers import Wav2Vec2FeatureExtractor

            fe = Wav2Vec2FeatureExtractor.from_pretrained(self.model_id, revision=self.revision)
            self._normalize_wav = bool(fe.do_normalize)
        except (OSError, ValueError):
            self._normalize_wav = False
        self._model = model.eval().requires_grad_(False).to(self.device)
        log.info("loaded speaker model %s on %s", self.model_id, self.device)
        return self._model

    @property
    def dim(self) -> int:
        """Embedding size D_spk."""
        model = self._load()
        if self.name == "ge2e":
            return int(model.embedding_size)
        return int(model.config.xvector_output_dim)

    @torch.no_grad()
    def embed(self, wav16k: np.ndarray) -> np.ndarray:
        """Utterance embedding of ``wav16k (T,)`` (16 kHz float) -> unit-norm float32 ``(D_spk,)``."""
        model = self._load()
        wav = np.asarray(wav16k, dtype=np.float32).reshape(-1)
        if self.name == "ge2e":
            return model.embed_utterance(wav).astype(np.float32)
        if len(wav) < 400:
            wav = np.pad(wav, (0, 400 - len(wav)))
        x = torch.from_numpy(wav).to(self.device)[None]
        if self._normalize_wav:
            x = (x - x.mean()) / torch.sqrt(x.var() + 1e-7)
        emb = model(x).embeddings[0]
        emb = emb / emb.norm().clamp_min(1e-12)
        return emb.float().cpu().numpy()


class SpeakerEncoder(nn.Module):
    """Trainable projection of a backbone embedding + F0 constraint head.

    ``forward(spk_emb (B, in_dim)) -> (h_spk (B, out_dim), f0_stats (B, 2))`` where
    ``f0_stats[:, 0]`` is the predicted mean and ``f0_stats[:, 1]`` the predicted std of the
    speaker's log-F0 (natural log of Hz, over voiced frames). Train ``f0_stats`` with
    :func:`f0_constraint_loss` against :func:`log_f0_stats` of real audio.

    ``f0_mean_init`` / ``f0_std_init`` set the bias of the head so an untrained model starts at
    plausible values (log 150 Hz, 0.15) instead of 0.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: int = 256,
        dropout: float = 0.1,
        f0_hidden: int = 64,
        f0_mean_init: float = float(np.log(150.0)),
        f0_std_init: float = 0.15,
    ) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = out_dim
        # Two 1-D conv layers over a length-1 sequence (= position-wise; see module docstring) + linear.
        self.convs = nn.Sequential(
            nn.Conv1d(in_dim, hidden, kernel_size=1),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv1d(hidden, hidden, kernel_size=1),
            nn.GELU(),
            nn.Dropout(dropout),
        )
        self.proj = nn.Linear(hidden, out_dim)
        self.f0_head = nn.Sequential(nn.Linear(out_dim, f0_hidden), nn.GELU(), nn.Linear(f0_hidden, 2))
        with torch.no_grad():
            self.f0_head[-1].bias.copy_(torch.tensor([f0_mean_init, float(np.log(f0_std_init))]))

    def forward(self, spk_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``spk_emb (B, in_dim)`` -> ``h_spk (B, out_dim)``, ``f0_stats (B, 2)`` (log-F0 mean, std)."""
        if spk_emb.dim() != 2 or spk_emb.shape[1] != self.in_dim:
            raise ValueError(f"spk_emb must be (B, {self.in_dim}), got {tuple(spk_emb.shape)}")
        h = self.convs(spk_emb.unsqueeze(-1)).squeeze(-1)
        h_spk = self.proj(h)
        raw = self.f0_head(h_spk)
        # The std must be positive: predict its log and exponentiate.
        f0_stats = torch.stack([raw[:, 0], raw[:, 1].exp()], dim=1)
        return h_spk, f0_stats


def log_f0_stats(f0_hz: np.ndarray | torch.Tensor, min_voiced: int = 1) -> tuple[float, float]:
    """(mean, std) of natural-log F0 over voiced frames (f0 > 0) of ``f0_hz (F,)``.

    Several utterances of one speaker: concatenate their F0 first. Raises ValueError when fewer
    than ``min_voiced`` frames are voiced.
    """
    f0 = f0_hz.detach().cpu().numpy() if isinstance(f0_hz, torch.Tensor) else np.asarray(f0_hz)
    voiced = f0[f0 > 0]
    if voiced.size < min_voiced:
        raise ValueError("no voiced frames to compute log-F0 statistics")
    lf0 = np.log(voiced.astype(np.float64))
    return float(lf0.mean()), float(lf0.std())


def shrink_to_prior(
    observed: np.ndarray, n_voiced: int, prior: np.ndarray, prior_frames: float
) -> np.ndarray:
    """Speaker log-F0 statistics: the source's own, shrunk towards the speaker F0 head's prediction.

    ``observed`` = (log-F0 centre, spread, ...) measured on the source over ``n_voiced`` voiced
    frames; ``prior`` = (centre, spread) predicted by :class:`SpeakerEncoder` from the speaker
    embedding (trained on the speakers' neutral statistics, so it does not move with the
    source's emotion). The prior counts as ``prior_frames`` voiced frames: the result is the
    count-weighted mean ``(n * observed + prior_frames * prior) / (n + prior_frames)`` on the
    first two entries; later entries (energy) are kept. Long sources keep (almost) their own
    statistics; very short or barely voiced ones lean on the prior.
    """
    out = np.asarray(observed, dtype=np.float64).copy()
    w = float(n_voiced) / (float(n_voiced) + max(float(prior_frames), 0.0)) if n_voiced > 0 else 0.0
    p = np.asarray(prior, dtype=np.float64)
    out[:2] = w * out[:2] + (1.0 - w) * p[:2]
    return out.astype(np.float32)


def f0_constraint_loss(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """MSE between predicted and real speaker log-F0 stats, ``pred/target (B, 2)``.

    ``mask (B,)`` (bool) drops utterances without voiced frames.
    """
    err = (pred - target).pow(2).sum(dim=1)
    if mask is not None:
        m = mask.to(err.dtype)
        return (err * m).sum() / m.sum().clamp_min(1.0)
    return err.mean()
