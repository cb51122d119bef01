"""Listening tests: design from a manifest, blind per-participant order, answers in SQLite.

A test is a folder holding the stimuli and ``manifest.csv`` with one row per audio file::

    file,system,condition,utt,emotion,intensity[,tasks]
    ref/u01.wav,reference,natural,u01,neutral,
    evc/u01_sad_03.wav,promptevc,sad-0.3,u01,sad,0.3

``file`` is relative to the folder and must stay inside it; ``emotion`` (one of
:data:`~promptevc.prompt.control.EMOTIONS`) and ``intensity`` (in [0, 1]) may be empty. The
optional ``tasks`` column (``mos;emotion;ranking``) picks the trials a file takes part in; by
default every file gets a naturalness MOS trial, files with an emotion an emotion-identification
trial, and files with an intensity join the intensity-ranking trial of their
(system, utt, emotion) group when that group has at least two versions.

Each participant gets the trials in three blocks (MOS, emotion, ranking), shuffled within each
block and, for ranking, in a shuffled version order, from a seed derived from the test name and
the participant id: the same id always gets the same order, two ids get different ones. The
plan is stored in SQLite on first start so that resuming never depends on the manifest staying
the same. Every answer is its own transaction in a WAL-mode database with ``synchronous=FULL``,
so a crash loses at most the answer being written.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import json
import logging
import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from promptevc.errors import PromptEVCError
from promptevc.prompt.control import EMOTIONS

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
RESULTS_NAME = "results.sqlite"
REQUIRED_COLUMNS = ("file", "system", "condition", "utt", "emotion", "intensity")
TRIAL_TYPES = ("mos", "emotion", "ranking")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MOS_SCALE = {
    1: "1 - Bad",
    2: "2 - Poor",
    3: "3 - Fair",
    4: "4 - Good",
    5: "5 - Excellent",
}
# The page has this many version slots for an intensity-ranking trial.
MAX_RANK_VERSIONS = 5
_PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class ListeningTestError(PromptEVCError):
    """A listening-test folder, manifest, participant id or answer is invalid."""


@dataclasses.dataclass(frozen=True)
class Stimulus:
    """One audio file of a test; ``key`` is its manifest path (experimenter-only, never shown)."""

    key: str
    path: Path
    system: str
    condition: str
    utt: str
    emotion: str | None
    intensity: float | None
    tasks: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Trial:
    """One question: ``stimuli`` are keys; for ranking they are in intended (weakest first) order."""

    type: str
    key: str
    stimuli: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class PlannedTrial:
    """A trial as one participant sees it: ``stimuli`` in that participant's display order."""

    index: int
    type: str
    key: str
    stimuli: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "type": self.type, "key": self.key, "stimuli": list(self.stimuli)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedTrial:
        return cls(index=int(d["index"]), type=str(d["type"]), key=str(d["key"]), stimuli=tuple(d["stimuli"]))


def resolve_inside(root: Path, relative: str, what: str = "file") -> Path:
    """Resolve ``relative`` under ``root`` (symlinks followed) and refuse anything outside it."""
    root = Path(root).resolve()
    if not relative or "\x00" in relative:
        raise ListeningTestError(f"{root}: empty or invalid {what} name {relative!r}")
    candidate = (root / relative).resolve()
    if candidate == root or not candidate.is_relative_to(root):
        raise ListeningTestError(f"{relative!r}: {what} is outside the test folder {root}; use a path inside it")
    return candidate


def _parse_intensity(value: str, where: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        x = float(value)
    except ValueError:
        raise ListeningTestError(f"{where}: intensity {value!r} is not a number; use a value in [0, 1]") from None
    if not 0.0 <= x <= 1.0 or not np.isfinite(x):
        raise ListeningTestError(f"{where}: intensity {value} is outside [0, 1]")
    return x


def _parse_emotion(value: str, where: str) -> str | None:
    value = value.strip().lower()
    if not value:
        return None
    if value not in EMOTIONS:
        raise ListeningTestError(f"{where}: unknown emotion {value!r}; use one of {', '.join(EMOTIONS)}")
    return value


def _parse_tasks(value: str | None, emotion: str | None, intensity: float | None, where: str) -> frozenset[str]:
    if value is None or not value.strip():
        tasks = {"mos"}
        if emotion is not None:
            tasks.add("emotion")
        if intensity is not None:
            tasks.add("ranking")
        return frozenset(tasks)
    tasks = {t.strip().lower() for t in re.split(r"[;,| ]+", value) if t.strip()}
    unknown = tasks - set(TRIAL_TYPES)
    if unknown:
        raise ListeningTestError(f"{where}: unknown task {min(unknown)!r}; use {', '.join(TRIAL_TYPES)}")
    if "emotion" in tasks and emotion is None:
        raise ListeningTestError(f"{where}: task 'emotion' needs the intended emotion in the 'emotion' column")
    if "ranking" in tasks and intensity is None:
        raise ListeningTestError(f"{where}: task 'ranking' needs the intended intensity in the 'intensity' column")
    return frozenset(tasks)


class ListeningTest:
    """A validated test folder: its stimuli and the trials built from them."""

    def __init__(self, root: Path, stimuli: list[Stimulus]):
        self.root = Path(root).resolve()
        self.name = self.root.name
        self.stimuli: dict[str, Stimulus] = {s.key: s for s in stimuli}
        self.trials: list[Trial] = self._build_trials(stimuli)
        if not self.trials:
            raise ListeningTestError(f"{self.root / MANIFEST_NAME}: the manifest yields no trials")

    @classmethod
    def from_folder(cls, root: str | Path) -> ListeningTest:
        """Read and validate ``root/manifest.csv``; every file must exist inside ``root``."""
        root = Path(root)
        manifest = root / MANIFEST_NAME
        if not manifest.is_file():
            raise ListeningTestError(f"{root}: no {MANIFEST_NAME}; write one with columns {','.join(REQUIRED_COLUMNS)}")
        with open(manifest, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise ListeningTestError(f"{manifest}: missing column(s) {', '.join(missing)}")
            rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
        stimuli: list[Stimulus] = []
        seen: set[str] = set()
        for line_no, row in enumerate(rows, start=2):
            where = f"{manifest}:{line_no}"
            rel = row["file"].strip()
            path = resolve_inside(root, rel)
            key = path.relative_to(root.resolve()).as_posix()
            if path.suffix.lower() not in AUDIO_SUFFIXES:
                raise ListeningTestError(f"{where}: {rel!r} is not an audio file ({', '.join(AUDIO_SUFFIXES)})")
            if not path.is_file():
                raise ListeningTestError(f"{where}: {rel!r} does not exist in {root}")
            if key in seen:
                raise ListeningTestError(f"{where}: {rel!r} is listed twice")
            seen.add(key)
            emotion = _parse_emotion(row["emotion"], where)
            intensity = _parse_intensity(row["intensity"], where)
            for col in ("system", "utt"):
                if not row[col].strip():
                    raise ListeningTestError(f"{where}: empty {col!r}; every file needs a system and an utt id")
            stimuli.append(
                Stimulus(
                    key=key,
                    path=path,
                    system=row["system"].strip(),
                    condition=row["condition"].strip(),
                    utt=row["utt"].strip(),
                    emotion=emotion,
                    intensity=intensity,
                    tasks=_parse_tasks(row.get("tasks"), emotion, intensity, where),
                )
            )
        if not stimuli:
            raise ListeningTestError(f"{manifest}: no rows")
        return cls(root, stimuli)

    @staticmethod
    def _build_trials(stimuli: list[Stimulus]) -> list[Trial]:
        trials = [Trial("mos", f"mos:{s.key}", (s.key,)) for s in stimuli if "mos" in s.tasks]
        trials += [Trial("emotion", f"emotion:{s.key}", (s.key,)) for s in stimuli if "emotion" in s.tasks]
        groups: dict[tuple[str, str, str], list[Stimulus]] = {}
        for s in stimuli:
            if "ranking" in s.tasks:
                groups.setdefault((s.system, s.utt, s.emotion or ""), []).append(s)
        for (system, utt, emotion), members in sorted(groups.items()):
            if len({m.intensity for m in members}) < 2:
                log.info("ranking group %s/%s/%s has one intensity; no ranking trial", system, utt, emotion)
                continue
            if len(members) > MAX_RANK_VERSIONS:
                raise ListeningTestError(
                    f"ranking group system={system} utt={utt} emotion={emotion}: {len(members)} versions; "
                    f"at most {MAX_RANK_VERSIONS} fit on a page"
                )
            ordered = sorted(members, key=lambda m: (m.intensity, m.key))
            trials.append(Trial("ranking", f"ranking:{system}|{utt}|{emotion}", tuple(m.key for m in ordered)))
        return trials

    def trial(self, key: str) -> Trial:
        for t in self.trials:
            if t.key == key:
                return t
        raise ListeningTestError(f"test {self.name}: no trial {key!r}")

    def seed_for(self, participant: str) -> int:
        """Deterministic 64-bit seed from the test name and participant id."""
        digest = hashlib.sha256(f"{self.name}\x00{participant}".encode()).hexdigest()
        return int(digest[:16], 16)

    def plan_for(self, participant: str) -> list[PlannedTrial]:
        """The participant's blind order: blocks mos → emotion → ranking, each shuffled."""
        participant = check_participant(participant)
        rng = random.Random(self.seed_for(participant))
        plan: list[PlannedTrial] = []
        for trial_type in TRIAL_TYPES:
            block = [t for t in self.trials if t.type == trial_type]
            rng.shuffle(block)
            for t in block:
                shown = list(t.stimuli)
                if len(shown) > 1:
                    rng.shuffle(shown)
                plan.append(PlannedTrial(len(plan), t.type, t.key, tuple(shown)))
        return plan

    def audio_path(self, key: str) -> Path:
        """Path of stimulus ``key``, re-checked to be inside the test folder at serving time."""
        if key not in self.stimuli:
            raise ListeningTestError(f"test {self.name}: unknown stimulus")
        return resolve_inside(self.root, key)

    def load_audio(self, key: str) -> tuple[int, np.ndarray]:
        """``(sample_rate, int16 samples (T,))`` for the page: the file name never leaves the server."""
        import soundfile as sf

        path = self.audio_path(key)
        try:
            data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise ListeningTestError(f"test {self.name}: cannot read a stimulus ({str(err).splitlines()[0]})") from None
        wav = data.mean(axis=1)
        return int(sr), (np.clip(wav, -1.0, 1.0) * 32767).astype(np.int16)


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
    found: dict[str, Path] = {}
    if (tests_dir / MANIFEST_NAME).is_file():
        found[tests_dir.resolve().name] = tests_dir.resolve()
    for sub in sorted(tests_dir.iterdir()):
        if sub.is_dir() and (sub / MANIFEST_NAME).is_file():
            found[sub.name] = sub.resolve()
    return found


# ----------------------------------------------------------------------------- answers


def normalise_answer(trial: PlannedTrial, answer: Any) -> Any:
    """Validate an answer for ``trial``; returns the stored form.

    mos: an int 1-5 (or "4 - Good"); emotion: one of EMOTIONS; ranking: ranks per displayed
    version (1 = weakest), a permutation of 1..n, turned into the keys from weakest to strongest.
    """
    if trial.type == "mos":
        try:
            score = int(str(answer).strip().split()[0])
        except (ValueError, IndexError):
            raise ListeningTestError("choose a score from 1 (bad) to 5 (excellent)") from None
        if score not in MOS_SCALE:
            raise ListeningTestError("choose a score from 1 (bad) to 5 (excellent)")
        return score
    if trial.type == "emotion":
        label = str(answer or "").strip().lower()
        if label not in EMOTIONS:
            raise ListeningTestError(f"choose one emotion: {', '.join(EMOTIONS)}")
        return label
    if trial.type == "ranking":
        n = len(trial.stimuli)
        try:
            ranks = [int(str(r).strip()) for r in list(answer)[:n]]
        except (TypeError, ValueError):
            ranks = []
        if sorted(ranks) != list(range(1, n + 1)):
            raise ListeningTestError(f"give each of the {n} versions a different rank from 1 (weakest) to {n}")
        order = sorted(range(n), key=lambda i: ranks[i])
        return [trial.stimuli[i] for i in order]
    raise ListeningTestError(f"unknown trial type {trial.type!r}")


@dataclasses.dataclass
class Session:
    """One participant's plan and which trial indexes are answered."""

    test: ListeningTest
    participant: str
    plan: list[PlannedTrial]
    done: set[int]

    @property
    def next_trial(self) -> PlannedTrial | None:
        for t in self.plan:
            if t.index not in self.done:
                return t
        return None

    def progress(self) -> str:
        return f"{len(self.done)} of {len(self.plan)} trials done"


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

ANSWER_COLUMNS = (
    "id", "test", "participant", "trial_index", "trial_type", "trial_key", "stimuli", "system",
    "condition", "utt", "target_emotion", "target_intensity", "response", "created_utc",
)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


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
                "SELECT plan FROM participants WHERE test=? AND participant=?", (test.name, participant)
            ).fetchone()
            if row is None:
                plan = test.plan_for(participant)
                db.execute(
                    "INSERT INTO participants VALUES (?, ?, ?, ?, ?)",
                    (test.name, participant, str(test.seed_for(participant)),
                     json.dumps([p.to_dict() for p in plan]), _now()),
                )
            else:
                plan = [PlannedTrial.from_dict(d) for d in json.loads(row[0])]
                missing = {k for p in plan for k in p.stimuli} - set(test.stimuli)
                if missing:
                    raise ListeningTestError(
                        f"test {test.name}: {len(missing)} file(s) of this participant's plan left the manifest; "
                        "put them back or start a new test folder"
                    )
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
        return Session(test, participant, plan, done)

    def record(self, session: Session, trial_index: int, answer: Any) -> bool:
        """Store one answer in its own transaction; False when that trial was already answered."""
        if not 0 <= trial_index < len(session.plan):
            raise ListeningTestError(f"trial {trial_index} is not in this participant's plan")
        trial = session.plan[trial_index]
        response = normalise_answer(trial, answer)
        test = session.test
        first = test.stimuli[trial.stimuli[0]]
        if trial.type == "ranking":
            intended = list(test.trial(trial.key).stimuli)
            conditions = sorted({test.stimuli[k].condition for k in trial.stimuli})
            fields = (first.system, "+".join(conditions), first.utt, first.emotion, None)
            stored = json.dumps({
                "response": response,
                "intended": intended,
                "intensities": [test.stimuli[k].intensity for k in intended],
            })
        else:
            fields = (first.system, first.condition, first.utt, first.emotion, first.intensity)
            stored = json.dumps(response)
        db = self._connect()
        try:
            cur = db.execute(
                "INSERT INTO answers (test, participant, trial_index, trial_type, trial_key, stimuli, system, "
                "condition, utt, target_emotion, target_intensity, response, created_utc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (test, participant, trial_index) DO NOTHING",
                (test.name, session.participant, trial.index, trial.type, trial.key,
                 json.dumps(list(trial.stimuli)), *fields, stored, _now()),
            )
            inserted = cur.rowcount == 1
        finally:
            db.close()
        session.done.add(trial.index)
        return inserted

    def answers(self, test: str | None = None) -> list[dict[str, Any]]:
        """All answers (experimenter view), oldest first, ``response`` decoded from JSON."""
        db = self._connect()
        try:
            query = f"SELECT {', '.join(ANSWER_COLUMNS)} FROM answers"
            args: tuple = ()
            if test is not None:
                query += " WHERE test=?"
                args = (test,)
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        finally:
            db.close()
        out = []
        for r in rows:
            d = dict(zip(ANSWER_COLUMNS, r, strict=False))
            d["response"] = json.loads(d["response"])
            d["stimuli"] = json.loads(d["stimuli"])
            out.append(d)
        return out

    def participants(self, test: str | None = None) -> list[str]:
        db = self._connect()
        try:
            if test is None:
                rows = db.execute("SELECT participant FROM participants ORDER BY participant").fetchall()
            else:
                rows = db.execute(
                    "SELECT participant FROM participants WHERE test=? ORDER BY participant", (test,)
                ).fetchall()
        finally:
            db.close()
        return [r[0] for r in rows]


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

    def answer(self, name: str, participant: str, trial_index: int, answer: Any) -> Session:
        """Record one answer (its own transaction) and return the updated session."""
        session = self.start(name, participant)
        self.store(name).record(session, trial_index, answer)
        return session
