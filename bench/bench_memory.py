"""Peak memory and time of ``promptevc convert`` on long input: bounded by the chunk, not the length.

    python bench/bench_memory.py                           # 1 h, 16 kHz mono, prosody engine
    python bench/bench_memory.py --minutes 1 10 60         # the growth curve (issue 13: 264 MB, 0.96 GB, 5.0 GB)
    python bench/bench_memory.py --rate 44100 --channels 2 --minutes 10
    python bench/bench_memory.py --engine neural --model exp/acoustic/release --vocoder griffin-lim

For each length the script synthesises speech-like input (``promptevc.utils.synth``, tiled with
varied pitch, written block by block so the bench itself stays small), then runs a fresh
``promptevc convert IN -o OUT --emotion sad --intensity 0.5`` process and reports its wall time,
CPU time, real-time factor and peak RSS (``VmHWM`` of the child, read at its exit: ``ru_maxrss``
would carry the forking parent's peak across ``exec``). Targets (issue 13): a 1 h input
<= 600 MB with the prosody engine, <= 2 GB with the neural engine. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

TARGET_MB = {"prosody": 600.0, "neural": 2048.0}

_CHILD = (
    "import atexit, re, sys\n"
    "def _hwm():\n"
    "    text = open('/proc/self/status').read()\n"
    "    print('VMHWM_KB', re.search(r'VmHWM:\\s+(\\d+)', text)[1], file=sys.stderr, flush=True)\n"
    "atexit.register(_hwm)\n"
    "from promptevc.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def synthesise(path: Path, seconds: float, rate: int, channels: int, block_seconds: float = 30.0) -> None:
    """Write ``seconds`` of speech-like audio to ``path`` in blocks (constant memory)."""
    from promptevc.utils.synth import synth_speech

    blocks = [synth_speech(f0, block_seconds, rate, seed=i) for i, f0 in enumerate((110.0, 150.0, 190.0, 130.0))]
    done = 0.0
    i = 0
    with sf.SoundFile(path, "w", rate, channels, subtype="PCM_16") as f:
        while done < seconds:
            n = int(min(block_seconds, seconds - done) * rate)
            x = blocks[i % len(blocks)][:n] * (0.8 + 0.05 * (i % 5))
            f.write(np.repeat(x[:, None], channels, axis=1) if channels > 1 else x)
            done += n / rate
            i += 1


def run_convert(src: Path, out: Path, extra: list[str]) -> dict:
    argv = ["-q", "convert", str(src), "-o", str(out), "--emotion", "sad", "--intensity", "0.5", "--overwrite",
            *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, *argv], stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read()
    proc.stderr.close()
    m = re.search(r"VMHWM_KB (\d+)", err)
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"convert failed ({rc}): {err.strip()[-500:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": int(m[1]) / 1024 if m else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, nargs="+", default=[60.0], help="input lengths (default: 60)")
    p.add_argument("--rate", type=int, default=16000, help="input sample rate (default 16000)")
    p.add_argument("--channels", type=int, default=1, help="input channels (default 1)")
    p.add_argument("--engine", choices=("prosody", "neural"), default="prosody")
    p.add_argument("--model", default=None, help="release for --engine neural")
    p.add_argument("--vocoder", default=None, help="vocoder for --engine neural")
    p.add_argument("--work-dir", default=None, help="where the inputs and outputs go (default: a temp folder)")
    args = p.parse_args(argv)

    extra = ["--engine", args.engine]
    if args.model:
        extra += ["--model", args.model]
    if args.vocoder:
        extra += ["--vocoder", args.vocoder]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; engine {args.engine}; "
          f"input {args.rate} Hz, {args.channels} ch", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        for minutes in args.minutes:
            seconds = minutes * 60.0
            src = Path(tmp) / f"in_{minutes:g}min.wav"
            synthesise(src, seconds, args.rate, args.channels)
            res = run_convert(src, Path(tmp) / "out.wav", [*extra, "--max-seconds", str(seconds + 1)])
            res.update(minutes=minutes, rtf=res["wall_s"] / seconds, cpu_rtf=res["cpu_s"] / seconds,
                       input_mb=src.stat().st_size / 2**20)
            rows.append(res)
            print(f"{minutes:7.1f} min ({res['input_mb']:.0f} MB file): peak RSS {res['peak_rss_mb']:.0f} MB, "
                  f"wall {res['wall_s']:.1f} s (RTF {res['rtf']:.3f}), CPU {res['cpu_s']:.1f} s", flush=True)
            src.unlink()
    longest = max(rows, key=lambda r: r["minutes"])
    target = TARGET_MB[args.engine]
    print(f"peak RSS at {longest['minutes']:g} min: {longest['peak_rss_mb']:.0f} MB (target <= {target:.0f} MB: "
          f"{'met' if longest['peak_rss_mb'] <= target else 'NOT met'})")
    print(json.dumps({"engine": args.engine, "rate": args.rate, "channels": args.channels, "runs": rows,
                      "target_mb": target}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
