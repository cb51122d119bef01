"""Prompt understanding: EmotionControl, the zero-shot parser, training prompt templates."""

from promptevc.prompt.control import EMOTIONS, EmotionControl, ProsodyHints
from promptevc.prompt.parser import ZeroShotParser, get_parser, parse_prompt
from promptevc.prompt.templates import bucket_for_intensity, generate_prompt

__all__ = [
    "EMOTIONS",
    "EmotionControl",
    "ProsodyHints",
    "ZeroShotParser",
    "bucket_for_intensity",
    "generate_prompt",
    "get_parser",
    "parse_prompt",
]
