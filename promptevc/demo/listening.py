"""Listening tests: design from a manifest, blind per-participant order, answers in SQLite.

A test is a folder holding its stimuli and a manifest, ``manifest.yaml`` (the full format, see
``demo/README.md``) or the older ``manifest.csv`` (one row per file; MOS, emotion identification
and intensity ranking only). Test types:

- ``mos``: naturalness on the 5-point absolute category rating scale (ITU-T P.800 / P.808);
- ``emotion``: which of the five emotions the speaker expresses;
- ``ranking``: 2-5 versions of one sentence ranked by how strongly they express the emotion;
- ``mushra``: ITU-R BS.1534-3: an open reference, then the conditions, a hidden copy of the
  reference and low-pass anchors (3.5 kHz by default; 7 kHz on request) in random order, each
  rated 0-100; at most :data:`MAX_SLOTS` versions on one screen;
- ``ab``: which of two versions is preferred (A, B or no preference);
- ``abx``: which of A and B is closer to the reference X (or no preference);
- ``smos``: speaker similarity 1-5 of a conversion against its source;
- ``esmos``: emotion similarity 1-5 against a natural emotional reference.

Session flow: instructions, then (when the manifest has one) a consent page that must be
accepted, then per block its training trials (shown first, answers stored but never scored)
and its scored trials (shuffled, with the attention trials of that block mixed in), then the
end page with the completion code. A per-participant time budget ends the session when used
up. Attention trials carry a known answer (``gold``); a participant who fails more of them
than the manifest allows, or who (MUSHRA post-screening, BS.1534-3) rates the hidden reference
below 90 in more than 15 % of the MUSHRA trials, is excluded from the statistics
(:mod:`promptevc.demo.stats`); both thresholds are manifest fields.

Randomisation: a seed derived from the test name and the participant id orders each block's
trials and each trial's versions, so the same id always gets the same order and two ids get
different ones. The plan is stored in SQLite on first start, so resuming never depends on the
manifest staying the same. Every answer is its own transaction in a WAL-mode database with
``synchronous=FULL``: a crash loses at most the answer being written.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import json
import logging
import math
import random
import re
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

from promptevc.errors import PromptEVCError
from promptevc.prompt.control import EMOTIONS

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
MANIFEST_YAML_NAMES = ("manifest.yaml", "manifest.yml")
RESULTS_NAME = "results.sqlite"
REQUIRED_COLUMNS = ("file", "system", "condition", "utt", "emotion", "intensity")
LEGACY_TYPES = ("mos", "emotion", "ranking")
TRIAL_TYPES = ("mos", "emotion", "ranking", "mushra", "ab", "abx", "smos", "esmos")
RATING_TYPES = ("mos", "smos", "esmos")  # 1-5 category scales
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MAX_MANIFEST_BYTES = 2_000_000
MOS_SCALE = {1: "1 - Bad", 2: "2 - Poor", 3: "3 - Fair", 4: "4 - Good", 5: "5 - Excellent"}
SCALES: dict[str, dict[int, str]] = {
    "mos": MOS_SCALE,
    "smos": {1: "1 - Definitely different speakers", 2: "2 - Probably different", 3: "3 - Not sure",
             4: "4 - Probably the same speaker", 5: "5 - Definitely the same speaker"},
    "esmos": {1: "1 - Very different emotion", 2: "2 - Rather different", 3: "3 - Somewhat similar",
              4: "4 - Very similar", 5: "5 - The same emotion and strength"},
}
QUESTIONS = {
    "mos": "How natural does this speech sound? (1 = bad, 5 = excellent)",
    "emotion": "Which emotion does the speaker express?",
    "ranking": "Rank the versions by how strongly they sound {emotion}: 1 = weakest, {n} = strongest; each rank once.",
    "mushra": ("Listen to the reference, then rate every version against it: 100 = sounds the same as the "
               "reference; 80-100 excellent, 60-80 good, 40-60 fair, 20-40 poor, 0-20 bad. One of the versions "
               "is the reference itself."),
    "ab": "Which version sounds more natural?",
    "abx": "Which version, A or B, is closer to the reference X?",
    "smos": ("Could both recordings come from the same speaker? Ignore what is said, the emotion and the "
             "recording quality."),
    "esmos": ("How similar is the emotion of the recording to the emotion of the reference (its kind and its "
              "strength)? Ignore the speaker and what is said."),
}
NO_PREFERENCE = "none"
# Versions on one screen: BS.1534-3 advises at most 12 conditions (hidden reference and anchors
# included) per trial; ranking trials use the first five.
MAX_SLOTS = 12
MAX_RANK_VERSIONS = 5
ANCHOR_RE = re.compile(r"^lowpass-(\d+(?:\.\d+)?)(k?)$")
DEFAULT_ANCHORS = ("lowpass-3.5k",)
_PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class ListeningTestError(PromptEVCError):
    """A listening-test folder, manifest, participant id or answer is invalid."""


# ----------------------------------------------------------------------------- design


@dataclasses.dataclass(frozen=True)
class Stimulus:
    """A playable audio: a file of the test (``key`` = its path in the folder) or one made from a
    file (``generator`` e.g. ``lowpass:3500`` applied to ``source``). Keys never reach the page."""

    key: str
    path: Path
    generator: str | None = None
    source: str | None = None


@dataclasses.dataclass(frozen=True)
class Item:
    """One rated or compared version in a trial, with what it stands for."""

    key: str
    system: str
    condition: str = ""
    utt: str = ""
    emotion: str | None = None
    intensity: float | None = None


@dataclasses.dataclass(frozen=True)
class Trial:
    """One question of the design.

    ``items``: what is rated, in intended order (ranking: weakest first; mushra: hidden reference,
    anchors, then the conditions); ``reference``: the stimulus key played as reference (mushra,
    abx, smos, esmos); ``gold``: accepted answers of an attention trial.
    """

    type: str
    key: str
    items: tuple[Item, ...]
    block: int = 0
    block_name: str = ""
    reference: str | None = None
    training: bool = False
    gold: tuple | None = None
    question: str = ""

    @property
    def stimuli(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.items)

    def item(self, key: str) -> Item:
        for i in self.items:
            if i.key == key:
                return i
        raise ListeningTestError(f"trial {self.key}: no version {key!r}")


@dataclasses.dataclass(frozen=True)
class PlannedTrial:
    """A trial as one participant sees it: ``stimuli`` in that participant's display order."""

    index: int
    type: str
    key: str
    stimuli: tuple[str, ...]
    block: int = 0
    training: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "type": self.type, "key": self.key, "stimuli": list(self.stimuli),
                "block": self.block, "training": self.training}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedTrial:
        return cls(index=int(d["index"]), type=str(d["type"]), key=str(d["key"]), stimuli=tuple(d["stimuli"]),
                   block=int(d.get("block", LEGACY_TYPES.index(d["type"]) if d["type"] in LEGACY_TYPES else 0)),
                   training=bool(d.get("training", False)))


@dataclasses.dataclass(frozen=True)
class Block:
    """One test type with its question, its trials and whether their order is shuffled."""

    index: int
    type: str
    name: str
    question: str
    shuffle: bool = True


@dataclasses.dataclass(frozen=True)
class TestSettings:
    """Session and screening settings of a test (manifest top level)."""

    title: str = ""
    instructions: str = ""
    consent: str = ""
    completion_code: str = ""  # "" none, "auto" one random code per participant, else shown as is
    time_budget_s: float | None = None
    attention_max_failures: int = 0
    mushra_reference_min: float = 90.0
    mushra_max_fraction: float = 0.15


def resolve_inside(root: Path, relative: str, what: str = "file") -> Path:
    """Resolve ``relative`` under ``root`` (symlinks followed) and refuse anything outside it."""
    root = Path(root).resolve()
    if not relative or "\x00" in relative:
        raise ListeningTestError(f"{root}: empty or invalid {what} name {relative!r}")
    candidate = (root / relative).resolve()
    if candidate == root or not candidate.is_relative_to(root):
        raise ListeningTestError(f"{relative!r}: {what} is outside the test folder {root}; use a path inside it")
    return candidate


def _parse_intensity(value: Any, where: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        x = float(str(value).strip())
    except ValueError:
        raise ListeningTestError(f"{where}: intensity {value!r} is not a number; use a value in [0, 1]") from None
    if not np.isfinite(x) or not 0.0 <= x <= 1.0:
        raise ListeningTestError(f"{where}: intensity {value} is outside [0, 1]")
    return x


def _parse_emotion(value: Any, where: str) -> str | None:
    value = str(value or "").strip().lower()
    if not value:
        return None
    if value not in EMOTIONS:
        raise ListeningTestError(f"{where}: unknown emotion {value!r}; use one of {', '.join(EMOTIONS)}")
    return value


def _anchor_cutoff(name: str, where: str) -> float:
    m = ANCHOR_RE.match(str(name).strip().lower())
    if not m:
        raise ListeningTestError(f"{where}: unknown anchor {name!r}; use lowpass-3.5k, lowpass-7k or lowpass-<Hz>")
    return float(m.group(1)) * (1000.0 if m.group(2) else 1.0)


def lowpass(wav: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 8th-order Butterworth low-pass (run forwards and backwards): the MUSHRA anchor."""
    from scipy.signal import butter, sosfiltfilt

    if cutoff_hz >= sample_rate / 2:
        return np.asarray(wav, dtype=np.float32).copy()
    sos = butter(8, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, np.asarray(wav, dtype=np.float64), axis=0).astype(np.float32)


class _Fields:
    """Strict access to one mapping of the manifest; every error names its field path."""

    def __init__(self, data: Any, where: str, allowed: tuple[str, ...]):
        if not isinstance(data, dict):
            raise ListeningTestError(f"{where}: expected a mapping of fields, got {type(data).__name__}")
        self.data, self.where = data, where
        unknown = [k for k in data if k not in allowed]
        if unknown:
            raise ListeningTestError(f"{self.path(str(unknown[0]))}: unknown field; known fields: {', '.join(allowed)}")

    def path(self, key: str) -> str:
        return f"{self.where} {key}" if self.where.endswith(":") else f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def text(self, key: str, default: str | None = None, required: bool = False) -> str:
        if not self.has(key):
            if required:
                raise ListeningTestError(f"{self.path(key)}: missing; it is required here")
            return default if default is not None else ""
        value = self.data[key]
        if isinstance(value, (dict, list)):
            raise ListeningTestError(f"{self.path(key)}: expected text, got a {type(value).__name__}")
        return str(value).strip()

    def number(self, key: str, default: float | None, low: float, high: float) -> float | None:
        if not self.has(key):
            return default
        value = self.data[key]
        try:
            x = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x) or not low <= x <= high:
            raise ListeningTestError(f"{self.path(key)}: {value!r} is not a number in [{low:g}, {high:g}]")
        return x

    def boolean(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            raise ListeningTestError(f"{self.path(key)}: {value!r} is not true or false")
        return value

    def items(self, key: str, required: bool = True) -> list:
        if not self.has(key):
            if required:
                raise ListeningTestError(f"{self.path(key)}: missing; give a list")
            return []
        value = self.data[key]
        if not isinstance(value, list):
            raise ListeningTestError(f"{self.path(key)}: expected a list, got a {type(value).__name__}")
        return value


_TOP_FIELDS = ("title", "instructions", "consent", "completion_code", "time_budget_minutes", "attention",
               "screening", "blocks")
_BLOCK_FIELDS = ("type", "name", "question", "shuffle", "training", "trials")
_TRIAL_FIELDS = {
    "mos": ("file", "system", "condition", "utt", "emotion", "intensity", "gold"),
    "emotion": ("file", "system", "condition", "utt", "emotion", "intensity", "gold"),
    "ranking": ("system", "utt", "emotion", "versions", "gold"),
    "mushra": ("utt", "reference", "conditions", "anchors", "id"),
    "ab": ("utt", "stimuli", "gold", "id"),
    "abx": ("utt", "reference", "stimuli", "gold", "id"),
    "smos": ("file", "system", "condition", "utt", "reference", "gold"),
    "esmos": ("file", "system", "condition", "utt", "emotion", "intensity", "reference", "gold"),
}


class ListeningTest:
    """A validated test folder: its settings, blocks, stimuli and the trials built from them."""

    def __init__(self, root: Path, settings: TestSettings, blocks: list[Block], trials: list[Trial],
                 stimuli: dict[str, Stimulus], manifest: Path):
        self.root = Path(root).resolve()
        self.name = self.root.name
        self.settings = settings
        self.blocks = blocks
        self.trials = trials
        self.stimuli = stimuli
        self.manifest = manifest
        self._by_key = {t.key: t for t in trials}
        self._audio_cache: dict[str, tuple[int, np.ndarray]] = {}
        if not any(not t.training for t in trials):
            raise ListeningTestError(f"{manifest}: the manifest yields no scored trials")

    # -- reading --------------------------------------------------------------------------

    @classmethod
    def from_folder(cls, root: str | Path) -> ListeningTest:
        """Read and validate the folder's manifest; every file must exist inside ``root``."""
        root = Path(root)
        for name in MANIFEST_YAML_NAMES:
            if (root / name).is_file():
                return _Builder(root, root / name).from_yaml()
        if (root / MANIFEST_NAME).is_file():
            return _Builder(root, root / MANIFEST_NAME).from_csv()
        raise ListeningTestError(
            f"{root}: no manifest.yaml or {MANIFEST_NAME}; write one (see demo/README.md, 'Manifest format')"
        )

    # -- design queries -------------------------------------------------------------------

    def trial(self, key: str) -> Trial:
        try:
            return self._by_key[key]
        except KeyError:
            raise ListeningTestError(f"test {self.name}: no trial {key!r}") from None

    def seed_for(self, participant: str) -> int:
        """Deterministic 64-bit seed from the test name and participant id."""
        digest = hashlib.sha256(f"{self.name}\x00{participant}".encode()).hexdigest()
        return int(digest[:16], 16)

    def plan_for(self, participant: str) -> list[PlannedTrial]:
        """The participant's blind order: blocks in manifest order; in each, its training trials
        (manifest order) then its scored and attention trials (shuffled unless the block says not);
        the versions inside every multi-version trial shuffled."""
        participant = check_participant(participant)
        rng = random.Random(self.seed_for(participant))
        plan: list[PlannedTrial] = []
        for block in self.blocks:
            training = [t for t in self.trials if t.block == block.index and t.training]
            scored = [t for t in self.trials if t.block == block.index and not t.training]
            if block.shuffle:
                rng.shuffle(scored)
            for t in training + scored:
                shown = list(t.stimuli)
                if len(shown) > 1:
                    rng.shuffle(shown)
                plan.append(PlannedTrial(len(plan), t.type, t.key, tuple(shown), t.block, t.training))
        return plan

    def question(self, trial: Trial) -> str:
        block = self.blocks[trial.block]
        text = trial.question or block.question
        if trial.type == "ranking":
            emotion = trial.items[0].emotion or "emotional"
            return text.replace("{emotion}", f"**{emotion}**").replace("{n}", str(len(trial.items)))
        return text

    # -- audio ----------------------------------------------------------------------------

    def audio_path(self, key: str) -> Path:
        """Path of file stimulus ``key``, re-checked to be inside the test folder at serving time."""
        stim = self.stimuli.get(key)
        if stim is None:
            raise ListeningTestError(f"test {self.name}: unknown stimulus")
        return resolve_inside(self.root, stim.source if stim.generator else key)

    def _read(self, path: Path) -> tuple[int, np.ndarray]:
        import soundfile as sf

        try:
            data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise ListeningTestError(f"test {self.name}: cannot read a stimulus ({str(err).splitlines()[0]})") from None
        return int(sr), data.mean(axis=1)

    def load_audio(self, key: str) -> tuple[int, np.ndarray]:
        """``(sample_rate, int16 samples (T,))`` for the page: the file name never leaves the server."""
        if key in self._audio_cache:
            return self._audio_cache[key]
        stim = self.stimuli.get(key)
        if stim is None:
            raise ListeningTestError(f"test {self.name}: unknown stimulus")
        sr, wav = self._read(self.audio_path(key))
        if stim.generator:
            wav = lowpass(wav, sr, float(stim.generator.split(":", 1)[1]))
            peak = float(np.max(np.abs(wav))) if wav.size else 0.0
            wav = wav / peak * 0.99 if peak > 0.99 else wav
        out = int(sr), (np.clip(wav, -1.0, 1.0) * 32767).astype(np.int16)
        if stim.generator:  # generated anchors are cached; files are read each time (they are small)
            self._audio_cache[key] = out
        return out


class _Builder:
    """Turns a manifest (YAML or the older CSV) into a :class:`ListeningTest`."""

    def __init__(self, root: Path, manifest: Path):
        self.root = Path(root)
        self.manifest = manifest
        self.stimuli: dict[str, Stimulus] = {}
        self.trials: list[Trial] = []
        self.keys: set[str] = set()

    # -- files ----------------------------------------------------------------------------

    def file(self, rel: Any, where: str) -> str:
        """Stimulus key of a manifest file reference (checked: inside the folder, audio, exists)."""
        if not isinstance(rel, str) or not rel.strip():
            raise ListeningTestError(f"{where}: give a file path inside the test folder")
        rel = rel.strip()
        try:
            path = resolve_inside(self.root, rel)
        except ListeningTestError as exc:
            raise ListeningTestError(f"{where}: {exc}") from None
        key = path.relative_to(self.root.resolve()).as_posix()
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            raise ListeningTestError(f"{where}: {rel!r} is not an audio file ({', '.join(AUDIO_SUFFIXES)})")
        if not path.is_file():
            raise ListeningTestError(f"{where}: {rel!r} does not exist in {self.root}")
        self.stimuli.setdefault(key, Stimulus(key, path))
        return key

    def anchor(self, name: Any, reference: str, where: str) -> str:
        cutoff = _anchor_cutoff(name, where)
        key = f"anchor:lowpass{cutoff:g}:{reference}"
        self.stimuli.setdefault(key, Stimulus(key, self.stimuli[reference].path, f"lowpass:{cutoff:g}", reference))
        return key

    def add(self, trial: Trial, where: str) -> None:
        if trial.key in self.keys:
            raise ListeningTestError(f"{where}: trial {trial.key!r} appears twice; give it a distinct 'id' or utt")
        self.keys.add(trial.key)
        self.trials.append(trial)

    # -- YAML -----------------------------------------------------------------------------

    def from_yaml(self) -> ListeningTest:
        import yaml

        where = f"{self.manifest}:"
        if self.manifest.stat().st_size > MAX_MANIFEST_BYTES:
            raise ListeningTestError(f"{self.manifest}: larger than {MAX_MANIFEST_BYTES // 1_000_000} MB")
        try:
            data = yaml.safe_load(self.manifest.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            at = f" (line {line + 1})" if line is not None else ""
            raise ListeningTestError(f"{self.manifest}: not valid YAML{at}: {str(exc).splitlines()[0][:160]}") from None
        top = _Fields(data, where, _TOP_FIELDS)
        budget = top.number("time_budget_minutes", None, 0.5, 24 * 60)
        attention = _Fields(top.data.get("attention") or {}, top.path("attention"), ("max_failures",))
        screening = _Fields(top.data.get("screening") or {}, top.path("screening"), ("mushra",))
        mushra = _Fields(screening.data.get("mushra") or {}, screening.path("mushra"),
                         ("reference_min", "max_fraction"))
        code = top.text("completion_code")
        if code and not re.match(r"^[A-Za-z0-9_-]{1,64}$", code):
            raise ListeningTestError(f"{top.path('completion_code')}: use 1-64 letters, digits, '_' or '-' (or auto)")
        settings = TestSettings(
            title=top.text("title", self.root.name),
            instructions=top.text("instructions", required=True),
            consent=top.text("consent"),
            completion_code=code,
            time_budget_s=None if budget is None else budget * 60.0,
            attention_max_failures=int(attention.number("max_failures", 0, 0, 10_000)),
            mushra_reference_min=mushra.number("reference_min", 90.0, 0, 100),
            mushra_max_fraction=mushra.number("max_fraction", 0.15, 0, 1),
        )
        blocks = []
        raw_blocks = top.items("blocks")
        if not raw_blocks:
            raise ListeningTestError(f"{top.path('blocks')}: empty; give at least one block of trials")
        for b, raw in enumerate(raw_blocks):
            bw = f"{where} blocks[{b}]"
            f = _Fields(raw, bw, _BLOCK_FIELDS)
            kind = f.text("type", required=True).lower()
            if kind not in TRIAL_TYPES:
                raise ListeningTestError(f"{f.path('type')}: unknown test type {kind!r}; use {', '.join(TRIAL_TYPES)}")
            block = Block(b, kind, f.text("name", kind), f.text("question", QUESTIONS[kind]), f.boolean("shuffle", True))
            blocks.append(block)
            for section, training in (("training", True), ("trials", False)):
                for t, raw_trial in enumerate(f.items(section, required=not training)):
                    self.trial(block, raw_trial, f"{bw}.{section}[{t}]", training)
            if not any(t.block == b and not t.training for t in self.trials):
                raise ListeningTestError(f"{bw}.trials: empty; give at least one trial")
        return ListeningTest(self.root, settings, blocks, self.trials, self.stimuli, self.manifest)

    def _gold(self, kind: str, value: Any, where: str, items: tuple[Item, ...]) -> tuple | None:
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ListeningTestError(f"{where}: empty; give the accepted answer(s)")
        if kind in RATING_TYPES:
            out = []
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int) or v not in SCALES[kind]:
                    raise ListeningTestError(f"{where}: {v!r} is not a score from 1 to 5")
                out.append(v)
            return tuple(out)
        if kind == "emotion":
            if value is True:
                return (items[0].emotion,)
            return tuple(_parse_emotion(v, where) or "" for v in values)
        if kind in ("ab", "abx"):
            systems = [i.system for i in items] + [NO_PREFERENCE]
            for v in values:
                if v not in systems:
                    raise ListeningTestError(f"{where}: {v!r} is not one of this trial's systems ({', '.join(systems)})")
            return tuple(values)
        if kind == "ranking":
            if value is not True:
                raise ListeningTestError(f"{where}: for ranking, gold: true (the intended order must be given)")
            return ("intended",)
        raise ListeningTestError(f"{where}: {kind} trials take no gold answer (MUSHRA is screened by its hidden reference)")

    def trial(self, block: Block, raw: Any, where: str, training: bool) -> None:
        kind = block.type
        f = _Fields(raw, where, _TRIAL_FIELDS[kind])
        utt = f.text("utt")
        prefix = f"{block.index}:{kind}"
        if kind in ("mos", "emotion", "smos", "esmos"):
            key = self.file(f.data.get("file"), f.path("file"))
            emotion = _parse_emotion(f.data.get("emotion"), f.path("emotion")) if f.has("emotion") else None
            if kind == "emotion" and emotion is None:
                raise ListeningTestError(f"{f.path('emotion')}: missing; an emotion trial needs the intended emotion")
            item = Item(key, f.text("system", required=True), f.text("condition"), utt, emotion,
                        _parse_intensity(f.data.get("intensity"), f.path("intensity")) if f.has("intensity") else None)
            reference = None
            if kind in ("smos", "esmos"):
                reference = self.file(f.data.get("reference"), f.path("reference"))
            trial_key = f"{prefix}:{key}" + (f"|{reference}" if reference else "")
            items = (item,)
        elif kind == "ranking":
            emotion = _parse_emotion(f.data.get("emotion"), f.path("emotion"))
            system = f.text("system", required=True)
            versions = f.items("versions")
            if not 2 <= len(versions) <= MAX_RANK_VERSIONS:
                raise ListeningTestError(f"{f.path('versions')}: {len(versions)} versions; give 2 to {MAX_RANK_VERSIONS}")
            members = []
            for v, raw_v in enumerate(versions):
                vf = _Fields(raw_v, f"{f.path('versions')}[{v}]", ("file", "intensity", "condition"))
                k = self.file(vf.data.get("file"), vf.path("file"))
                x = _parse_intensity(vf.data.get("intensity"), vf.path("intensity"))
                if x is None:
                    raise ListeningTestError(f"{vf.path('intensity')}: missing; each version needs its intensity")
                members.append(Item(k, system, vf.text("condition"), utt, emotion, x))
            if len({m.intensity for m in members}) < len(members):
                raise ListeningTestError(f"{f.path('versions')}: two versions share an intensity; a ranking needs "
                                         "distinct intensities")
            items = tuple(sorted(members, key=lambda m: m.intensity))
            reference = None
            trial_key = f"{prefix}:{system}|{utt}|{emotion or ''}"
        elif kind == "mushra":
            reference = self.file(f.data.get("reference"), f.path("reference"))
            conditions = f.data.get("conditions")
            if not isinstance(conditions, dict) or not conditions:
                raise ListeningTestError(f"{f.path('conditions')}: give a mapping system: file (at least one)")
            anchors = f.data.get("anchors", list(DEFAULT_ANCHORS))
            anchors = [] if anchors is None else anchors if isinstance(anchors, list) else [anchors]
            members = [Item(reference, "reference", "hidden reference", utt)]
            for a, name in enumerate(anchors):
                members.append(Item(self.anchor(name, reference, f"{f.path('anchors')}[{a}]"),
                                    f"anchor-{_anchor_cutoff(name, where) / 1000:g}k", "anchor", utt))
            for system, file in conditions.items():
                system = str(system).strip()
                if not system or system == "reference" or system.startswith("anchor-"):
                    raise ListeningTestError(f"{f.path('conditions')}.{system or '?'}: give a system name other "
                                             "than 'reference' and 'anchor-*' (those are added for you)")
                members.append(Item(self.file(file, f"{f.path('conditions')}.{system}"), system, system, utt))
            if len(members) > MAX_SLOTS:
                raise ListeningTestError(f"{f.path('conditions')}: {len(members)} versions with the hidden reference "
                                         f"and anchors; at most {MAX_SLOTS} fit on one screen (ITU-R BS.1534)")
            if len({m.key for m in members}) < len(members):
                raise ListeningTestError(f"{f.path('conditions')}: a file appears twice in this trial")
            items = tuple(members)
            trial_key = f"{prefix}:{f.text('id') or utt or reference}"
        else:  # ab, abx
            pair = f.data.get("stimuli")
            if not isinstance(pair, dict) or len(pair) != 2:
                raise ListeningTestError(f"{f.path('stimuli')}: give exactly two entries, system: file")
            items = tuple(Item(self.file(file, f"{f.path('stimuli')}.{system}"), str(system).strip(), str(system).strip(),
                               utt) for system, file in pair.items())
            if items[0].key == items[1].key:
                raise ListeningTestError(f"{f.path('stimuli')}: the two versions are the same file")
            reference = self.file(f.data.get("reference"), f.path("reference")) if kind == "abx" else None
            if kind == "ab" and f.has("reference"):
                raise ListeningTestError(f"{f.path('reference')}: an ab trial has no reference (use type abx)")
            trial_key = f"{prefix}:{f.text('id') or '|'.join([utt, *sorted(i.key for i in items)])}"
        gold = self._gold(kind, f.data.get("gold"), f.path("gold"), items) if f.has("gold") else None
        if training:
            trial_key = f"train:{trial_key}"
        self.add(Trial(kind, trial_key, items, block.index, block.name, reference, training, gold), where)

    # -- CSV (older format) ---------------------------------------------------------------

    def from_csv(self) -> ListeningTest:
        manifest = self.manifest
        with open(manifest, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise ListeningTestError(f"{manifest}: missing column(s) {', '.join(missing)}")
            rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
        items: list[tuple[Item, frozenset[str]]] = []
        seen: set[str] = set()
        for line_no, row in enumerate(rows, start=2):
            where = f"{manifest}:{line_no}"
            key = self.file(row["file"], where)
            if key in seen:
                raise ListeningTestError(f"{where}: {row['file'].strip()!r} is listed twice")
            seen.add(key)
            emotion = _parse_emotion(row["emotion"], where)
            intensity = _parse_intensity(row["intensity"], where)
            for col in ("system", "utt"):
                if not row[col].strip():
                    raise ListeningTestError(f"{where}: empty {col!r}; every file needs a system and an utt id")
            item = Item(key, row["system"].strip(), row["condition"].strip(), row["utt"].strip(), emotion, intensity)
            items.append((item, _parse_tasks(row.get("tasks"), emotion, intensity, where)))
        if not items:
            raise ListeningTestError(f"{manifest}: no rows")
        blocks = [Block(i, kind, kind, QUESTIONS[kind]) for i, kind in enumerate(LEGACY_TYPES)]
        for item, tasks in items:
            if "mos" in tasks:
                self.add(Trial("mos", f"mos:{item.key}", (item,), 0, "mos"), str(manifest))
        for item, tasks in items:
            if "emotion" in tasks:
                self.add(Trial("emotion", f"emotion:{item.key}", (item,), 1, "emotion"), str(manifest))
        groups: dict[tuple[str, str, str], list[Item]] = {}
        for item, tasks in items:
            if "ranking" in tasks:
                groups.setdefault((item.system, item.utt, item.emotion or ""), []).append(item)
        for (system, utt, emotion), members in sorted(groups.items()):
            if len({m.intensity for m in members}) < 2:
                log.info("ranking group %s/%s/%s has one intensity; no ranking trial", system, utt, emotion)
                continue
            if len(members) > MAX_RANK_VERSIONS:
                raise ListeningTestError(
                    f"ranking group system={system} utt={utt} emotion={emotion}: {len(members)} versions; "
                    f"at most {MAX_RANK_VERSIONS} fit on a page"
                )
            ordered = tuple(sorted(members, key=lambda m: (m.intensity, m.key)))
            self.add(Trial("ranking", f"ranking:{system}|{utt}|{emotion}", ordered, 2, "ranking"), str(manifest))
        if not self.trials:
            raise ListeningTestError(f"{manifest}: the manifest yields no trials")
        return ListeningTest(self.root, TestSettings(title=self.root.name), blocks, self.trials, self.stimuli,
                             manifest)


def _parse_tasks(value: str | None, emotion: str | None, intensity: float | None, where: str) -> frozenset[str]:
    if value is None or not value.strip():
        tasks = {"mos"}
        if emotion is not None:
            tasks.add("emotion")
        if intensity is not None:
            tasks.add("ranking")
        return frozenset(tasks)
    tasks = {t.strip().lower() for t in re.split(r"[;,| ]+", value) if t.strip()}
    unknown = tasks - set(LEGACY_TYPES)
    if unknown:
        raise ListeningTestError(f"{where}: unknown task {min(unknown)!r}; use {', '.join(LEGACY_TYPES)} "
                                 "(the other test types need manifest.yaml)")
    if "emotion" in tasks and emotion is None:
        raise ListeningTestError(f"{where}: task 'emotion' needs the intended emotion in the 'emotion' column")
    if "ranking" in tasks and intensity is None:
        raise ListeningTestError(f"{where}: task 'ranking' needs the intended intensity in the 'intensity' column")
    return frozenset(tasks)


def check_participant(participant: str) -> str:
    """Strip and validate a participant id (letters, digits, ``_ . @ -``; at most 64 characters)."""
    pid = (participant or "").strip()
    if not _PARTICIPANT_RE.match(pid):
        raise ListeningTestError(
            "participant id must be 1-64 characters: letters, digits, '_', '.', '@' or '-' (e.g. P01)"
        )
    return pid


def discover_tests(tests_dir: str | Path) -> dict[str, Path]:
    """Test folders under ``tests_dir`` (itself, or its direct sub-folders, holding a manifest)."""
    tests_dir = Path(tests_dir)
    if not tests_dir.is_dir():
        raise ListeningTestError(f"{tests_dir}: not a folder; pass --tests-dir with listening-test folders")

    def has_manifest(folder: Path) -> bool:
        return any((folder / n).is_file() for n in (*MANIFEST_YAML_NAMES, MANIFEST_NAME))

    found: dict[str, Path] = {}
    if has_manifest(tests_dir):
        found[tests_dir.resolve().name] = tests_dir.resolve()
    for sub in sorted(tests_dir.iterdir()):
        if sub.is_dir() and has_manifest(sub):
            found[sub.name] = sub.resolve()
    return found


# ----------------------------------------------------------------------------- answers


def normalise_answer(trial: PlannedTrial, answer: Any) -> Any:
    """Validate an answer for ``trial``; returns the stored form.

    mos / smos / esmos: an int 1-5 (or "4 - Good"); emotion: one of EMOTIONS; ranking: ranks per
    displayed version (1 = weakest), a permutation of 1..n, turned into the keys from weakest to
    strongest; mushra: one score 0-100 per displayed version, turned into ``{key: score}``; ab /
    abx: "A", "B" or "none" (no preference), turned into the chosen key or "none".
    """
    if trial.type in RATING_TYPES:
        try:
            score = int(str(answer).strip().split()[0])
        except (ValueError, IndexError):
            raise ListeningTestError("choose a score from 1 to 5") from None
        if score not in SCALES[trial.type]:
            raise ListeningTestError("choose a score from 1 to 5")
        return score
    if trial.type == "emotion":
        label = str(answer or "").strip().lower()
        if label not in EMOTIONS:
            raise ListeningTestError(f"choose one emotion: {', '.join(EMOTIONS)}")
        return label
    n = len(trial.stimuli)
    if trial.type == "ranking":
        try:
            ranks = [int(str(r).strip()) for r in list(answer)[:n]]
        except (TypeError, ValueError):
            ranks = []
        if sorted(ranks) != list(range(1, n + 1)):
            raise ListeningTestError(f"give each of the {n} versions a different rank from 1 (weakest) to {n}")
        order = sorted(range(n), key=lambda i: ranks[i])
        return [trial.stimuli[i] for i in order]
    if trial.type == "mushra":
        try:
            scores = [float(s) for s in list(answer)[:n]]
        except (TypeError, ValueError):
            scores = []
        if len(scores) != n or not all(math.isfinite(s) and 0 <= s <= 100 for s in scores):
            raise ListeningTestError(f"rate each of the {n} versions from 0 to 100")
        return {k: round(s, 2) for k, s in zip(trial.stimuli, scores, strict=True)}
    if trial.type in ("ab", "abx"):
        choice = str(answer or "").strip().lower()
        if choice in ("a", "b"):
            return trial.stimuli["ab".index(choice)]
        if choice in ("none", "no preference", NO_PREFERENCE):
            return NO_PREFERENCE
        raise ListeningTestError("choose A, B or no preference")
    raise ListeningTestError(f"unknown trial type {trial.type!r}")


def check_gold(design: Trial, response: Any) -> bool | None:
    """Whether an attention trial was answered as expected (None for other trials)."""
    if design.gold is None:
        return None
    if design.type in ("ab", "abx"):
        chosen = NO_PREFERENCE if response == NO_PREFERENCE else design.item(response).system
        return chosen in design.gold
    if design.type == "ranking":
        return list(response) == list(design.stimuli)
    return response in design.gold


@dataclasses.dataclass
class Session:
    """One participant's plan, what is answered, and the session's state."""

    test: ListeningTest
    participant: str
    plan: list[PlannedTrial]
    done: set[int]
    started: float = 0.0  # POSIX seconds
    consented: bool = False
    finished: bool = False
    code: str = ""

    @property
    def timed_out(self) -> bool:
        budget = self.test.settings.time_budget_s
        return budget is not None and time.time() - self.started > budget

    @property
    def time_left_s(self) -> float | None:
        budget = self.test.settings.time_budget_s
        return None if budget is None else max(0.0, budget - (time.time() - self.started))

    @property
    def needs_consent(self) -> bool:
        return bool(self.test.settings.consent) and not self.consented

    @property
    def next_trial(self) -> PlannedTrial | None:
        if self.timed_out or self.needs_consent:
            return None
        for t in self.plan:
            if t.index not in self.done:
                return t
        return None

    @property
    def complete(self) -> bool:
        """All trials answered, or the time budget is used up."""
        return self.timed_out or all(t.index in self.done for t in self.plan)

    def progress(self) -> str:
        return f"{len(self.done)} of {len(self.plan)} trials done"


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What :meth:`ResultStore.record` did: ``stored`` False when the trial was already answered
    (another tab, a double click) and this answer was not kept; ``passed`` for attention trials."""

    stored: bool
    passed: bool | None = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    test TEXT NOT NULL,
    participant TEXT NOT NULL,
    seed TEXT NOT NULL,
    plan TEXT NOT NULL,
    started_utc TEXT NOT NULL,
    PRIMARY KEY (test, participant)
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    test TEXT NOT NULL,
    participant TEXT NOT NULL,
    trial_index INTEGER NOT NULL,
    trial_type TEXT NOT NULL,
    trial_key TEXT NOT NULL,
    stimuli TEXT NOT NULL,
    system TEXT,
    condition TEXT,
    utt TEXT,
    target_emotion TEXT,
    target_intensity REAL,
    response TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    UNIQUE (test, participant, trial_index)
);
"""
# Columns added after the first release of the schema (ALTER TABLE on older files).
_ADDED = {
    "participants": {"started_ts": "REAL", "consent_utc": "TEXT", "finished_utc": "TEXT", "code": "TEXT"},
    "answers": {"block": "TEXT", "training": "INTEGER NOT NULL DEFAULT 0", "gold": "INTEGER NOT NULL DEFAULT 0",
                "passed": "INTEGER", "response_s": "REAL", "items": "TEXT"},
}

ANSWER_COLUMNS = (
    "id", "test", "participant", "trial_index", "trial_type", "trial_key", "stimuli", "system",
    "condition", "utt", "target_emotion", "target_intensity", "response", "created_utc",
    "block", "training", "gold", "passed", "response_s", "items",
)
PARTICIPANT_COLUMNS = ("test", "participant", "started_utc", "consent_utc", "finished_utc", "code")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _item_dict(item: Item) -> dict[str, Any]:
    return dataclasses.asdict(item)


class ResultStore:
    """SQLite file of plans and answers; a fresh connection per call (Gradio runs handlers in threads)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            # WAL: readers (the results view) never block the writer, and a crash mid-write
            # leaves the last committed answers intact.
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            for table, columns in _ADDED.items():
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns.items():
                    if name not in have:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: each INSERT is its own transaction; start() opens an explicit one.
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def start(self, test: ListeningTest, participant: str) -> Session:
        """Begin or resume: the stored plan wins over a fresh one (the manifest may have changed)."""
        participant = check_participant(participant)
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT plan, started_ts, consent_utc, finished_utc, code FROM participants "
                "WHERE test=? AND participant=?", (test.name, participant)
            ).fetchone()
            if row is None:
                plan = test.plan_for(participant)
                started = time.time()
                code = test.settings.completion_code
                if code.lower() == "auto":
                    code = f"{secrets.token_hex(4).upper()}-{secrets.token_hex(4).upper()}"
                db.execute(
                    "INSERT INTO participants (test, participant, seed, plan, started_utc, started_ts, code) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (test.name, participant, str(test.seed_for(participant)),
                     json.dumps([p.to_dict() for p in plan]), _now(), started, code),
                )
                consented, finished = False, False
            else:
                plan = [PlannedTrial.from_dict(d) for d in json.loads(row[0])]
                missing = {k for p in plan for k in p.stimuli} - set(test.stimuli)
                missing |= {p.key for p in plan if p.key not in {t.key for t in test.trials}}
                if missing:
                    raise ListeningTestError(
                        f"test {test.name}: {len(missing)} file(s) or trial(s) of this participant's plan left the "
                        "manifest; put them back or start a new test folder"
                    )
                started = float(row[1]) if row[1] is not None else time.time()
                consented, finished, code = row[2] is not None, row[3] is not None, row[4] or ""
            done = {
                r[0] for r in db.execute(
                    "SELECT trial_index FROM answers WHERE test=? AND participant=?", (test.name, participant)
                )
            }
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()
        session = Session(test, participant, plan, done, started, consented, finished, code)
        if session.complete and not finished:
            self.finish(session)
        return session

    def _stamp(self, session: Session, column: str) -> None:
        """Set a participant's time column (consent_utc, finished_utc) once; the first time is kept."""
        db = self._connect()
        try:
            db.execute(f"UPDATE participants SET {column}=COALESCE({column}, ?) WHERE test=? AND participant=?",
                       (_now(), session.test.name, session.participant))
        finally:
            db.close()

    def consent(self, session: Session) -> None:
        """Record that the participant accepted the consent text."""
        self._stamp(session, "consent_utc")
        session.consented = True

    def finish(self, session: Session) -> None:
        """Record the end of the session (all answered, or the time budget used up)."""
        self._stamp(session, "finished_utc")
        session.finished = True

    def record(self, session: Session, trial_index: int, answer: Any, response_s: float | None = None) -> Recorded:
        """Store one answer in its own transaction; ``stored`` is False when that trial was already answered."""
        if not 0 <= trial_index < len(session.plan):
            raise ListeningTestError(f"trial {trial_index} is not in this participant's plan")
        if session.needs_consent:
            raise ListeningTestError("accept the consent text first")
        if session.timed_out:
            raise ListeningTestError("the time budget of this test is used up; this answer was not stored")
        trial = session.plan[trial_index]
        test = session.test
        design = test.trial(trial.key)
        response = normalise_answer(trial, answer)
        passed = check_gold(design, response)
        first = design.items[0]
        if trial.type == "ranking":
            conditions = sorted({i.condition for i in design.items})
            fields = (first.system, "+".join(conditions), first.utt, first.emotion, None)
            stored = json.dumps({"response": response, "intended": list(design.stimuli),
                                 "intensities": [i.intensity for i in design.items]})
        elif len(design.items) == 1:
            fields = (first.system, first.condition, first.utt, first.emotion, first.intensity)
            stored = json.dumps(response)
        else:
            fields = ("+".join(i.system for i in design.items), "", first.utt, first.emotion, None)
            stored = json.dumps(response)
        items = json.dumps([_item_dict(i) for i in design.items] + (
            [{"key": design.reference, "role": "reference"}] if design.reference else []))
        db = self._connect()
        try:
            cur = db.execute(
                "INSERT INTO answers (test, participant, trial_index, trial_type, trial_key, stimuli, system, "
                "condition, utt, target_emotion, target_intensity, response, created_utc, block, training, gold, "
                "passed, response_s, items) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (test, participant, trial_index) DO NOTHING",
                (test.name, session.participant, trial.index, trial.type, trial.key,
                 json.dumps(list(trial.stimuli)), *fields, stored, _now(), design.block_name, int(design.training),
                 int(design.gold is not None), None if passed is None else int(passed),
                 None if response_s is None else round(float(response_s), 3), items),
            )
            inserted = cur.rowcount == 1
        finally:
            db.close()
        session.done.add(trial.index)
        if session.complete:
            self.finish(session)
        return Recorded(inserted, passed if inserted else None)

    def _select(self, table: str, columns: tuple[str, ...], test: str | None, order: str) -> list[dict[str, Any]]:
        """Rows of ``table`` (all tests, or one) as dicts of ``columns``."""
        db = self._connect()
        try:
            query = f"SELECT {', '.join(columns)} FROM {table}"
            args: tuple = ()
            if test is not None:
                query += " WHERE test=?"
                args = (test,)
            rows = db.execute(f"{query} ORDER BY {order}", args).fetchall()
        finally:
            db.close()
        return [dict(zip(columns, r, strict=True)) for r in rows]

    def answers(self, test: str | None = None) -> list[dict[str, Any]]:
        """All answers (experimenter view), oldest first; ``response``, ``stimuli``, ``items`` decoded."""
        out = []
        for d in self._select("answers", ANSWER_COLUMNS, test, "id"):
            d["response"] = json.loads(d["response"])
            d["stimuli"] = json.loads(d["stimuli"])
            d["items"] = json.loads(d["items"]) if d["items"] else []
            d["training"] = bool(d["training"])
            d["gold"] = bool(d["gold"])
            d["passed"] = None if d["passed"] is None else bool(d["passed"])
            out.append(d)
        return out

    def participants(self, test: str | None = None) -> list[str]:
        return [p["participant"] for p in self.participant_rows(test)]

    def participant_rows(self, test: str | None = None) -> list[dict[str, Any]]:
        """Who started, when, consent and end times, and the completion code shown to them."""
        return self._select("participants", PARTICIPANT_COLUMNS, test, "participant")


def store_for(test: ListeningTest) -> ResultStore:
    """The test's own results file, ``<test folder>/results.sqlite``."""
    return ResultStore(test.root / RESULTS_NAME)


class ListeningApp:
    """The tests under one ``--tests-dir`` and their stores: what the page's handlers call.

    Participants pick a test by name from :meth:`test_names`; a name not in that list is
    refused, so a client can never point the server at another folder.
    """

    def __init__(self, tests_dir: str | Path | None):
        self.tests_dir = Path(tests_dir) if tests_dir else None
        self._folders = discover_tests(self.tests_dir) if self.tests_dir else {}
        self._tests: dict[str, ListeningTest] = {}
        self._stores: dict[str, ResultStore] = {}

    def test_names(self) -> list[str]:
        return sorted(self._folders)

    def test(self, name: str) -> ListeningTest:
        if name not in self._folders:
            raise ListeningTestError(f"no listening test named {name!r}; choose one from the list")
        if name not in self._tests:
            self._tests[name] = ListeningTest.from_folder(self._folders[name])
        return self._tests[name]

    def store(self, name: str) -> ResultStore:
        if name not in self._stores:
            self._stores[name] = store_for(self.test(name))
        return self._stores[name]

    def start(self, name: str, participant: str) -> Session:
        """Begin or resume ``participant`` in test ``name``."""
        return self.store(name).start(self.test(name), participant)

    def consent(self, name: str, participant: str) -> Session:
        session = self.start(name, participant)
        self.store(name).consent(session)
        return session

    def answer(self, name: str, participant: str, trial_index: int, answer: Any,
               response_s: float | None = None) -> Session:
        """Record one answer (its own transaction) and return the updated session."""
        return self.answer_with_status(name, participant, trial_index, answer, response_s)[0]

    def answer_with_status(self, name: str, participant: str, trial_index: int, answer: Any,
                           response_s: float | None = None) -> tuple[Session, Recorded]:
        """Like :meth:`answer`, also saying whether the answer was stored."""
        session = self.start(name, participant)
        recorded = self.store(name).record(session, trial_index, answer, response_s)
        return session, recorded
