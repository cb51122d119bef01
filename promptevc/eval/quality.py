"""DNSMOS (Reddy et al., ICASSP 2022) non-intrusive quality scores from the ``speechmos`` models.

``speechmos`` ships the DNSMOS ONNX models (``dnsmos_models/sig_bak_ovr.onnx`` and the P.808
model ``model_v8.onnx``) inside the wheel, so nothing is downloaded. We open both once with an
explicit thread count; :meth:`DNSMOSScorer.score_many` takes all clips of a source group and
runs their windows in batches of ``MAX_BATCH`` (see there for why 1 on a CPU).

Windows (``windows``):
- ``"single"`` (the default of ``evaluate``): a clip shorter than 9.01 s is repeated to exactly
  one window and scored once; longer clips are scored as in the reference. On 29 clips of 1-7 s
  (real read speech and prosody-engine conversions) the OVRL score differs from the reference by
  0.03 on average (largest 0.08, mean +0.02); SIG by 0.01; BAK by 0.05.
- ``"reference"``: as Microsoft's ``dnsmos_local.py`` (and ``speechmos.dnsmos``): a clip shorter
  than 9.01 s is doubled until it covers a window, and every 1 s hop of the result is scored and
  averaged. The cost jumps with the length: 2.6 s -> 1 window, 3 s -> 3, 2 s or 4 s -> 7, 4.4 s
  -> 8, at 0.2 CPU seconds each; the windows of a repeated clip hold the same sound shifted, so
  they add cost rather than information. Use it to reproduce published DNSMOS figures exactly.

Scores are on the 1..5 MOS scale after DNSMOS's polynomial mapping (SIG, BAK, OVRL) and the
P.808 model's own output.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np

from promptevc.errors import ModelLoadError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WINDOW_S = 9.01
WINDOW_POLICIES = ("reference", "single")
# DNSMOS P.835 polynomial maps from raw network outputs to MOS (non-personalised / personalised models),
# as published with the models.
_POLY = {
    False: {"sig": (-0.08397278, 1.22083953, 0.0052439), "bak": (-0.13166888, 1.60915514, -0.39604546),
            "ovr": (-0.06766283, 1.11546468, 0.04602535)},
    True: {"sig": (-0.01019296, 0.02751166, 1.19576786, -0.24348726),
           "bak": (-0.04976499, 0.44276479, -0.1644611, 0.96883132),
           "ovr": (-0.00533021, 0.005101, 1.18058466, -0.11236046)},
}
# Windows per ONNX call. Both models take a batch axis, but on a CPU a batch costs the same CPU
# time per window as single calls (measured: 0.20 CPU-s per window at batch 1, 4 and 8) while
# each window in a batch adds ~140 MB of activations; so the default scores one window per call.
# On a GPU provider a larger batch pays off.
MAX_BATCH = 1


def _speechmos_dir() -> Path:
    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("DNSMOS needs 'speechmos' and 'onnxruntime'; pip install speechmos onnxruntime "
                             "(or use --no-dnsmos)")
    return Path(next(iter(spec.submodule_search_locations)))


def dnsmos_windows(wav: np.ndarray, policy: str = "reference") -> list[np.ndarray]:
    """The 9.01 s windows DNSMOS scores for ``wav (T,)`` at 16 kHz (see the module docstring)."""
    audio = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
    if audio.size == 0:
        raise ValueError("DNSMOS needs a non-empty clip")
    length = int(WINDOW_S * SAMPLE_RATE)
    if policy == "single" and len(audio) < length:
        return [np.tile(audio, int(np.ceil(length / len(audio))))[:length]]
    if policy not in WINDOW_POLICIES:
        raise ValueError(f"DNSMOS window policy must be one of {', '.join(WINDOW_POLICIES)}, not {policy!r}")
    while len(audio) < length:
        audio = np.concatenate([audio, audio])
    hops = int(np.floor(len(audio) / SAMPLE_RATE) - WINDOW_S) + 1
    windows = [audio[i * SAMPLE_RATE: i * SAMPLE_RATE + length] for i in range(hops)]
    return [w for w in windows if len(w) == length]


def p808_features(window: np.ndarray) -> np.ndarray:
    """P.808 model input ``(900, 120)``: log-mel of the window minus its last 10 ms, as DNSMOS defines it."""
    import librosa

    mel = librosa.feature.melspectrogram(y=window[:-160], sr=SAMPLE_RATE, n_fft=321, hop_length=160, n_mels=120)
    return ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T.astype(np.float32)


class DNSMOSScorer:
    """``score(wav) -> {"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"}``; ``score_many`` batches."""

    def __init__(self, num_threads: int = 1, personalized: bool = False, windows: str = "reference",
                 batch: int = MAX_BATCH) -> None:
        if windows not in WINDOW_POLICIES:
            raise ModelLoadError(f"DNSMOS windows {windows!r}: choose {' or '.join(WINDOW_POLICIES)}")
        folder = _speechmos_dir()
        primary = folder / ("pdnsmos_models" if personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
        p808 = folder / "dnsmos_models" / "model_v8.onnx"
        for path in (primary, p808):
            if not path.is_file():
                raise ModelLoadError(f"DNSMOS model {path} is missing; reinstall: pip install --force-reinstall speechmos")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelLoadError(f"DNSMOS cannot start ({exc}); pip install onnxruntime (or use --no-dnsmos)") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(num_threads))
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self._primary = ort.InferenceSession(str(primary), sess_options=opts, providers=providers)
        self._p808 = ort.InferenceSession(str(p808), sess_options=opts, providers=providers)
        self._poly = {k: np.poly1d(v) for k, v in _POLY[personalized].items()}
        self.windows = windows
        self.batch = max(1, int(batch))

    def score_many(self, wavs: list[np.ndarray]) -> list[dict[str, float]]:
        """DNSMOS of each ``wav (T,)`` at 16 kHz, windows of all clips batched into few ONNX calls."""
        windows, owner = [], []
        for i, wav in enumerate(wavs):
            for w in dnsmos_windows(wav, self.windows):
                windows.append(w)
                owner.append(i)
        raw = np.zeros((len(windows), 3))
        p808 = np.zeros(len(windows))
        for start in range(0, len(windows), self.batch):
            batch = windows[start:start + self.batch]
            x = np.stack(batch).astype(np.float32)
            raw[start:start + len(batch)] = self._primary.run(None, {"input_1": x})[0]
            feats = np.stack([p808_features(w) for w in batch])
            p808[start:start + len(batch)] = self._p808.run(None, {"input_1": feats})[0][:, 0]
        sig, bak, ovr = (self._poly[k](raw[:, j]) for j, k in enumerate(("sig", "bak", "ovr")))
        owner_arr = np.asarray(owner)
        out = []
        for i in range(len(wavs)):
            sel = owner_arr == i
            out.append({
                "dnsmos_sig": float(np.mean(sig[sel])),
                "dnsmos_bak": float(np.mean(bak[sel])),
                "dnsmos_ovrl": float(np.mean(ovr[sel])),
                "dnsmos_p808": float(np.mean(p808[sel])),
            })
        return out

    def score(self, wav: np.ndarray) -> dict[str, float]:
        """DNSMOS of one ``wav (T,)`` at 16 kHz; every score is on the 1..5 MOS scale."""
        return self.score_many([wav])[0]
