"""Memory bounded by the chunk, not the input: a 1 h input converted chunk by chunk.

The fast test drives the Converter's whole front and back (header check, pass 1, analysis pass,
stream resampling both ways, chunking, cross-fades, limiter, streamed writing) with a light
contract engine, so the figure is the Converter's own. The slow test runs the prosody engine
(``bench/bench_memory.py`` prints the same figures for the lead's quiet-machine run).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from promptevc.utils.synth import synth_speech

TESTS = Path(__file__).resolve().parent


def _hour_of_speech(path: Path, rate: int = 16000, seconds: float = 3600.0) -> Path:
    block = synth_speech(150.0, 60.0, rate, seed=3)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as f:
        for i in range(int(seconds // 60)):
            f.write(block * (0.8 + 0.05 * (i % 4)))
    return path


def _run(code: str) -> tuple[str, int]:
    """Run ``code`` in a fresh interpreter; return its stdout and its peak RSS (VmHWM) in MB."""
    wrapped = code + "\nimport re\nprint('HWM', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])\n"
    proc = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, int(re.search(r"HWM (\d+)", proc.stdout)[1]) // 1024


def test_one_hour_converted_chunk_by_chunk_in_bounded_memory(tmp_path):
    src = _hour_of_speech(tmp_path / "hour.wav")
    out = tmp_path / "out.wav"
    code = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from safety_support import GainEngine
from promptevc.api import Converter
from promptevc.config import InputConfig
engine = GainEngine(gain=0.5, multichannel=False, rate=8000)
conv = Converter(engine, InputConfig(max_seconds=4000))
conv.convert_file({str(src)!r}, {str(out)!r}, emotion="sad")
s = engine.sessions[0]
print("CHUNKS", len(engine.chunks), max(engine.chunks), s.observed, max(engine.observed_blocks))
"""
    stdout, peak_mb = _run(code)
    n_chunks, biggest, observed, block = map(int, re.search(r"CHUNKS (\d+) (\d+) (\d+) (\d+)", stdout).groups())
    assert n_chunks >= 180 and biggest <= 20 * 8000 + 160  # 20 s chunks at the engine's 8 kHz
    assert observed == 3600 * 8000 and block < 8000 * 20  # pass 1 saw everything, in blocks
    info = sf.info(out)
    assert (info.samplerate, info.channels) == (16000, 1) and abs(info.frames - 3600 * 16000) <= 1
    assert peak_mb < 250, f"peak RSS {peak_mb} MB for 1 h of audio"
    with sf.SoundFile(out) as f:  # spot check: a stretch from the middle is the input at half level
        f.seek(1800 * 16000)
        y = f.read(16000)
    with sf.SoundFile(src) as f:
        f.seek(1800 * 16000)
        x = f.read(16000)
    assert np.sqrt(np.mean(y**2)) == pytest.approx(0.5 * np.sqrt(np.mean((x - x.mean()) ** 2)), rel=0.05)


@pytest.mark.slow
def test_one_hour_with_the_prosody_engine_stays_under_600_mb(tmp_path):
    src = _hour_of_speech(tmp_path / "hour.wav")
    out = tmp_path / "out.wav"
    code = f"""
from promptevc.cli import main
assert main(["-q", "convert", {str(src)!r}, "-o", {str(out)!r}, "--emotion", "sad", "--intensity", "0.5",
             "--max-seconds", "4000"]) == 0
"""
    _, peak_mb = _run(code)
    assert peak_mb <= 600, f"peak RSS {peak_mb} MB"
    assert sf.info(out).duration > 3600
