#!/usr/bin/env python
"""Stage 8 in one process per job: the same conversions as one ``promptevc convert`` call per
prompt, through the public API, loading the release and vocoder once (``--convert_mode batch``).

  convert_batch.py --src EXP/convert/src.scp --prompts conf/convert_prompts.tsv --out-dir EXP/convert \
      --model EXP/acoustic/release [--system neural] [--vocoder NAME] [--seed 0] [--device cpu] \
      [--job 1 --num-jobs 2]

Condition ``<condition>`` of the prompt list (default name ``<emotion>_<level>``) goes to
``OUT/<condition>/<utt>.wav``, exactly where ``promptevc convert SRC.scp --out-dir OUT/<condition>``
with the system's options (``conversion_pairs.py system-args``) would write it. Job ``j`` of ``n``
takes every n-th condition. Exits 1 if any conversion failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conversion_pairs import SYSTEMS, load_prompts  # noqa: E402

from promptevc.batch import read_scp_jobs  # noqa: E402
from promptevc.errors import PromptEVCError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True)
    p.add_argument("--prompts", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--model", default=None, help="the acoustic release (neural systems)")
    p.add_argument("--system", choices=SYSTEMS, default="neural",
                   help="neural (learned control), neural_parser, neural_projection or prosody (default: neural)")
    p.add_argument("--vocoder", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--job", type=int, default=1)
    p.add_argument("--num-jobs", type=int, default=1)
    args = p.parse_args(argv)

    from promptevc import Converter

    conditions = [c for i, c in enumerate(load_prompts(args.prompts)) if i % args.num_jobs == args.job - 1]
    start = time.time()
    try:
        if args.system == "prosody":
            conv = Converter.load(engine="prosody")
        else:
            if not args.model:
                print(f"convert_batch.py: error: system {args.system} needs --model", file=sys.stderr)
                return 2
            # The options `promptevc convert --control/--prompt-mapper` set (conversion_pairs.system_args).
            conv = Converter.load(engine="neural", model=args.model, vocoder=args.vocoder or None, device=args.device)
            conv.engine.set_control_mode("parser" if args.system == "neural_parser" else "learned")
            conv.engine.set_prompt_mapper("projection" if args.system == "neural_projection" else "diffusion")
            # Many prompts in one process: keep the frozen text encoder instead of reloading it per prompt.
            conv.engine.release_text_encoder = False
    except PromptEVCError as err:
        print(f"convert_batch.py: error: {err}", file=sys.stderr)
        return 2
    print(f"{args.system}: loaded in {time.time() - start:.1f} s", flush=True)
    failed = done = 0
    for c in conditions:
        cond, prompt = c["condition"], c["prompt"]
        out_dir = Path(args.out_dir) / cond
        try:
            ctrl = conv.control(prompt)
            print(f"{cond}: {prompt!r} -> {ctrl.summary()}", flush=True)
            # The same checks and writer as `promptevc convert SRC.scp --out-dir OUT/<cond>`:
            # every output checked before the first job (ids, inputs, --out-dir), atomic writes.
            result = conv.convert_many(read_scp_jobs(args.src, out_dir), control=ctrl, seed=args.seed,
                                       overwrite=True, out_dir=out_dir, progress=False)
        except PromptEVCError as err:
            print(f"{cond}: error: {err}", file=sys.stderr)
            return 2
        done += len(result.converted)
        failed += len(result.failed)
        for job, reason in result.failed:
            print(f"{job.label()} ({cond}): failed: {reason}", file=sys.stderr)
    print(f"{args.system}: converted {done}, failed {failed} in {time.time() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
