"""Shared pieces of the Chromium tests: the browser to use, a free port, screenshots.

Imported by name (``from browser_support import ...``) like demo_support.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

CHROMIUM = os.environ.get("PROMPTEVC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shot(page, folder: Path, name: str) -> Path:
    """Full-page screenshot into ``folder`` and, when the environment names one, $PROMPTEVC_SCREENSHOT_DIR."""
    path = Path(folder) / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("PROMPTEVC_SCREENSHOT_DIR"):
        out = Path(os.environ["PROMPTEVC_SCREENSHOT_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / name)
    return path
