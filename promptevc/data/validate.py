"""Validate and fix Kaldi-style data dirs (the checks Kaldi's ``validate_data_dir.sh`` makes).

``validate_data_dir(path)`` returns a list of readable problems (empty = valid):
unsorted files, duplicate keys, lines without a value, missing audio files, ``utt2spk`` and
``spk2utt`` that disagree, utterances missing from (or extra in) ``text``/``utt2emo``/
``utt2intensity``/``utt2prompt``/``feats.scp``/``units.scp``, emotion labels outside
:data:`~promptevc.prompt.control.EMOTIONS`, intensities outside [0, 1] or non-zero for neutral.

``fix_data_dir(path)`` sorts every file, drops duplicate keys and invalid lines, keeps the
utterances present in all files, regenerates ``spk2utt``, keeps the originals in
``.backup/`` and returns what it dropped.

Command line (used by ``recipes/utils/validate_data_dir.sh`` and ``fix_data_dir.sh``)::

    python -m promptevc.data.validate DIR [DIR ...] [--fix] [--no-check-files]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections import Counter
from pathlib import Path

from promptevc.data.kaldi import spk2utt_from_utt2spk, write_scp
from promptevc.prompt.control import EMOTIONS

REQUIRED = ("wav.scp", "utt2spk", "spk2utt", "text", "utt2emo")
# Per-utterance files that must cover exactly the utterances of wav.scp when they exist.
PER_UTT_OPTIONAL = ("utt2intensity", "utt2prompt", "feats.scp", "units.scp")
PER_UTT = ("wav.scp", "utt2spk", "text", "utt2emo") + PER_UTT_OPTIONAL
FILE_VALUED = ("wav.scp", "feats.scp", "units.scp")
MAX_SHOWN = 3  # keys listed in a message before "..."


def _show(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_SHOWN])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > MAX_SHOWN else "")


def read_lines(path: Path) -> list[tuple[int, str, str]]:
    """Raw ``(line number, key, value)`` entries, duplicates and order kept (unlike read_scp)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            out.append((n, parts[0], parts[1].strip() if len(parts) > 1 else ""))
    return out


def _resolve(base: Path, value: str) -> Path | None:
    """Audio/feature path of an scp value; None for Kaldi pipe commands (``... |``)."""
    if value.endswith("|"):
        return None
    p = Path(value)
    return p if p.is_absolute() else base / p


def _check_file(name: str, path: Path, entries: list[tuple[int, str, str]], check_files: bool) -> list[str]:
    """Problems inside one file: order, duplicates, empty values, bad labels/values, missing files."""
    problems: list[str] = []
    fix = f"run recipes/utils/fix_data_dir.sh {path.parent}"
    keys = [k for _, k, _ in entries]
    for (n_prev, prev, _), (n, key, _) in zip(entries, entries[1:], strict=False):
        if key < prev:
            problems.append(f"{name}: not sorted: line {n} key {key!r} comes after {prev!r} (line {n_prev}); {fix}")
            break
    dups = {k for k, n in Counter(keys).items() if n > 1}
    if dups:
        problems.append(f"{name}: duplicate keys {_show(dups)}; {fix}")
    empty = [k for _, k, v in entries if not v]
    if empty:
        problems.append(f"{name}: no value for {_show(empty)}")
    if name == "utt2emo":
        bad = {f"{k}={v}" for _, k, v in entries if v not in EMOTIONS}
        if bad:
            problems.append(f"utt2emo: labels not in {', '.join(EMOTIONS)}: {_show(bad)}")
    if name == "utt2intensity":
        bad = set()
        for _, k, v in entries:
            try:
                x = float(v)
            except ValueError:
                bad.add(f"{k}={v}")
                continue
            if not (math.isfinite(x) and 0.0 <= x <= 1.0):
                bad.add(f"{k}={v}")
        if bad:
            problems.append(f"utt2intensity: values must be numbers in [0, 1]: {_show(bad)}")
    if name in FILE_VALUED and check_files:
        missing = []
        for _, k, v in entries:
            p = _resolve(path.parent, v) if v else None
            if v and p is not None and not p.is_file():
                missing.append(f"{k} ({p})")
        if missing:
            problems.append(f"{name}: {len(missing)} files do not exist: {_show(missing)}")
    return problems


def validate_data_dir(path: str | Path, check_files: bool = True) -> list[str]:
    """Readable problems of the data dir at ``path``; an empty list means it is valid."""
    path = Path(path)
    if not path.is_dir():
        return [f"{path}: not a data dir (no such folder)"]
    problems: list[str] = []
    files: dict[str, list[tuple[int, str, str]]] = {}
    for name in REQUIRED + PER_UTT_OPTIONAL:
        f = path / name
        if not f.exists():
            if name in REQUIRED:
                problems.append(f"{name}: missing (required in a data dir)")
            continue
        try:
            files[name] = read_lines(f)
        except UnicodeDecodeError:
            problems.append(f"{name}: not UTF-8 text")
            continue
        if not files[name]:
            problems.append(f"{name}: empty")
        problems += _check_file(name, f, files[name], check_files)

    maps = {name: dict((k, v) for _, k, v in entries) for name, entries in files.items()}
    utts = set(maps.get("wav.scp", {}))
    for name in PER_UTT:
        if name == "wav.scp" or name not in maps:
            continue
        keys = set(maps[name])
        missing, extra = utts - keys, keys - utts
        if missing:
            problems.append(f"{name}: {len(missing)} utterances of wav.scp missing: {_show(missing)}")
        if extra:
            problems.append(f"{name}: {len(extra)} utterances not in wav.scp: {_show(extra)}")

    if "utt2spk" in maps and "spk2utt" in maps:
        expected = {spk: set(u.split()) for spk, u in spk2utt_from_utt2spk(maps["utt2spk"]).items()}
        actual = {spk: set(u.split()) for spk, u in maps["spk2utt"].items()}
        for spk in sorted(set(expected) | set(actual)):
            if spk not in actual:
                problems.append(f"spk2utt: speaker {spk} of utt2spk missing; regenerate spk2utt from utt2spk")
            elif spk not in expected:
                problems.append(f"spk2utt: speaker {spk} has no utterances in utt2spk")
            elif expected[spk] != actual[spk]:
                diff = expected[spk] ^ actual[spk]
                problems.append(
                    f"spk2utt: speaker {spk} lists different utterances than utt2spk ({_show(diff)}); "
                    "regenerate spk2utt from utt2spk"
                )
        in_lists = [u for v in maps["spk2utt"].values() for u in v.split()]
        if len(in_lists) != len(set(in_lists)):
            problems.append("spk2utt: an utterance is listed under more than one speaker")

    if "utt2intensity" in maps and "utt2emo" in maps:
        bad = []
        for utt, emo in maps["utt2emo"].items():
            v = maps["utt2intensity"].get(utt)
            try:
                if emo == "neutral" and v is not None and float(v) != 0.0:
                    bad.append(f"{utt}={v}")
            except ValueError:
                pass  # already reported as non-numeric
        if bad:
            problems.append(f"utt2intensity: neutral utterances must have intensity 0: {_show(bad)}")
    return problems


def fix_data_dir(path: str | Path) -> list[str]:
    """Sort, de-duplicate and intersect the files of a data dir in place; returns what it dropped.

    Lines without a value, bad emotion labels and out-of-range intensities are dropped; only
    utterances present in every per-utterance file are kept; ``spk2utt`` is rebuilt from
    ``utt2spk``. The originals are copied to ``path/.backup/`` first.
    """
    path = Path(path)
    report: list[str] = []
    present = [n for n in PER_UTT if (path / n).exists()]
    if "wav.scp" not in present or "utt2spk" not in present:
        return [f"{path}: needs at least wav.scp and utt2spk to be fixed"]
    backup = path / ".backup"
    backup.mkdir(exist_ok=True)
    for name in present + (["spk2utt"] if (path / "spk2utt").exists() else []):
        shutil.copy2(path / name, backup / name)

    maps: dict[str, dict[str, str]] = {}
    for name in present:
        kept: dict[str, str] = {}
        dropped: list[str] = []
        for _, key, value in read_lines(path / name):
            if key in kept:
                dropped.append(f"{key} (duplicate)")
                continue
            if not value or (name == "utt2emo" and value not in EMOTIONS):
                dropped.append(f"{key} (bad value {value!r})")
                continue
            if name == "utt2intensity":
                try:
                    ok = 0.0 <= float(value) <= 1.0
                except ValueError:
                    ok = False
                if not ok:
                    dropped.append(f"{key} (bad value {value!r})")
                    continue
            kept[key] = value
        if dropped:
            report.append(f"{name}: dropped {len(dropped)} lines: {_show(dropped)}")
        maps[name] = kept

    common = set.intersection(*(set(m) for m in maps.values()))
    for name, m in maps.items():
        gone = set(m) - common
        if gone:
            others = ", ".join(n for n in present if n != name)
            report.append(f"{name}: dropped {len(gone)} utterances missing from {others}: {_show(gone)}")
        write_scp(path / name, {k: v for k, v in m.items() if k in common})
    write_scp(path / "spk2utt", spk2utt_from_utt2spk({k: v for k, v in maps["utt2spk"].items() if k in common}))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m promptevc.data.validate", description="Validate (or --fix) Kaldi-style data dirs."
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR")
    parser.add_argument("--fix", action="store_true", help="sort, de-duplicate and intersect in place first")
    parser.add_argument(
        "--check-files", action=argparse.BooleanOptionalAction, default=True, help="check that audio files exist"
    )
    args = parser.parse_args(argv)
    status = 0
    for d in args.dirs:
        if args.fix:
            for line in fix_data_dir(d):
                print(f"{d}: fixed: {line}")
        problems = validate_data_dir(d, check_files=args.check_files)
        if problems:
            status = 1
            for p in problems:
                print(f"{d}: {p}", file=sys.stderr)
        else:
            n = sum(1 for _ in open(Path(d) / "wav.scp", encoding="utf-8"))
            print(f"{d}: valid data dir ({n} utterances)")
    return status


if __name__ == "__main__":
    sys.exit(main())
