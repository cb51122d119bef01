#!/usr/bin/env python
"""Print a short digest of files and folders, for the pipeline's done-markers.

  signature.py PATH [PATH ...]       # one 16-hex-digit line

A file counts by its content (SHA-256) when it is at most 32 MiB, else by its size and mtime; a
folder by the relative name, size and mtime of every file below it (never by content: a
corpus or a folder of converted wavs is stat'ed, not read); a missing path as "missing". Paths
themselves are not part of the digest, so the same outputs written elsewhere match. Standard
library only (it runs before every stage).
"""

from __future__ import annotations

import hashlib
import os
import sys

CONTENT_LIMIT = 32 << 20


def file_digest(path: str, st: os.stat_result) -> str:
    if st.st_size > CONTENT_LIMIT:
        return f"stat {st.st_size} {st.st_mtime_ns}"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_lines(root: str) -> list[str]:
    lines = []
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(base, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            lines.append(f"{os.path.relpath(full, root)}\t{st.st_size}\t{st.st_mtime_ns}")
    return lines


def signature(paths: list[str]) -> str:
    h = hashlib.sha256()
    for path in paths:
        if os.path.isdir(path):
            h.update(("dir\n" + "\n".join(tree_lines(path)) + "\n").encode("utf-8", "surrogateescape"))
        elif os.path.isfile(path):
            h.update(f"file {file_digest(path, os.stat(path))}\n".encode())
        else:
            h.update(b"missing\n")
    return h.hexdigest()[:16]


if __name__ == "__main__":
    print(signature(sys.argv[1:]))
