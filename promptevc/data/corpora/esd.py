"""ESD (Emotional Speech Dataset) data preparation -> Kaldi-style ``train``/``dev``/``test`` dirs.

Facts used here (``../shared/docs/papers.md`` §3):

* 20 speakers: ``0001``-``0010`` Mandarin, ``0011``-``0020`` English (the default).
* Files are ``<spk>_<6-digit global index>.wav``; the index encodes the emotion block:
  000001-000350 Neutral, 000351-000700 Angry, 000701-001050 Happy, 001051-001400 Sad,
  001401-001750 Surprise. Sentence ``k`` appears as ``k``, ``k+350``, ``k+700`` ...
* The official split is per speaker x emotion by the position ``k`` inside the block: the first
  20 are the evaluation set (our ``dev``), the next 30 the test set, the last 300 training.
  Released copies differ in folder layout (flat ``<spk>/<Emotion>/`` or with ``train``/
  ``evaluation``/``test`` subfolders), so files are found by a recursive glob and the split is
  taken from the index, never from folder names.
* One transcript per speaker, ``<spk>/<spk>.txt``: ``utt TAB text TAB Emotion`` but with mixed
  encodings (ASCII, Latin-1, UTF-16 LE with BOM; GB2312 for Mandarin) and some lines separated
  by spaces instead of tabs.

The emotion of an utterance is taken from its index block (what the split is defined by); a
folder name or transcript label that disagrees is reported as a warning.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from promptevc.data.kaldi import spk2utt_from_utt2spk, write_scp
from promptevc.errors import PromptEVCError
from promptevc.prompt.control import EMOTIONS

log = logging.getLogger(__name__)

BLOCK_SIZE = 350  # sentences per emotion per speaker
# Emotion of each index block, in ESD's file-numbering order (not the toolkit's EMOTIONS order).
BLOCK_EMOTIONS: tuple[str, ...] = ("neutral", "angry", "happy", "sad", "surprise")
DEV_SIZE = 20  # "evaluation set": positions 1-20
TEST_SIZE = 30  # positions 21-50; the rest (51-350) is training
SPLITS: tuple[str, ...] = ("train", "dev", "test")

ENGLISH_SPEAKERS: tuple[str, ...] = tuple(f"{i:04d}" for i in range(11, 21))
MANDARIN_SPEAKERS: tuple[str, ...] = tuple(f"{i:04d}" for i in range(1, 11))
LANGUAGES = {"english": ENGLISH_SPEAKERS, "mandarin": MANDARIN_SPEAKERS}

# Folder names and transcript labels -> EMOTIONS. The Mandarin transcripts' label column is
# undocumented; the common Chinese words are accepted so a label never fails the prep.
EMOTION_NAMES: dict[str, str] = {
    "neutral": "neutral",
    "angry": "angry",
    "anger": "angry",
    "happy": "happy",
    "happiness": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "中立": "neutral",
    "中性": "neutral",
    "平静": "neutral",
    "生气": "angry",
    "愤怒": "angry",
    "快乐": "happy",
    "开心": "happy",
    "高兴": "happy",
    "伤心": "sad",
    "难过": "sad",
    "悲伤": "sad",
    "惊喜": "surprise",
    "惊讶": "surprise",
}

_UTT_RE = re.compile(r"^(\d{4})_(\d{6})$")


def emotion_from_name(name: str) -> str | None:
    """Map a folder name or transcript label ("Surprise", "Angry", "惊喜") to an EMOTIONS label."""
    return EMOTION_NAMES.get(name.strip().lower())


@dataclass(frozen=True)
class UttIndex:
    """What an ESD utterance id says: speaker, emotion block, sentence position (1-350), split."""

    speaker: str
    index: int
    emotion: str
    position: int
    split: str


def parse_utt_id(utt: str) -> UttIndex:
    """Parse ``0011_000351`` -> speaker 0011, angry, sentence 1, dev.

    Raises :class:`ValueError` for names that are not ESD utterance ids.
    """
    m = _UTT_RE.match(utt)
    if not m:
        raise ValueError(f"{utt!r} is not an ESD utterance id (<spk>_<6-digit index>)")
    index = int(m.group(2))
    if not 1 <= index <= BLOCK_SIZE * len(BLOCK_EMOTIONS):
        raise ValueError(f"{utt!r}: index {index} outside 1-{BLOCK_SIZE * len(BLOCK_EMOTIONS)}")
    block, position = divmod(index - 1, BLOCK_SIZE)
    position += 1
    return UttIndex(m.group(1), index, BLOCK_EMOTIONS[block], position, split_for_position(position))


def split_for_position(position: int) -> str:
    """Official ESD split from the sentence position 1-350 inside an emotion block."""
    if position <= DEV_SIZE:
        return "dev"
    if position <= DEV_SIZE + TEST_SIZE:
        return "test"
    return "train"


def parallel_utt(utt: str, emotion: str) -> str:
    """The same sentence by the same speaker in another emotion: ``0011_000021`` + happy -> ``0011_000721``."""
    info = parse_utt_id(utt)
    if emotion not in BLOCK_EMOTIONS:
        raise ValueError(f"unknown emotion {emotion!r}; choose from {', '.join(EMOTIONS)}")
    return f"{info.speaker}_{BLOCK_EMOTIONS.index(emotion) * BLOCK_SIZE + info.position:06d}"


# --------------------------------------------------------------------------------------------
# transcripts


def decode_transcript(raw: bytes, prefer_gb: bool = False) -> tuple[str, str]:
    """Decode a transcript file of unknown encoding; returns (text, encoding used).

    Order: BOMs; BOM-less UTF-16 (many NUL bytes); strict UTF-8; GB18030 (a superset of GB2312)
    when ``prefer_gb`` (Mandarin speakers); Latin-1 as the fallback that never fails.
    """
    if raw.startswith(b"\xff\xfe"):
        return raw[2:].decode("utf-16-le", errors="replace"), "utf-16-le"
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", errors="replace"), "utf-16-be"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw and raw.count(b"\x00") > len(raw) // 4:
        # BOM-less UTF-16: ASCII text leaves every other byte NUL; the NULs' parity says the order.
        odd_nuls = raw[1::2].count(b"\x00")
        even_nuls = raw[0::2].count(b"\x00")
        enc = "utf-16-le" if odd_nuls >= even_nuls else "utf-16-be"
        return raw.decode(enc, errors="replace"), enc
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if prefer_gb:
        try:
            return raw.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1"), "latin-1"


def parse_transcript_line(line: str) -> tuple[str, str, str | None] | None:
    """``utt<TAB>text<TAB>Label`` (or the same with spaces) -> (utt, text, emotion or None).

    Returns None for blank lines or lines that do not start with an utterance id.
    """
    line = line.strip().lstrip("\ufeff")
    if not line:
        return None
    fields = [f.strip() for f in line.split("\t") if f.strip()]
    if len(fields) >= 3:
        utt, label = fields[0], fields[-1]
        text = " ".join(fields[1:-1])
        emotion = emotion_from_name(label)
        if emotion is None:  # no label column; the last field is part of the text
            text, emotion = " ".join(fields[1:]), None
    else:
        # Space-separated: first token is the id, last token the label if it is one.
        tokens = line.split()
        utt = tokens[0]
        emotion = emotion_from_name(tokens[-1]) if len(tokens) > 2 else None
        text = " ".join(tokens[1:-1] if emotion is not None else tokens[1:])
    if not _UTT_RE.match(utt):
        return None
    return utt, re.sub(r"\s+", " ", text).strip(), emotion


def read_transcript(path: Path, prefer_gb: bool = False) -> dict[str, tuple[str, str | None]]:
    """Read one speaker's transcript -> {utt: (text, label emotion or None)}."""
    text, enc = decode_transcript(path.read_bytes(), prefer_gb=prefer_gb)
    log.debug("%s: decoded as %s", path, enc)
    out: dict[str, tuple[str, str | None]] = {}
    for line in text.splitlines():
        parsed = parse_transcript_line(line)
        if parsed is not None:
            out[parsed[0]] = (parsed[1], parsed[2])
    return out


# --------------------------------------------------------------------------------------------
# discovery and preparation


@dataclass
class PrepReport:
    """What :func:`prepare_esd` wrote and what it had to skip or warn about."""

    counts: Counter = field(default_factory=Counter)  # (split, speaker, emotion) -> n
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0

    def count(self, split: str | None = None, speaker: str | None = None, emotion: str | None = None) -> int:
        return sum(
            n
            for (sp, spk, emo), n in self.counts.items()
            if (split is None or sp == split)
            and (speaker is None or spk == speaker)
            and (emotion is None or emo == emotion)
        )

    def table(self) -> str:
        """Counts per split and emotion, one line per split, as printed by ``prepare-data``."""
        lines = [f"{'split':<6}" + "".join(f"{e:>10}" for e in EMOTIONS) + f"{'total':>10}{'speakers':>10}"]
        for split in SPLITS:
            spks = {spk for (sp, spk, _), n in self.counts.items() if sp == split and n}
            lines.append(
                f"{split:<6}"
                + "".join(f"{self.count(split, emotion=e):>10}" for e in EMOTIONS)
                + f"{self.count(split):>10}{len(spks):>10}"
            )
        return "\n".join(lines)


def find_speaker_dirs(root: Path) -> dict[str, Path]:
    """Find ``<spk>`` folders (4 digits) anywhere under ``root`` (e.g. ``Emotion Speech Dataset/0011``)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() and re.fullmatch(r"\d{4}", path.name) and path.name not in found:
            # A real speaker folder holds wavs of that speaker somewhere below it.
            if next(path.rglob(f"{path.name}_*.wav"), None) is not None:
                found[path.name] = path
    return found


def select_speakers(language: str = "english", speakers: list[str] | None = None) -> tuple[str, ...]:
    """Speakers to prepare: an explicit list, else all speakers of ``language``."""
    if speakers:
        return tuple(sorted(s.zfill(4) for s in speakers))
    if language not in LANGUAGES:
        raise PromptEVCError(f"--language {language!r}: choose english (0011-0020) or mandarin (0001-0010)")
    return LANGUAGES[language]


def prepare_esd(
    root: str | Path,
    out_dir: str | Path,
    language: str = "english",
    speakers: list[str] | None = None,
) -> PrepReport:
    """Scan an ESD copy under ``root`` and write ``out_dir/{train,dev,test}`` Kaldi data dirs.

    Each dir gets sorted ``wav.scp`` (absolute paths), ``utt2spk``, ``spk2utt``, ``text`` and
    ``utt2emo``. Missing speakers, unparseable file names, duplicate copies and utterances
    without a transcript line are reported in :attr:`PrepReport.warnings` and skipped.
    """
    root = Path(root).expanduser()
    out_dir = Path(out_dir)
    if not root.is_dir():
        # A mistyped path is the usual cause: name the path as resolved, not the licence.
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise PromptEVCError(
            f"ESD root {root.absolute()} {what}; pass the extracted ESD folder (the one holding 0001 ... 0020, "
            "usually 'Emotion Speech Dataset'); relative paths are taken from the current directory"
        )
    wanted = select_speakers(language, speakers)
    spk_dirs = find_speaker_dirs(root)
    report = PrepReport()
    missing = [s for s in wanted if s not in spk_dirs]
    present = [s for s in wanted if s in spk_dirs]
    if not present:
        raise PromptEVCError(
            f"{root}: none of the speakers {wanted[0]}-{wanted[-1]} found (looked for folders named "
            f"like 0011 holding 0011_*.wav); found {sorted(spk_dirs) or 'none'}. Is it the extracted ESD? "
            "(ESD is licence-gated: https://github.com/HLTSingapore/Emotional-Speech-Data)"
        )
    if missing:
        report.warnings.append(f"speakers not found under {root}: {' '.join(missing)}")

    entries: dict[str, dict[str, dict[str, str]]] = {s: {} for s in SPLITS}
    for spk in present:
        spk_dir = spk_dirs[spk]
        prefer_gb = spk in MANDARIN_SPEAKERS
        transcripts: dict[str, tuple[str, str | None]] = {}
        txt_files = sorted(spk_dir.rglob(f"{spk}*.txt"))
        if not txt_files:
            report.warnings.append(f"{spk_dir}: no transcript {spk}.txt; its utterances are skipped")
        for txt in txt_files:
            transcripts.update(read_transcript(txt, prefer_gb=prefer_gb))
        seen: dict[str, Path] = {}
        for wav in sorted(spk_dir.rglob("*.wav")):
            utt = wav.stem
            try:
                info = parse_utt_id(utt)
            except ValueError as err:
                report.warnings.append(f"{wav}: skipped ({err})")
                report.skipped += 1
                continue
            if info.speaker != spk:
                report.warnings.append(f"{wav}: skipped (speaker {info.speaker} inside folder {spk})")
                report.skipped += 1
                continue
            if utt in seen:
                report.warnings.append(f"{wav}: skipped (duplicate of {seen[utt]})")
                report.skipped += 1
                continue
            seen[utt] = wav
            folder_emotions = {emotion_from_name(p) for p in wav.relative_to(spk_dir).parts[:-1]} - {None}
            if folder_emotions and info.emotion not in folder_emotions:
                report.warnings.append(
                    f"{wav}: folder says {'/'.join(sorted(folder_emotions))}, index says {info.emotion}; "
                    "using the index"
                )
            text, label = transcripts.get(utt, ("", None))
            if not text:
                report.warnings.append(f"{wav}: no transcript line for {utt}; skipped")
                report.skipped += 1
                continue
            if label is not None and label != info.emotion:
                report.warnings.append(f"{utt}: transcript label {label} but index says {info.emotion}")
            d = entries[info.split]
            d.setdefault("wav.scp", {})[utt] = str(wav.resolve())
            d.setdefault("utt2spk", {})[utt] = spk
            d.setdefault("text", {})[utt] = text
            d.setdefault("utt2emo", {})[utt] = info.emotion
            report.counts[(info.split, spk, info.emotion)] += 1

    for split in SPLITS:
        d = entries[split]
        if not d:
            report.warnings.append(f"split {split}: no utterances")
            continue
        split_dir = out_dir / split
        split_dir.mkdir(parents=True, exist_ok=True)
        for name in ("wav.scp", "utt2spk", "text", "utt2emo"):
            write_scp(split_dir / name, d[name])
        write_scp(split_dir / "spk2utt", spk2utt_from_utt2spk(d["utt2spk"]))
    for w in report.warnings[:20]:
        log.warning("%s", w)
    if len(report.warnings) > 20:
        log.warning("... and %d more warnings", len(report.warnings) - 20)
    return report
