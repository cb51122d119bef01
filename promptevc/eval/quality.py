"""DNSMOS (Reddy et al., ICASSP 2022) non-intrusive quality scores through the ``speechmos`` package.

``speechmos`` ships the DNSMOS ONNX models (``dnsmos_models/sig_bak_ovr.onnx`` and the P.808
model ``model_v8.onnx``) inside the wheel, so nothing is downloaded. Its module-level ``run()``
keeps a global model and lets onnxruntime use every core; we build the scorer ourselves from
the same files with an explicit thread count and reuse speechmos's scoring (9.01 s windows with
a 1 s hop, polynomial mapping to MOS), so scores match the reference ``dnsmos_local.py``.
Cost: a clip shorter than 9.01 s is doubled until it covers a window and every 1 s hop of the
result is scored (a 2 s clip: 7 windows, about 1 s of CPU each; 4.5-9 s clips: 1 window).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np

from promptevc.errors import ModelLoadError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


def _speechmos_dir() -> Path:
    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("DNSMOS needs 'speechmos' and 'onnxruntime'; pip install speechmos onnxruntime "
                             "(or use --no-dnsmos)")
    return Path(next(iter(spec.submodule_search_locations)))


class DNSMOSScorer:
    """``score(wav (T,) 16 kHz) -> {"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"}``."""

    def __init__(self, num_threads: int = 1, personalized: bool = False) -> None:
        folder = _speechmos_dir()
        primary = folder / ("pdnsmos_models" if personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
        p808 = folder / "dnsmos_models" / "model_v8.onnx"
        for path in (primary, p808):
            if not path.is_file():
                raise ModelLoadError(f"DNSMOS model {path} is missing; reinstall: pip install --force-reinstall speechmos")
        try:
            import onnxruntime as ort
            from speechmos.dnsmos import DNSMOS
        except ImportError as exc:
            raise ModelLoadError(f"DNSMOS cannot start ({exc}); pip install speechmos onnxruntime "
                                 "(or use --no-dnsmos)") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = num_threads
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        # Build speechmos's scorer without its own session construction, then give it ours.
        scorer = DNSMOS.__new__(DNSMOS)
        scorer.primary_model_path = str(primary)
        scorer.onnx_sess = ort.InferenceSession(str(primary), sess_options=opts, providers=providers)
        scorer.p808_onnx_sess = ort.InferenceSession(str(p808), sess_options=opts, providers=providers)
        self._scorer = scorer
        self._personalized = personalized

    def score(self, wav: np.ndarray) -> dict[str, float]:
        """DNSMOS of ``wav (T,)`` at 16 kHz; every score is on the 1..5 MOS scale."""
        audio = np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0)
        out = self._scorer(audio, SAMPLE_RATE, self._personalized)
        return {
            "dnsmos_sig": float(out["sig_mos"]),
            "dnsmos_bak": float(out["bak_mos"]),
            "dnsmos_ovrl": float(out["ovrl_mos"]),
            "dnsmos_p808": float(out["p808_mos"]),
        }
