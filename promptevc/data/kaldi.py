"""Kaldi-style data directories: sorted ``key value`` text files.

A data dir holds ``wav.scp`` (utt -> path), ``utt2spk``, ``spk2utt``, ``text``, ``utt2emo``
and, after stage 4, ``utt2intensity``; dumped features add ``feats.scp`` (utt -> .npz).
Every file is sorted by key (C locale, i.e. plain string order) and keys are unique.
Validation and fixing live in :mod:`promptevc.data.validate`.
"""

from __future__ import annotations

from pathlib import Path


def read_scp(path: str | Path) -> dict[str, str]:
    """Read ``key value...`` lines into an ordered dict (value = rest of the line)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            out[parts[0]] = parts[1] if len(parts) > 1 else ""
    return out


def write_scp(path: str | Path, entries: dict[str, object]) -> None:
    """Write ``key value`` lines sorted by key (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for key in sorted(entries):
            f.write(f"{key} {entries[key]}\n")
    tmp.replace(path)


def spk2utt_from_utt2spk(utt2spk: dict[str, str]) -> dict[str, str]:
    groups: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        groups.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in groups.items()}


class DataDir:
    """Read access to a data dir; each file is loaded on first use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cache: dict[str, dict[str, str]] = {}

    def has(self, name: str) -> bool:
        return (self.path / name).exists()

    def get(self, name: str) -> dict[str, str]:
        if name not in self._cache:
            self._cache[name] = read_scp(self.path / name)
        return self._cache[name]

    @property
    def utts(self) -> list[str]:
        return list(self.get("wav.scp"))

    def wav_path(self, utt: str) -> Path:
        p = Path(self.get("wav.scp")[utt])
        return p if p.is_absolute() else (self.path / p)
