"""Train the fast-vocoder candidates the same way, for the copy-synthesis comparison.

Each candidate (Vocos base, Vocos small, HiFi-GAN V3; all on the hifigan22k mel) is trained
by ``promptevc train-vocoder`` on the same Kaldi data dir, with the same discriminators,
losses, batch, learning rate (5e-4) and number of steps, one after the other (or run one
script per ``--candidates`` at once); the script records seconds per step
and writes ``OUT/<candidate>/release`` (and ``OUT/<candidate>/training.json``), which ``bench/bench_copy_synthesis.py --release`` then
scores. Discriminators are the paper's shapes at reduced width (``--disc-width``) so that a
CPU can run a comparison; this compares the generators, it does not make a finished vocoder.

Default data: the egs/mini espeak-ng corpus (``promptevc prepare-data --corpus mini``), whose
train split has 360 utterances (about 17 minutes) from four voices. Usage::

    python bench/train_fast_vocoders.py --data DATA/train --out exp/fast_vocoders [--steps 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HIFIGAN_V3 = ("{resblock: '2', upsample_rates: [8, 8, 4], upsample_kernel_sizes: [16, 16, 8], "
              "upsample_initial_channel: 256, resblock_kernel_sizes: [3, 5, 7], "
              "resblock_dilation_sizes: [[1, 2], [2, 6], [3, 12]]}")
CANDIDATES: dict[str, list[str]] = {
    "vocos-base": [],
    "vocos-small": ["generator.dim=256", "generator.intermediate_dim=768", "generator.num_layers=4"],
    "hifigan-v3": ["architecture=hifigan", f"generator={HIFIGAN_V3}"],
}


def discriminator_overrides(width: float) -> list[str]:
    """The paper's MPD / MSD with every channel count scaled by ``width`` (groups kept dividing)."""
    mpd = [max(4, int(c * width)) for c in (32, 128, 512, 1024, 1024)]
    groups = [1, 4, 16, 16, 16, 16, 1]
    msd = [max(g * 4, int(c * width) // g * g) for c, g in zip((128, 128, 256, 512, 1024, 1024, 1024), groups, strict=True)]
    return [f"discriminator.mpd_channels={mpd}", f"discriminator.msd_channels={msd}",
            f"discriminator.msd_groups={groups}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="Kaldi data dir to train on (wav.scp)")
    parser.add_argument("--out", required=True, help="folder for one experiment per candidate")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--disc-width", type=float, default=0.125, help="discriminator width factor")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    common = [*discriminator_overrides(args.disc_width), f"train.batch_size={args.batch_size}",
              "train.num_workers=0", "data.valid_utts=4", f"train.max_steps={args.steps}",
              f"train.valid_every={max(1, args.steps // 5)}", f"train.save_every={max(1, args.steps // 5)}",
              "train.log_every=50", "train.learning_rate=0.0005"]
    summary = {}
    for name in args.candidates:
        sets = [x for item in common + CANDIDATES[name] for x in ("--set", item)]
        cmd = [sys.executable, "-m", "promptevc.cli", "train-vocoder", "--config", "vocoder_vocos",
               "--data", args.data, "--exp", str(out / name), "--device", "cpu", "--no-progress", *sets]
        print(f"# {name}: {' '.join(cmd[3:])}", flush=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=os.environ | {"OMP_NUM_THREADS": str(args.threads)})
        elapsed = time.perf_counter() - start
        summary[name] = {"steps": args.steps, "batch_size": args.batch_size, "seconds": elapsed,
                         "seconds_per_step": elapsed / args.steps, "release": str(out / name / "release")}
        (out / name / "training.json").write_text(json.dumps(summary[name], indent=2))
        print(f"{name}: {elapsed / args.steps:.2f} s/step, release {out / name / 'release'}", flush=True)
    print(json.dumps({"bench": "train_fast_vocoders", "load_average": os.getloadavg()[0], "results": summary}))


if __name__ == "__main__":
    main()
