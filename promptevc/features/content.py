"""Content features and discrete content units (DESIGN §4, PromptEVC §2.2).

The acoustic model sees *what* is said as a sequence of discrete units: frame-level content
features quantised by k-means (k = 100 in PromptEVC), with repeats collapsed into
(unit, run length) pairs for the duration predictor.

- :class:`ContentConfig`: which features (``hubert`` or ``mel``), which model/layer, how many units.
- :class:`ContentEncoder`: ``wav16k (T,) -> (F_c, D_c)`` features.
  ``hubert``: a layer of a transformers ``HubertModel`` (default ``facebook/hubert-base-ls960``,
  50 frames/s). ``mel``: log-mel frames on the mel grid of the :class:`AudioConfig`, with the
  utterance mean removed per bin (cepstral-mean-style normalisation, so the units follow spectral
  shape more than recording level or channel); it needs no download, for offline use and CI.
- :class:`KMeans`: k-means in torch (k-means++ initialisation, Lloyd iterations, or mini-batch
  updates for large frame sets), saved as safetensors.
- :class:`UnitExtractor`: encoder + global feature standardisation + centroids; gives one unit
  per *mel* frame (content frames are mapped onto the mel grid by nearest frame centre), so
  units line up with dumped mel/F0/energy.
- :func:`collapse_runs`: ``units (F,) -> (unit_ids (N,), run_lengths (N,))``.

Files (``promptevc fit-units``): ``UNITS_DIR/kmeans.safetensors`` holds
:meth:`UnitExtractor.state_tensors` (``centroids (K, D_c)``, ``mean (D_c,)``, ``std (D_c,)``),
``UNITS_DIR/content.yaml`` the :class:`ContentConfig` and ``UNITS_DIR/audio.yaml`` the
:class:`AudioConfig` the features were computed with.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from promptevc.config import AudioConfig, from_dict, load_yaml, save_yaml
from promptevc.errors import ConfigError, ModelLoadError

log = logging.getLogger(__name__)

# HuBERT/wav2vec2 conv front-end on 16 kHz audio: 400-sample receptive field, 320-sample stride.
SSL_SAMPLE_RATE = 16000
SSL_HOP_SAMPLES = 320
SSL_RECEPTIVE_SAMPLES = 400

KMEANS_FILE = "kmeans.safetensors"
CONTENT_CONFIG_FILE = "content.yaml"
AUDIO_CONFIG_FILE = "audio.yaml"
CONTENT_OFFLINE_HINT = (
    "pass a local folder saved with save_pretrained, or use the offline content features: --content mel"
)


@dataclasses.dataclass
class ContentConfig:
    """Content features and their k-means units.

    ``layer`` counts transformer layers of the HuBERT model (0 = the projected CNN features,
    1..num_hidden_layers = output of that layer); layer 6 of HuBERT-base is the usual choice for
    phone-like units (PromptEVC does not state its layer). ``model_id`` is a Hub repo id or a
    local folder saved with ``save_pretrained``. ``type: mel`` ignores ``model_id``/``layer``.
    """

    type: Literal["hubert", "mel"] = "hubert"
    model_id: str = "facebook/hubert-base-ls960"
    revision: str | None = None
    layer: int = 6
    k: int = 100

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ValueError(f"k must be at least 2, got {self.k}")
        if self.layer < 0:
            raise ValueError(f"layer must be >= 0, got {self.layer}")

    def describe(self) -> str:
        if self.type == "mel":
            return "mel"
        return f"hubert {self.model_id} layer {self.layer}"


# --------------------------------------------------------------------------------------------
# Content encoder
# --------------------------------------------------------------------------------------------


def _as_16k(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    from promptevc.audio import resample

    return resample(np.asarray(wav, dtype=np.float32).reshape(-1), sample_rate, SSL_SAMPLE_RATE)


class ContentEncoder:
    """Frame-level content features of a 16 kHz waveform.

    ``audio`` is the AudioConfig of the mel grid (used by ``type: mel``, and to know the mel
    frame times). The HuBERT model is loaded lazily on first use, frozen, in eval mode.
    """

    def __init__(self, cfg: ContentConfig, audio: AudioConfig | None = None, device: str = "cpu") -> None:
        self.cfg = cfg
        self.audio = audio or AudioConfig()
        self.device = torch.device(device)
        self._model = None
        self._normalize_wav = False
        self._mel = None
        # HuBERT input is processed in chunks of at most this many 20 ms frames (30 s).
        self.max_chunk_frames = 1500

    # -- model loading -----------------------------------------------------------------------
    def _load_hubert(self):
        if self._model is not None:
            return self._model
        from transformers import HubertConfig, HubertModel

        from promptevc.hub import resolve_path

        cfg = self.cfg
        # Resolve first (fails in about a second without the Hub), then load from the local folder
        # only, so transformers never retries downloads; weights from safetensors only.
        local = resolve_path(cfg.model_id, revision=cfg.revision, kind="content model",
                             allow_patterns=["*.json", "*.safetensors"], hint=CONTENT_OFFLINE_HINT)
        safetensors = local.is_dir() and any(local.glob("*.safetensors"))
        if local.is_dir() and not safetensors and not Path(cfg.model_id).exists():
            # Repos published before safetensors: transformers reads pytorch_model.bin weights-only.
            local = resolve_path(cfg.model_id, revision=cfg.revision, kind="content model",
                                 allow_patterns=["*.json", "pytorch_model.bin"], hint=CONTENT_OFFLINE_HINT)
        try:
            config = HubertConfig.from_pretrained(str(local))
            n_layers = config.num_hidden_layers
            if cfg.layer > n_layers:
                raise ConfigError(
                    f"content layer {cfg.layer}: {cfg.model_id} has only {n_layers} transformer layers; "
                    f"choose 0..{n_layers}"
                )
            # Layers above the one we read are never needed: the model is built with only
            # cfg.layer transformer layers, so the others are neither allocated nor run (half
            # the cost and memory of HuBERT-base at layer 6); their weights are skipped on load.
            config.num_hidden_layers = cfg.layer
            model = HubertModel.from_pretrained(str(local), config=config, use_safetensors=safetensors or None)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelLoadError(
                f"content model {cfg.model_id!r}: cannot load a HuBERT model from {local} ({first}); pass a "
                "folder saved with save_pretrained (safetensors), or dump offline features with --content mel"
            ) from None
        model.eval().requires_grad_(False).to(self.device)
        # fairseq HuBERT-base was trained on raw waveforms; large models on normalised ones.
        # The model's preprocessor config says which; without one, use raw audio.
        try:
            from transformers import Wav2Vec2FeatureExtractor

            fe = Wav2Vec2FeatureExtractor.from_pretrained(str(local))
            self._normalize_wav = bool(fe.do_normalize)
        except (OSError, ValueError):
            self._normalize_wav = False
        self._model = model
        log.info("loaded content model %s (layer %d) on %s", cfg.model_id, cfg.layer, self.device)
        return model

    # -- features ------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Feature dimension D_c."""
        if self.cfg.type == "mel":
            return self.audio.n_mels
        return int(self._load_hubert().config.hidden_size)

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Centre time (s) of each of ``n_frames`` content frames, shape (n_frames,)."""
        return content_frame_times(self.cfg, self.audio, n_frames)

    @torch.no_grad()
    def extract(self, wav16k: np.ndarray) -> np.ndarray:
        """Content features of ``wav16k (T,)`` -> float32 ``(F_c, D_c)``.

        ``mel``: F_c = ``audio.num_frames`` of the waveform at the AudioConfig rate.
        ``hubert``: F_c = floor((T - 400) / 320) + 1 (50 frames per second).
        """
        wav = np.asarray(wav16k, dtype=np.float32).reshape(-1)
        if self.cfg.type == "mel":
            return self._extract_mel(wav)
        if self.cfg.type == "hubert":
            return self._extract_hubert(wav)
        raise ConfigError(f"content type {self.cfg.type!r}: choose hubert or mel")  # pragma: no cover

    def _extract_mel(self, wav16k: np.ndarray) -> np.ndarray:
        from promptevc.audio import resample
        from promptevc.features.mel import MelSpectrogram

        if self._mel is None:
            self._mel = MelSpectrogram(self.audio).to(self.device)
        wav = resample(wav16k, SSL_SAMPLE_RATE, self.audio.sample_rate)
        mel = self._mel(torch.from_numpy(wav).to(self.device)[None])[0]  # (n_mels, F)
        mel = mel - mel.mean(dim=1, keepdim=True)
        return mel.T.contiguous().cpu().numpy().astype(np.float32)

    def _extract_hubert(self, wav16k: np.ndarray) -> np.ndarray:
        model = self._load_hubert()
        if len(wav16k) < SSL_RECEPTIVE_SAMPLES:
            wav16k = np.pad(wav16k, (0, SSL_RECEPTIVE_SAMPLES - len(wav16k)))
        x = torch.from_numpy(wav16k).to(self.device)[None]
        if self._normalize_wav:
            x = (x - x.mean()) / torch.sqrt(x.var() + 1e-7)
        # Self-attention memory grows with the square of the length: long input goes in chunks of
        # whole frames (chunk + 80 samples gives exactly chunk / 320 frames), so the frame count
        # and grid are those of a single pass.
        chunk = self.max_chunk_frames * SSL_HOP_SAMPLES
        n = x.shape[1]
        parts = []
        for start in range(0, n, chunk):
            seg = x[:, start : start + chunk + SSL_RECEPTIVE_SAMPLES - SSL_HOP_SAMPLES]
            if seg.shape[1] < SSL_RECEPTIVE_SAMPLES:
                break
            out = model(seg, output_hidden_states=True)
            parts.append(out.hidden_states[self.cfg.layer][0])  # (frames, H)
        return torch.cat(parts).float().cpu().numpy()


def mel_frame_times(audio: AudioConfig, n_frames: int) -> np.ndarray:
    """Centre time (s) of mel frames: ``i * hop`` when centred, else ``i * hop + hop / 2``."""
    offset = 0.0 if audio.center else audio.hop_length / 2
    return (np.arange(n_frames) * audio.hop_length + offset) / audio.sample_rate


def content_frame_times(cfg: ContentConfig, audio: AudioConfig, n_frames: int) -> np.ndarray:
    """Centre time (s) of ``n_frames`` content frames of type ``cfg.type``."""
    if cfg.type == "mel":
        return mel_frame_times(audio, n_frames)
    return (np.arange(n_frames) * SSL_HOP_SAMPLES + SSL_RECEPTIVE_SAMPLES / 2) / SSL_SAMPLE_RATE


def map_to_mel_grid(cfg: ContentConfig, audio: AudioConfig, n_content: int, n_frames: int) -> np.ndarray:
    """For each of ``n_frames`` mel frames, the index of the content frame nearest in time.

    Returns int64 ``(n_frames,)`` in ``[0, n_content)``; frames past the end take the last one.
    """
    if n_content <= 0:
        raise ValueError("no content frames to map")
    mel_t = mel_frame_times(audio, n_frames)
    if cfg.type == "mel":
        step, first = audio.hop_length / audio.sample_rate, mel_frame_times(audio, 1)[0]
    else:
        step, first = SSL_HOP_SAMPLES / SSL_SAMPLE_RATE, SSL_RECEPTIVE_SAMPLES / 2 / SSL_SAMPLE_RATE
    idx = np.floor((mel_t - first) / step + 0.5).astype(np.int64)
    return np.clip(idx, 0, n_content - 1)


# --------------------------------------------------------------------------------------------
# k-means
# --------------------------------------------------------------------------------------------


def _sq_distances(x: torch.Tensor, c: torch.Tensor, c_sq: torch.Tensor | None = None) -> torch.Tensor:
    """Squared Euclidean distances ``x (N, D)``, ``c (K, D)`` -> ``(N, K)`` (clamped at 0)."""
    c_sq = (c * c).sum(1) if c_sq is None else c_sq
    d = (x * x).sum(1, keepdim=True) - 2.0 * (x @ c.T) + c_sq[None]
    return d.clamp_min_(0.0)


class KMeans:
    """k-means clustering in torch.

    ``fit`` uses k-means++ seeding, then either full Lloyd iterations (``minibatch_size=None``)
    or Sculley-style mini-batch updates (per-centroid learning rate 1/count), which handles
    millions of frames in bounded memory. Distances are computed in chunks of ``chunk_size``
    rows. An empty cluster is re-seeded at the point currently worst served.
    """

    def __init__(
        self,
        k: int,
        n_iter: int = 50,
        tol: float = 1e-4,
        seed: int = 0,
        minibatch_size: int | None = None,
        init_samples: int = 50_000,
        chunk_size: int = 32_768,
        device: str = "cpu",
    ) -> None:
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        self.k = k
        self.n_iter = n_iter
        self.tol = tol
        self.seed = seed
        self.minibatch_size = minibatch_size
        self.init_samples = init_samples
        self.chunk_size = chunk_size
        self.device = torch.device(device)
        self.centroids: torch.Tensor | None = None  # (K, D) float32
        self.inertia_: float | None = None
        self.n_iter_: int = 0

    # -- helpers ------------------------------------------------------------------------------
    def _to_tensor(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        if t.dim() != 2:
            raise ValueError(f"expected features (N, D), got shape {tuple(t.shape)}")
        return t.to(self.device, torch.float32)

    def _nearest(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(index (N,), squared distance (N,)) of the nearest centroid, in chunks."""
        c_sq = (c * c).sum(1)
        idx, dist = [], []
        for s in range(0, x.shape[0], self.chunk_size):
            d = _sq_distances(x[s : s + self.chunk_size], c, c_sq)
            m, i = d.min(1)
            idx.append(i)
            dist.append(m)
        return torch.cat(idx), torch.cat(dist)

    def _init_plus_plus(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """k-means++ seeding (Arthur & Vassilvitskii 2007) on a random subsample of ``x``."""
        n = x.shape[0]
        if n > self.init_samples:
            x = x[torch.randperm(n, generator=gen, device="cpu")[: self.init_samples].to(x.device)]
            n = x.shape[0]
        first = int(torch.randint(n, (1,), generator=gen))
        centers = [x[first]]
        closest = _sq_distances(x, x[first : first + 1])[:, 0]
        for _ in range(1, self.k):
            total = float(closest.sum())
            if total <= 0:  # fewer distinct points than k: pick any remaining point
                nxt = int(torch.randint(n, (1,), generator=gen))
            else:
                probs = (closest / total).cpu().double()
                nxt = int(torch.multinomial(probs, 1, generator=gen))
            centers.append(x[nxt])
            closest = torch.minimum(closest, _sq_distances(x, x[nxt : nxt + 1])[:, 0])
        return torch.stack(centers).clone()

    # -- public API -----------------------------------------------------------------------------
    def fit(self, x: torch.Tensor | np.ndarray) -> "KMeans":
        """Cluster ``x (N, D)``; sets ``centroids (K, D)`` and ``inertia_`` (mean sq. distance)."""
        x = self._to_tensor(x)
        n = x.shape[0]
        if n < self.k:
            raise ConfigError(f"k-means: {n} feature frames for k={self.k} clusters; need at least k frames")
        gen = torch.Generator().manual_seed(self.seed)
        c = self._init_plus_plus(x, gen)
        if self.minibatch_size and n > self.minibatch_size:
            c = self._fit_minibatch(x, c, gen)
        else:
            c = self._fit_lloyd(x, c)
        self.centroids = c
        _, dist = self._nearest(x, c)
        self.inertia_ = float(dist.mean())
        return self

    def _fit_lloyd(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        for it in range(self.n_iter):
            idx, dist = self._nearest(x, c)
            sums = torch.zeros_like(c).index_add_(0, idx, x)
            counts = torch.bincount(idx, minlength=self.k).to(x.dtype)
            new = sums / counts.clamp_min(1)[:, None]
            empty = torch.nonzero(counts == 0).flatten()
            if len(empty):
                # Re-seed empty clusters at the points farthest from their centroid.
                far = torch.topk(dist, min(len(empty), len(dist))).indices
                new[empty[: len(far)]] = x[far]
            shift = float(((new - c) ** 2).sum(1).max())
            scale = float((c**2).sum(1).mean()) + 1e-12
            c = new
            self.n_iter_ = it + 1
            if shift / scale < self.tol and not len(empty):
                break
        return c

    def _fit_minibatch(self, x: torch.Tensor, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        counts = torch.zeros(self.k, device=x.device)
        n = x.shape[0]
        steps = max(self.n_iter, 1) * math.ceil(n / self.minibatch_size)
        for step in range(steps):
            batch = x[torch.randint(n, (self.minibatch_size,), generator=gen).to(x.device)]
            idx, _ = self._nearest(batch, c)
            bc = torch.bincount(idx, minlength=self.k).to(x.dtype)
            sums = torch.zeros_like(c).index_add_(0, idx, batch)
            counts += bc
            hit = bc > 0
            # c <- c + (batch mean - c) * (batch count / total count): Sculley 2010 in closed form.
            rate = (bc / counts.clamp_min(1))[:, None]
            mean = sums / bc.clamp_min(1)[:, None]
            c = torch.where(hit[:, None], c + rate * (mean - c), c)
            self.n_iter_ = step + 1
        return c

    def assign(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Nearest centroid of each row of ``x (N, D)`` -> int64 ``(N,)``."""
        if self.centroids is None:
            raise RuntimeError("KMeans.assign called before fit/load")
        idx, _ = self._nearest(self._to_tensor(x), self.centroids.to(self.device))
        return idx.long()

    def save(self, path: str | Path, extra: dict[str, torch.Tensor] | None = None) -> None:
        """Write ``{"centroids": (K, D)}`` (plus ``extra`` tensors) as safetensors."""
        from safetensors.torch import save_file

        if self.centroids is None:
            raise RuntimeError("KMeans.save called before fit")
        tensors = {"centroids": self.centroids.detach().cpu().contiguous()}
        for k, v in (extra or {}).items():
            tensors[k] = v.detach().cpu().contiguous()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "KMeans":
        from safetensors.torch import load_file

        try:
            tensors = load_file(str(path))
        except Exception as err:  # noqa: BLE001 - safetensors has its own error types
            raise ModelLoadError(f"{path}: cannot read k-means centroids ({err})") from None
        if "centroids" not in tensors:
            raise ModelLoadError(f"{path}: no 'centroids' tensor; write it with promptevc fit-units")
        return cls.from_centroids(tensors["centroids"], device=device)

    @classmethod
    def from_centroids(cls, centroids: torch.Tensor, device: str = "cpu") -> "KMeans":
        km = cls(k=int(centroids.shape[0]), device=device)
        km.centroids = centroids.to(km.device, torch.float32)
        return km


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


class UnitExtractor:
    """Content encoder + standardisation + k-means centroids -> one unit per mel frame.

    ``centroids (K, D_c)`` live in the standardised space ``(feature - mean) / std``.
    ``audio`` is the AudioConfig of the mel grid the units must line up with.
    """

    def __init__(
        self,
        cfg: ContentConfig,
        centroids: torch.Tensor,
        mean: torch.Tensor | None = None,
        std: torch.Tensor | None = None,
        audio: AudioConfig | None = None,
        device: str = "cpu",
        encoder: ContentEncoder | None = None,
    ) -> None:
        dim = int(centroids.shape[1])
        if int(centroids.shape[0]) != cfg.k:
            raise ModelLoadError(f"k-means has {centroids.shape[0]} centroids but the content config says k={cfg.k}")
        self.cfg = cfg
        self.audio = audio or AudioConfig()
        self.mean = (mean if mean is not None else torch.zeros(dim)).float().cpu()
        self.std = (std if std is not None else torch.ones(dim)).float().cpu()
        if self.mean.shape != (dim,) or self.std.shape != (dim,):
            raise ModelLoadError(f"content normalisation stats must have shape ({dim},)")
        self.kmeans = KMeans.from_centroids(centroids.float().cpu(), device=device)
        self.encoder = encoder or ContentEncoder(cfg, self.audio, device=device)

    @property
    def k(self) -> int:
        return self.cfg.k

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def normalize(self, feats: np.ndarray | torch.Tensor) -> torch.Tensor:
        """``feats (F_c, D_c)`` -> standardised float32 tensor ``(F_c, D_c)``."""
        x = torch.as_tensor(np.asarray(feats) if not isinstance(feats, torch.Tensor) else feats).float().cpu()
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ConfigError(
                f"content features of shape {tuple(x.shape)} do not match the units' dimension {self.dim} "
                f"({self.cfg.describe()}); dump features with the same content settings"
            )
        return (x - self.mean) / self.std

    def content_units(self, feats: np.ndarray | torch.Tensor) -> np.ndarray:
        """Units of content frames: ``feats (F_c, D_c)`` -> int64 ``(F_c,)``."""
        return self.kmeans.assign(self.normalize(feats)).cpu().numpy().astype(np.int64)

    def units_from_features(self, feats: np.ndarray | torch.Tensor, n_frames: int) -> np.ndarray:
        """Units on the mel grid from precomputed features: ``(F_c, D_c)`` -> int64 ``(n_frames,)``."""
        units = self.content_units(feats)
        return units[map_to_mel_grid(self.cfg, self.audio, len(units), n_frames)]

    def units(self, wav16k: np.ndarray, n_frames: int) -> np.ndarray:
        """Units of ``wav16k (T,)`` on a mel grid of ``n_frames`` frames -> int64 ``(n_frames,)``."""
        return self.units_from_features(self.encoder.extract(wav16k), n_frames)

    # -- persistence -----------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """``{"centroids": (K, D_c), "mean": (D_c,), "std": (D_c,)}`` for a release or kmeans.safetensors."""
        return {
            "centroids": self.kmeans.centroids.detach().cpu().clone(),
            "mean": self.mean.clone(),
            "std": self.std.clone(),
        }

    @classmethod
    def from_tensors(
        cls,
        cfg: ContentConfig,
        tensors: dict[str, torch.Tensor],
        audio: AudioConfig | None = None,
        device: str = "cpu",
    ) -> "UnitExtractor":
        """Rebuild from :meth:`state_tensors` (strict: exactly centroids, mean, std)."""
        expected = {"centroids", "mean", "std"}
        if set(tensors) != expected:
            missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
            raise ModelLoadError(f"unit tensors do not match (missing {missing}, unexpected {unexpected})")
        return cls(cfg, tensors["centroids"], tensors["mean"], tensors["std"], audio=audio, device=device)

    def save(self, units_dir: str | Path) -> Path:
        """Write kmeans.safetensors, content.yaml and audio.yaml into ``units_dir``."""
        from safetensors.torch import save_file

        out = Path(units_dir)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / (KMEANS_FILE + ".tmp")
        save_file({k: v.contiguous() for k, v in self.state_tensors().items()}, str(tmp))
        tmp.replace(out / KMEANS_FILE)
        save_yaml(self.cfg, out / CONTENT_CONFIG_FILE)
        save_yaml(self.audio, out / AUDIO_CONFIG_FILE)
        return out

    @classmethod
    def load(cls, units_dir: str | Path, device: str = "cpu") -> "UnitExtractor":
        """Load what :meth:`save` (``promptevc fit-units``) wrote."""
        from safetensors.torch import load_file

        root = Path(units_dir)
        for name in (KMEANS_FILE, CONTENT_CONFIG_FILE):
            if not (root / name).is_file():
                raise ModelLoadError(f"{root}: no {name}; create the units dir with promptevc fit-units")
        cfg = load_yaml(ContentConfig, root / CONTENT_CONFIG_FILE)
        audio = load_yaml(AudioConfig, root / AUDIO_CONFIG_FILE) if (root / AUDIO_CONFIG_FILE).is_file() else None
        try:
            tensors = load_file(str(root / KMEANS_FILE))
        except Exception as err:  # noqa: BLE001
            raise ModelLoadError(f"{root / KMEANS_FILE}: cannot read ({err})") from None
        return cls.from_tensors(cfg, tensors, audio=audio, device=device)


def content_config_from_dict(data: dict) -> ContentConfig:
    """Strict ContentConfig from a plain dict (e.g. the ``content`` entry of feats_config.yaml)."""
    return from_dict(ContentConfig, data, prefix="content")


def collapse_runs(units: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray] | tuple[torch.Tensor, torch.Tensor]:
    """Merge repeats: ``units (F,)`` -> ``(unit_ids (N,), run_lengths (N,))`` with sum(run_lengths) == F.

    ``[3, 3, 5, 5, 5, 3]`` -> ``([3, 5, 3], [2, 3, 1])``. Returns torch tensors for a tensor input,
    int64 numpy arrays otherwise. An empty input gives two empty arrays.
    """
    if isinstance(units, torch.Tensor):
        ids, counts = torch.unique_consecutive(units.reshape(-1), return_counts=True)
        return ids, counts.long()
    u = np.asarray(units).reshape(-1)
    if u.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], u[1:] != u[:-1]]))
    lengths = np.diff(np.concatenate([starts, [u.size]]))
    return u[starts].astype(np.int64), lengths.astype(np.int64)
