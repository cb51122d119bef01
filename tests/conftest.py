"""Shared fixtures. No test may touch the network: sockets to non-loopback hosts are blocked."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
        return True  # AF_UNIX paths
    return host in ("localhost", "::1") or str(host).startswith("127.")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail fast on any non-loopback connection and keep Hugging Face offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise OSError(f"network access blocked in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    try:
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(0)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture
def speech_wav() -> tuple[np.ndarray, int]:
    """2 s of speech-like audio at 16 kHz with a known mean F0 of 150 Hz."""
    from promptevc.utils.synth import synth_speech

    return synth_speech(f0_hz=150.0, seconds=2.0, sample_rate=16000), 16000


@pytest.fixture
def speech_file(tmp_path, speech_wav):
    """``speech_wav`` written as a 16-bit wav file."""
    import soundfile as sf

    path = tmp_path / "speech.wav"
    sf.write(path, speech_wav[0], speech_wav[1], subtype="PCM_16")
    return path


@pytest.fixture
def torchrun(tmp_path):
    """``run(args, nproc=2)``: ``promptevc ARGS`` in ``nproc`` CPU processes under torchrun (gloo, loopback)."""
    root = str(Path(__file__).resolve().parents[1])

    def run(args: list[str], nproc: int = 2, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
               f"--nproc_per_node={nproc}", "-m", "promptevc.cli", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    return run
