"""Fixtures for prompt tests: the packaged sentence encoder and parser, loaded once per session."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def prompt_cache_dir(tmp_path_factory):
    """A session cache dir for anchor embeddings, used by get_parser() and the CLI."""
    path = tmp_path_factory.mktemp("promptevc_cache")
    old = os.environ.get("PROMPTEVC_CACHE_DIR")
    os.environ["PROMPTEVC_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("PROMPTEVC_CACHE_DIR", None)
    else:
        os.environ["PROMPTEVC_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def parser(prompt_cache_dir):
    """The process-wide parser (get_parser()); the CLI commands in these tests reuse it."""
    from promptevc.prompt.parser import _cached_parser, get_parser

    _cached_parser.cache_clear()  # built against the session cache dir
    return get_parser()


@pytest.fixture(scope="session")
def encoder(parser):
    return parser.encoder
