"""Prompt understanding: EmotionControl, the zero-shot parser, training prompt templates."""

from promptevc.prompt.control import EMOTIONS, EmotionControl, ProsodyHints

__all__ = ["EMOTIONS", "EmotionControl", "ProsodyHints"]
