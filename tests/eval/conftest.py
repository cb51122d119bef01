"""Evaluation tests call ``cli.main`` repeatedly under output capture."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _fresh_cli_log_handlers():
    """``cli.setup_logging`` binds its handler to the sys.stderr of the first call; under pytest's
    capture that stream is closed by the next test, so drop the handler around every test."""
    logger = logging.getLogger("promptevc")
    saved = list(logger.handlers)
    logger.handlers.clear()
    yield
    logger.handlers[:] = saved
