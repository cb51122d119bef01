"""Helpers shared by the recipe tests."""

from __future__ import annotations

import time
from pathlib import Path


def process_ends(pid: int, seconds: float = 10.0) -> bool:
    """True once ``pid`` is gone (or a zombie waiting to be reaped) within ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def wait_for(condition, seconds: float = 60.0) -> bool:
    """Poll ``condition()`` every 50 ms until it is true (True) or ``seconds`` pass (False)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        time.sleep(0.05)
    return False
