"""What to evaluate: (converted, source[, reference], emotion, intensity) pairs from three sources.

1. A CSV with a header: ``converted``, ``source`` (required), ``reference``, ``emotion``,
   ``intensity``, ``utt``, ``text`` (optional). Relative paths are relative to the CSV's folder.
   ``utt`` defaults to the converted file's name without extension.
2. A Kaldi-style folder: ``conv.scp`` and ``src.scp`` (utt -> path), optional ``ref.scp``,
   ``utt2emo``, ``utt2intensity`` and ``text``. ``utt`` is the scp key.
3. ``--conv-dir`` and ``--src-dir`` (and optional ``--ref-dir``): every audio file under the
   converted folder is paired with the source (reference) file at the same relative path, or
   failing that the only file with the same name without extension; emotion and intensity come
   from the command line.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from promptevc.errors import ConfigError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")
CSV_COLUMNS = ("converted", "source", "reference", "emotion", "intensity", "utt", "text")


@dataclass
class Pair:
    """One converted utterance and what it is compared with."""

    utt: str
    converted: Path
    source: Path
    reference: Path | None = None
    emotion: str = ""
    intensity: float = math.nan
    text: str = ""


def _parse_intensity(value: str, where: str) -> float:
    value = (value or "").strip()
    if not value:
        return math.nan
    try:
        x = float(value)
    except ValueError:
        raise ConfigError(f"{where}: intensity {value!r} is not a number; use a value in [0, 1]") from None
    if not math.isfinite(x):
        raise ConfigError(f"{where}: intensity {value!r} is not finite; use a value in [0, 1]")
    return x


def known_emotions() -> list[str]:
    """ESD's five emotions, then the further emotions of the prosody engine's profile table."""
    from promptevc.engines.profiles import PROFILES
    from promptevc.prompt.control import EMOTIONS

    return list(EMOTIONS) + [e for e in PROFILES if e not in EMOTIONS]


def check_emotion(emotion: str, where: str) -> str:
    emotion = (emotion or "").strip().lower()
    if emotion and emotion not in known_emotions():
        raise ConfigError(f"{where}: unknown emotion {emotion!r}; choose one of {', '.join(known_emotions())}")
    return emotion


def _check_unique(pairs: list[Pair], where: str) -> list[Pair]:
    seen: set[str] = set()
    for p in pairs:
        if p.utt in seen:
            raise ConfigError(f"{where}: utterance id {p.utt!r} appears twice; give a unique 'utt' per row")
        seen.add(p.utt)
    if not pairs:
        raise ConfigError(f"{where}: no pairs to evaluate")
    return pairs


def read_pairs_csv(path: str | Path) -> list[Pair]:
    """Pairs from a CSV file (see the module docstring)."""
    path = Path(path)
    base = path.parent
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("converted", "source") if c not in header]
        if missing:
            raise ConfigError(
                f"{path}: CSV header lacks {', '.join(missing)}; expected columns {', '.join(CSV_COLUMNS)}"
            )
        unknown = [h for h in header if h not in CSV_COLUMNS]
        if unknown:
            raise ConfigError(f"{path}: unknown CSV column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}")
        pairs = []
        for line_no, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            where = f"{path}:{line_no}"
            if not row.get("converted") or not row.get("source"):
                raise ConfigError(f"{where}: 'converted' and 'source' must both be given")
            conv = base / row["converted"]
            ref = base / row["reference"] if row.get("reference") else None
            pairs.append(Pair(
                utt=row.get("utt") or Path(row["converted"]).stem,
                converted=conv,
                source=base / row["source"],
                reference=ref,
                emotion=check_emotion(row.get("emotion", ""), where),
                intensity=_parse_intensity(row.get("intensity", ""), where),
                text=row.get("text", ""),
            ))
    return _check_unique(pairs, str(path))


def read_pairs_scp(folder: str | Path) -> list[Pair]:
    """Pairs from a Kaldi-style folder (conv.scp, src.scp, optional ref.scp, utt2emo, utt2intensity, text)."""
    from promptevc.data.kaldi import read_scp

    folder = Path(folder)
    for name in ("conv.scp", "src.scp"):
        if not (folder / name).is_file():
            raise ConfigError(f"{folder}: no {name}; a pairs folder needs conv.scp and src.scp (utt -> path)")
    conv = read_scp(folder / "conv.scp")
    src = read_scp(folder / "src.scp")
    opt = {n: read_scp(folder / n) if (folder / n).is_file() else {} for n in ("ref.scp", "utt2emo", "utt2intensity", "text")}
    missing = sorted(set(conv) - set(src))
    if missing:
        raise ConfigError(f"{folder}/src.scp: no source for {len(missing)} utterance(s), e.g. {missing[0]!r}")
    pairs = []
    for utt, path in conv.items():
        where = f"{folder}: {utt}"
        ref = opt["ref.scp"].get(utt)
        pairs.append(Pair(
            utt=utt,
            converted=Path(path),
            source=Path(src[utt]),
            reference=Path(ref) if ref else None,
            emotion=check_emotion(opt["utt2emo"].get(utt, ""), where),
            intensity=_parse_intensity(opt["utt2intensity"].get(utt, ""), where),
            text=opt["text"].get(utt, ""),
        ))
    return _check_unique(pairs, str(folder))


def _audio_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def _match(rel: Path, folder: Path, by_stem: dict[str, list[Path]]) -> Path | None:
    """Same relative path, else the single file with the same name without extension."""
    exact = folder / rel
    if exact.is_file():
        return exact
    found = by_stem.get(rel.stem, [])
    return found[0] if len(found) == 1 else None


def pairs_from_dirs(
    conv_dir: str | Path,
    src_dir: str | Path,
    ref_dir: str | Path | None = None,
    emotion: str = "",
    intensity: float = math.nan,
) -> list[Pair]:
    """Pair each audio file of ``conv_dir`` with the same-named file in ``src_dir`` (and ``ref_dir``)."""
    conv_dir, src_dir = Path(conv_dir), Path(src_dir)
    convs = _audio_files(conv_dir)
    if not convs:
        raise ConfigError(f"{conv_dir}: no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    stems = {}
    for folder in [src_dir] + ([Path(ref_dir)] if ref_dir else []):
        index: dict[str, list[Path]] = {}
        for p in _audio_files(folder):
            index.setdefault(p.stem, []).append(p)
        stems[folder] = index
    emotion = check_emotion(emotion, "--emotion")
    pairs, unmatched = [], []
    for conv in convs:
        rel = conv.relative_to(conv_dir)
        src = _match(rel, src_dir, stems[src_dir])
        if src is None:
            unmatched.append(str(rel))
            continue
        ref = _match(rel, Path(ref_dir), stems[Path(ref_dir)]) if ref_dir else None
        pairs.append(Pair(conv.stem, conv, src, ref, emotion, intensity))
    if unmatched:
        raise ConfigError(
            f"{src_dir}: no source file named like {len(unmatched)} converted file(s), e.g. {unmatched[0]!r}; "
            "name them the same or list the pairs in a CSV (--pairs)"
        )
    return _check_unique(pairs, str(conv_dir))


def read_pairs(path: str | Path) -> list[Pair]:
    """A CSV file or a Kaldi-style folder, by what ``path`` is."""
    path = Path(path)
    if path.is_dir():
        return read_pairs_scp(path)
    if path.is_file():
        return read_pairs_csv(path)
    raise ConfigError(f"{path}: no such pairs file or folder; give a CSV or a folder with conv.scp and src.scp")


def read_transcripts(path: str | Path) -> dict[str, str]:
    """Kaldi ``text``-style file: ``key transcript...`` per line (key = utt or source file stem)."""
    from promptevc.data.kaldi import read_scp

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such transcripts file; give lines 'UTT transcript words'")
    return read_scp(path)
