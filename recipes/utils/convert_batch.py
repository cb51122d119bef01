#!/usr/bin/env python
"""Stage 8 in one process per job: the same conversions as one ``promptevc convert`` call per
prompt, through the public API, loading the release and vocoder once (``--convert_mode batch``).

  convert_batch.py --src EXP/convert/src.scp --prompts conf/convert_prompts.tsv --out-dir EXP/convert \
      --model EXP/acoustic/release [--vocoder NAME] [--seed 0] [--device cpu] [--job 1 --num-jobs 2]

Condition ``<emotion>_<level>`` of the prompt list goes to ``OUT/<emotion>_<level>/<utt>.wav``,
exactly where ``promptevc convert SRC.scp --out-dir OUT/<emotion>_<level>`` would write it.
Job ``j`` of ``n`` takes every n-th condition. Exits 1 if any conversion failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conversion_pairs import read_prompts  # noqa: E402

from promptevc.data.kaldi import read_scp  # noqa: E402
from promptevc.errors import PromptEVCError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True)
    p.add_argument("--prompts", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--vocoder", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--job", type=int, default=1)
    p.add_argument("--num-jobs", type=int, default=1)
    args = p.parse_args(argv)

    from promptevc import Converter

    src = read_scp(args.src)
    conditions = [c for i, c in enumerate(read_prompts(args.prompts)) if i % args.num_jobs == args.job - 1]
    start = time.time()
    conv = Converter.load(engine="neural", model=args.model, vocoder=args.vocoder or None, device=args.device)
    print(f"loaded {args.model} in {time.time() - start:.1f} s", flush=True)
    failed = done = 0
    for emotion, _intensity, level, prompt in conditions:
        ctrl = conv.control(prompt)
        print(f"{emotion}_{level}: {prompt!r} -> {ctrl.summary() if hasattr(ctrl, 'summary') else ctrl}", flush=True)
        for utt, path in src.items():
            out = Path(args.out_dir) / f"{emotion}_{level}" / f"{utt}.wav"
            try:
                conv.convert_file(path, out, control=ctrl, seed=args.seed, overwrite=True)
                done += 1
            except PromptEVCError as err:
                failed += 1
                print(f"{utt} ({emotion}_{level}): failed: {err}", file=sys.stderr)
    print(f"converted {done}, failed {failed} in {time.time() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
