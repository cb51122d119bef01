#!/usr/bin/env python
"""Pre-flight check of the pretrained models the selected stages will load (no download).

  check_models.py --command "./run.sh --esd_root X" \
      --need 2 "content model" facebook/hubert-base-ls960 "--content mel" \
      --text-encoder 6 promptevc/configs/acoustic_base.yaml "--set train.max_steps=10" \
      --need 8 vocoder microsoft/speecht5_hifigan "--vocoder hifigan-universal"

Each ``--need STAGE WHAT NAME FIX`` names a model and the pipeline options that avoid it;
``--text-encoder STAGE CONF ARGS`` finds ``model.descriptor.encoder`` in the acoustic config and
its ``--set`` overrides. Names that are not Hugging Face repo ids (local folders, packaged names
such as ``griffin-lim`` or ``packaged:all-MiniLM-L6-v2``) are not checked. When a repo is neither
reachable (within about a second, see promptevc/hub.py) nor cached, prints one line per missing
model and the complete command that runs without them, and exits 1.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

MINILM = "packaged:all-MiniLM-L6-v2"


def text_encoder(conf: str, args: str) -> str | None:
    """``model.descriptor.encoder`` of ``conf`` after the ``--set`` overrides in ``args``."""
    encoder = None
    try:
        import yaml

        data = yaml.safe_load(Path(conf).read_text(encoding="utf-8")) or {}
        encoder = ((data.get("model") or {}).get("descriptor") or {}).get("encoder")
    except (OSError, ValueError, AttributeError):
        pass  # the stage reports a bad config itself
    words = shlex.split(args or "")
    for i, word in enumerate(words):
        value = words[i + 1] if word == "--set" and i + 1 < len(words) else word[6:] if word.startswith("--set=") else ""
        key, _, val = value.partition("=")
        if key.strip() == "model.descriptor.encoder":
            encoder = val.strip().strip("'\"")
    return encoder


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--command", default="./run.sh", help="the command the user ran (shell-quoted)")
    p.add_argument("--need", nargs=4, action="append", default=[], metavar=("STAGE", "WHAT", "NAME", "FIX"))
    p.add_argument("--text-encoder", nargs=3, default=None, metavar=("STAGE", "CONF", "ARGS"))
    args = p.parse_args(argv)

    from promptevc.hub import looks_like_repo_id, model_available

    needs = [tuple(n) for n in args.need]
    if args.text_encoder:
        stage, conf, extra = args.text_encoder
        enc = text_encoder(conf, extra)
        if enc:
            fix = f"--set model.descriptor.encoder={MINILM}"
            needs.append((stage, "prompt text encoder", enc, shlex.join(["--acoustic_args", f"{extra} {fix}".strip()])))
    missing, fixes = [], []
    for stage, what, name, fix in sorted(needs, key=lambda n: int(n[0])):
        if not name or not looks_like_repo_id(name):
            continue
        ok, why = model_available(name)
        if not ok:
            missing.append(f"stage {stage} needs the {what} {name!r}: {why}")
            if fix and fix not in fixes:
                fixes.append(fix)
    if not missing:
        return 0
    for line in missing:
        print(line, file=sys.stderr)
    if fixes:
        print(f"To run without the Hugging Face Hub: {args.command} {' '.join(fixes)}", file=sys.stderr)
    print("Or pre-fetch the models on a connected machine (huggingface-cli download NAME) and copy "
          "the Hugging Face cache (HF_HOME) here.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
