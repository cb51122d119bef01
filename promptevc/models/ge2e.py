"""GE2E speaker encoder (Wan et al., ICASSP 2018) with the pretrained weights shipped by ``resemblyzer``.

Architecture (the GE2E paper, resemblyzer hyper-parameters): a 40-channel mel filterbank on
16 kHz audio (25 ms Hann window, 10 ms hop, *power* mel, no log), a 3-layer LSTM with 256 hidden
units, the last layer's final hidden state through ``Linear(256, 256)`` + ReLU, then L2
normalisation. An utterance is embedded by cutting it into 1.6 s partial windows (160 frames),
embedding each, averaging and renormalising.

The weights come from the ``pretrained.pt`` file inside the installed ``resemblyzer`` package.
We only read that file: importing ``resemblyzer`` itself pulls in ``webrtcvad``, which needs
``pkg_resources``. The file also carries the two scalars of the GE2E similarity matrix
(``similarity_weight``, ``similarity_bias``); they are kept as parameters so loading is strict.

Public API (other modules build on it; keep it stable):

- :func:`load_ge2e` ``(device="cpu") -> GE2E`` (cached per device, eval mode, no grad needed);
- :meth:`GE2E.forward` ``mels (B, frames, 40) -> (B, 256)`` unit-norm embeddings;
- :meth:`GE2E.wav_to_mel` ``wav (B, T) -> mels (B, frames, 40)`` (differentiable torch frontend);
- :meth:`GE2E.embed_utterance` ``wav16k (T,) -> (256,)`` numpy, the utterance embedding.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from promptevc.errors import ModelLoadError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
N_MELS = 40
WIN_LENGTH = 400  # 25 ms at 16 kHz; also n_fft
HOP_LENGTH = 160  # 10 ms
PARTIAL_FRAMES = 160  # 1.6 s partial utterances
HIDDEN_SIZE = 256
EMBEDDING_SIZE = 256
NUM_LAYERS = 3
# resemblyzer raises quiet utterances to -30 dBFS before embedding; the LSTM sees a *power* mel,
# so it is level-sensitive. We normalise every utterance to this level (up or down) so the
# embedding does not depend on gain, which evaluation measures separately.
TARGET_DBFS = -30.0


def resemblyzer_weights_path() -> Path:
    """Path of ``pretrained.pt`` inside the installed ``resemblyzer`` package (never imported)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "GE2E speaker encoder: package 'resemblyzer' is not installed; "
            "pip install resemblyzer (or pip install 'promptevc[eval]')"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "pretrained.pt"
        if path.is_file():
            return path
    raise ModelLoadError(
        f"GE2E speaker encoder: no pretrained.pt in {list(spec.submodule_search_locations)}; "
        "reinstall it: pip install --force-reinstall resemblyzer"
    )


class GE2E(nn.Module):
    """GE2E LSTM speaker encoder; see the module docstring for the architecture."""

    def __init__(
        self,
        n_mels: int = N_MELS,
        hidden_size: int = HIDDEN_SIZE,
        embedding_size: int = EMBEDDING_SIZE,
        num_layers: int = NUM_LAYERS,
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_mels, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, embedding_size)
        self.relu = nn.ReLU()
        # GE2E loss scale/offset (w, b of the similarity matrix); unused at inference but part of
        # the released state, so strict loading keeps them.
        self.similarity_weight = nn.Parameter(torch.tensor([10.0]))
        self.similarity_bias = nn.Parameter(torch.tensor([-5.0]))
        import librosa

        # librosa's Slaney mel filterbank, identical to what the weights were trained with.
        fb = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=WIN_LENGTH, n_mels=n_mels)
        self.register_buffer("mel_basis", torch.from_numpy(fb).float(), persistent=False)  # (n_mels, 201)
        self.register_buffer("window", torch.hann_window(WIN_LENGTH, periodic=True), persistent=False)

    @property
    def embedding_size(self) -> int:
        return self.linear.out_features

    def wav_to_mel(self, wav: torch.Tensor) -> torch.Tensor:
        """Power mel ``wav (B, T)`` 16 kHz float -> ``(B, frames, n_mels)`` with frames = T // 160 + 1.

        Same analysis as ``librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160,
        n_mels=40)`` (centred frames, zero padding); differentiable.
        """
        spec = torch.stft(
            wav, n_fft=WIN_LENGTH, hop_length=HOP_LENGTH, win_length=WIN_LENGTH, window=self.window,
            center=True, pad_mode="constant", return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (B, 201, frames)
        return torch.matmul(self.mel_basis, power).transpose(1, 2)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """``mels (B, frames, n_mels)`` power mel -> ``(B, embedding_size)`` L2-normalised embeddings."""
        _, (hidden, _) = self.lstm(mels)
        raw = self.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)

    @staticmethod
    def partial_slices(n_frames: int, step_frames: int = PARTIAL_FRAMES // 2, min_coverage: float = 0.75) -> list[slice]:
        """Mel-frame slices of PARTIAL_FRAMES frames every ``step_frames`` (50 % overlap by default).

        The last window is kept only if at least ``min_coverage`` of it lies inside the utterance
        (it is zero-padded); there is always at least one window.
        """
        starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step_frames), step_frames)) or [0]
        slices = [slice(s, s + PARTIAL_FRAMES) for s in starts]
        last = slices[-1]
        coverage = (n_frames - last.start) / PARTIAL_FRAMES
        if coverage < min_coverage and len(slices) > 1:
            slices = slices[:-1]
        return slices

    @torch.no_grad()
    def embed_utterance(
        self,
        wav: np.ndarray,
        normalize_level: bool = True,
        trim_silence: bool = True,
    ) -> np.ndarray:
        """Utterance embedding of ``wav (T,)`` float at 16 kHz -> ``(embedding_size,)`` unit-norm numpy.

        The level is set to -30 dBFS and silences longer than ~0.2 s are cut (energy-based; the
        original used WebRTC VAD) before the 1.6 s partial windows are embedded and averaged.
        """
        x = np.asarray(wav, dtype=np.float32).reshape(-1)
        if trim_silence:
            x = trim_long_silences(x)
        if normalize_level:
            x = set_level_dbfs(x, TARGET_DBFS)
        n_frames = len(x) // HOP_LENGTH + 1
        slices = self.partial_slices(n_frames)
        need = (slices[-1].stop - 1) * HOP_LENGTH  # pad so every window has real frames to read
        if need > len(x):
            x = np.pad(x, (0, need - len(x)))
        device = self.mel_basis.device
        mel = self.wav_to_mel(torch.from_numpy(x).to(device)[None])[0]  # (frames, n_mels)
        if mel.shape[0] < slices[-1].stop:
            mel = torch.nn.functional.pad(mel, (0, 0, 0, slices[-1].stop - mel.shape[0]))
        batch = torch.stack([mel[s] for s in slices])  # (P, 160, n_mels)
        partial = self(batch).mean(dim=0)
        embed = partial / partial.norm().clamp_min(1e-12)
        return embed.cpu().numpy().astype(np.float32)


def set_level_dbfs(wav: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale ``wav (T,)`` so its RMS is ``target_dbfs``; silence is returned unchanged."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if len(wav) else 0.0
    if rms < 1e-8:
        return wav
    return (wav * (10 ** (target_dbfs / 20) / rms)).astype(np.float32)


def trim_long_silences(
    wav: np.ndarray,
    window: int = 480,
    floor_db: float = 40.0,
    max_silence_windows: int = 6,
) -> np.ndarray:
    """Drop silent stretches longer than ``max_silence_windows`` 30 ms windows from ``wav (T,)``.

    A window is speech when its RMS is within ``floor_db`` of the loudest window; speech regions
    are dilated by ``max_silence_windows`` so short pauses and word edges are kept. Returns the
    input when nothing would be left.
    """
    n = len(wav) // window
    if n < 3:
        return wav
    frames = wav[: n * window].reshape(n, window).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    speech = level > level.max() - floor_db
    from scipy.ndimage import binary_dilation

    keep = binary_dilation(speech, np.ones(max_silence_windows + 1, dtype=bool))
    if not keep.any():
        return wav
    return frames[keep].reshape(-1).astype(np.float32)


def _state_from_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure means a broken install
        raise ModelLoadError(f"{path}: cannot read GE2E weights ({exc}); reinstall resemblyzer") from exc
    state = ckpt.get("model_state") if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ModelLoadError(f"{path}: no 'model_state' dict in the GE2E checkpoint; reinstall resemblyzer")
    return state


@functools.lru_cache(maxsize=4)
def _load_cached(device: str) -> GE2E:
    path = resemblyzer_weights_path()
    model = GE2E()
    state = _state_from_file(path)
    missing, unexpected = set(model.state_dict()) - set(state), set(state) - set(model.state_dict())
    if missing or unexpected:
        raise ModelLoadError(
            f"{path}: GE2E weights do not match the model (missing {sorted(missing)}, "
            f"unexpected {sorted(unexpected)}); reinstall resemblyzer"
        )
    model.load_state_dict(state, strict=True)
    model.eval().requires_grad_(False)
    logger.info("loaded GE2E speaker encoder from %s on %s", path, device)
    return model.to(device)


def load_ge2e(device: str | torch.device = "cpu") -> GE2E:
    """The pretrained GE2E encoder on ``device`` (eval mode, frozen). Cached: do not modify it."""
    return _load_cached(str(torch.device(device)))


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings ``(D,)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
