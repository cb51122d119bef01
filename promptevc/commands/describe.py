"""``promptevc describe "PROMPT"``: show how the zero-shot parser understood a prompt."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "describe"
HELP = "show how a prompt is understood (emotion probabilities, intensity, hints)"
DESCRIPTION = """Parse a free-text prompt the way 'promptevc convert' does and print the result.

examples:
  promptevc describe "slightly sad"
  promptevc describe "happy with a hint of surprise, a bit faster" --json
  promptevc describe "furious" --emotion sad --intensity 0.2   # overrides, as in convert
  promptevc describe "very happy" --model exp/acoustic/release   # what a neural release reads

With --model RELEASE (a neural acoustic release), the model's own reading is printed beside the
parser's: the emotion mixture of its descriptor's emotion head and the intensity of its intensity
head, i.e. what conditions a `convert --engine neural` (default --control learned), and then the
conditioning after --emotion/--intensity under the neural engine's rule. With --json it is added
under the key "model".
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the prompt text, e.g. \"a little surprised\"")
    parser.add_argument(
        "--json", action=argparse.BooleanOptionalAction, default=False,
        help="print JSON with keys emotion, probs, intensity, hints (warnings go to stderr)",
    )
    parser.add_argument(
        "--emotion", default=None,
        help="override the emotion (neutral, angry, happy, sad, surprise, fear, disgust, boredom, tenderness, elation)",
    )
    parser.add_argument(
        "--profile", choices=("literature", "esd"), default="literature",
        help="prosody profile set used for the plan shown (default: literature)",
    )
    parser.add_argument("--intensity", type=float, default=None, help="override the intensity, 0..1")
    parser.add_argument(
        "--model", default=None, metavar="RELEASE",
        help="a neural acoustic release (folder or repo id): also print what the model itself reads from the prompt",
    )
    parser.add_argument(
        "--encoder", default=None,
        help="sentence encoder: a local folder or Hugging Face id (default: the packaged all-MiniLM-L6-v2)",
    )


def run(args: argparse.Namespace) -> int:
    from promptevc.prompt.parser import get_parser

    parser = get_parser(args.encoder)
    control, notes = parser.explain(args.prompt)
    control = control.with_overrides(emotion=args.emotion, intensity=args.intensity)
    model_reading = _model_reading(args.model, control) if args.model else None
    if args.json:
        # stdout stays EmotionControl.to_dict() (plus "model" with --model); warnings go to stderr.
        for warning in control.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        out = control.to_dict()
        if model_reading is not None:
            out["model"] = model_reading
        print(json.dumps(out, indent=2))
        return 0
    print(f"prompt:    {args.prompt!r}")
    print(f"parsed as: {control.summary()}")
    if args.emotion is not None or args.intensity is not None:
        print("           (--emotion/--intensity overrides applied)")
    for note in notes:
        print(f"  - {note}")
    for line in engine_lines(control, args.profile):
        print(line)
    for warning in control.warnings:
        print(f"warning: {warning}")
    if model_reading is not None:
        print(f"model reads: {model_reading['summary']}   [{args.model}]")
        if args.emotion is not None or args.intensity is not None:
            print(f"conditioned: {model_reading['conditioning']}")
    return 0


def engine_lines(control, profile: str = "literature") -> list[str]:
    """What each engine does with ``control``: the prosody plan, and the ESD mixture the neural
    models receive (with the nearest-emotion note when the prompt names an emotion outside ESD)."""
    from promptevc.engines.profiles import plan_from_control
    from promptevc.prompt.control import EMOTIONS, unknown_emotion_warning

    plan = plan_from_control(control, profile)
    prosody = "unchanged (identity plan)" if plan.is_identity() else plan.summary()
    mix = ", ".join(f"{e} {control.probs[e]:.2f}" for e in sorted(EMOTIONS, key=lambda e: -control.probs[e])
                    if control.probs[e] >= 0.05)
    lines = [f"prosody engine ({control.label}, {profile} profile): {prosody}",
             f"neural engine (ESD's five): {mix}"]
    warning = unknown_emotion_warning(control, "neural")
    if warning:
        lines.append(f"  note: {warning}")
    return lines


def _model_reading(release: str, control) -> dict:
    """The release's own reading of the prompt (descriptor heads) and the resolved neural conditioning."""
    from promptevc.engines.neural import PromptReader, load_acoustic, resolve_control
    from promptevc.prompt.control import EMOTIONS, EmotionControl

    net, _, _ = load_acoustic(release, device="cpu")
    reader = PromptReader(net)
    probs, intensity = reader.read(control.prompt)
    own = EmotionControl(probs=dict(zip(EMOTIONS, probs, strict=True)), intensity=intensity)
    cond = resolve_control(control, mode="learned", read_prompt=reader.read)
    resolved = EmotionControl(probs=dict(zip(EMOTIONS, cond.probs, strict=True)), intensity=cond.intensity)
    return {
        "emotion": own.emotion,
        "probs": {e: round(own.probs[e], 4) for e in EMOTIONS},
        "intensity": round(own.intensity, 4),
        "summary": own.summary(),
        "conditioning": cond.summary(),
        "conditioning_probs": {e: round(resolved.probs[e], 4) for e in EMOTIONS},
        "conditioning_intensity": round(resolved.intensity, 4),
    }
