"""Conversion engines: ``prosody`` (embedded default, WORLD) and ``neural`` (trained release).

Both implement :class:`promptevc.engines.base.Engine`; build one with :func:`load_engine`.
"""

from promptevc.engines.base import ENGINES, Engine, engine_class, load_engine

__all__ = ["ENGINES", "Engine", "engine_class", "load_engine"]
