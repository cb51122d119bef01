"""``promptevc fit-units``: k-means content units from dumped features (recipe stage 5)."""

from __future__ import annotations

import argparse

from promptevc.commands._common import add_device_argument, resolve_device

NAME = "fit-units"
HELP = "fit k-means content units on a training data dir and write units.scp for data dirs"
DESCRIPTION = """Fit k-means on (a sample of) the dumped content features of --data, save
UNITS_DIR/kmeans.safetensors + content.yaml + audio.yaml, and write units.scp + units/<utt>.npy
(one unit per mel frame) for --data and every --apply dir (dumped with the same settings).

Example:
  promptevc fit-units --data data/train --apply data/valid data/test --k 100 --out exp/units
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="training data dir with dumped features")
    parser.add_argument("--apply", nargs="*", default=[], metavar="DIR",
                        help="more data dirs to write units for (same content settings)")
    parser.add_argument("--k", type=int, default=100, help="number of units (default: %(default)s)")
    parser.add_argument("--out", required=True, help="units dir to write")
    parser.add_argument("--max-frames", type=int, default=200_000,
                        help="content frames sampled for fitting (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=50, help="k-means iterations/epochs (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.data.units import apply_units, fit_units
    from promptevc.errors import ConfigError

    for d in [args.data, *args.apply]:
        if not Path(d).is_dir():
            raise ConfigError(f"{d}: no such data directory")
    if args.k < 2:
        raise ConfigError(f"--k {args.k}: need at least 2 units")
    if args.max_frames < args.k:
        raise ConfigError(f"--max-frames {args.max_frames}: must be at least --k {args.k}")
    device = resolve_device(args.device)
    extractor = fit_units(args.data, args.out, args.k, max_frames=args.max_frames, n_iter=args.iterations,
                          seed=args.seed, device=device, progress=args.progress)
    for d in dict.fromkeys([args.data, *args.apply]):
        hist = apply_units(extractor, d, progress=args.progress)
        used = sum(1 for c in hist.values() if c > 0)
        print(f"{d}: units.scp written ({used} of {args.k} units used)")
    print(f"units: {args.out}")
    return 0
