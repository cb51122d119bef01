"""PromptEVC web demo: ``python demo/app.py [--model RELEASE] [--host 127.0.0.1] [--port N] ...``.

A thin launcher for ``promptevc demo`` (same options; see ``--help`` and demo/README.md).
"""

from __future__ import annotations

import sys

from promptevc.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
