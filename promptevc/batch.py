"""Batch jobs: files, folders and Kaldi ``wav.scp`` lists -> (input, output) pairs, checked up front.

Output names: ``-o OUT`` for one input; with ``--out-dir DIR`` a file ``x.flac`` gives
``DIR/x.wav``, a folder's files keep their relative path (``sub/y.ogg`` -> ``DIR/sub/y.wav``)
and a ``wav.scp`` line ``UTT path`` gives ``DIR/UTT.wav``.

:func:`plan_jobs` checks every output before the first job runs, so a batch cannot destroy
data: no output may be an input of the batch (by path or by inode), leave ``--out-dir`` (ids
with ``/``, ``..``, NUL or absolute paths are refused with their line number; symlinks are
followed before the check), be shared by two jobs, or be anything but a regular file.
Duplicate utterance ids are an error; a UTF-8 byte-order mark is ignored; a folder scan never
descends into the output folder, so earlier outputs are not converted again on a re-run.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from promptevc.errors import AudioError, ConfigError, OutputError, OutputExistsError, short
from promptevc.outputs import OutputTarget, file_key, inspect_output, output_format

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64", ".rf64", ".opus")
OUTPUT_EXTENSION = ".wav"


@dataclasses.dataclass
class Job:
    """One conversion: ``source`` (the input path as given) -> ``output``; ``where`` names its origin."""

    source: str
    output: Path
    where: str = ""

    def label(self) -> str:
        return f"{self.where}: {self.source}" if self.where else self.source


@dataclasses.dataclass
class PlannedJob:
    """A checked job: ``target`` is the resolved output; ``skip`` when it exists and may not be replaced."""

    job: Job
    target: OutputTarget
    skip: bool = False


def check_utt_id(utt: str, where: str) -> str:
    """An utterance id usable as a file name, or ConfigError naming ``where`` (file:line)."""
    bad = None
    if "\x00" in utt:
        bad = "contains a NUL character"
    elif "/" in utt or "\\" in utt:
        bad = "contains a path separator"
    elif utt in (".", ".."):
        bad = "is a relative folder name"
    elif utt.startswith("."):
        bad = "starts with '.' (hidden files are not written)"
    elif len(os.fsencode(utt + OUTPUT_EXTENSION)) > 255:
        bad = "is too long for a file name"
    if bad:
        raise ConfigError(f"{where}: utterance id {short(utt)} {bad}; ids become output file names")
    return utt


def read_scp_jobs(scp: str | os.PathLike, out_dir: str | os.PathLike) -> list[Job]:
    """Jobs ``UTT path`` -> ``out_dir/UTT.wav`` from a Kaldi ``wav.scp`` (checked, with line numbers)."""
    scp = Path(scp)
    try:
        with open(scp, "rb") as f:
            raw = f.read(64 << 20)
    except OSError as err:
        from promptevc.errors import describe_os_error

        raise AudioError(f"cannot read the scp file ({describe_os_error(err, scp)})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    for lineno, line_bytes in enumerate(raw.split(b"\n"), start=1):
        try:
            line = line_bytes.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise ConfigError(f"{scp}:{lineno}: not valid UTF-8 text") from None
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        where = f"{scp}:{lineno}"
        utt = check_utt_id(parts[0], where)
        if len(parts) < 2 or not parts[1].strip():
            raise ConfigError(f"{where}: utterance {short(utt)} has no audio path")
        value = parts[1].strip()
        if value.endswith("|"):
            raise ConfigError(f"{where}: piped commands ({short(value)}) are not supported; give a file path")
        if utt in seen:
            raise ConfigError(f"{where}: utterance id {short(utt)} also on line {seen[utt]}; ids must be unique")
        seen[utt] = lineno
        jobs.append(Job(value, Path(out_dir) / f"{utt}{OUTPUT_EXTENSION}", where))
    if not jobs:
        raise AudioError(f"{scp}: the scp file lists no utterances")
    return jobs


def scan_folder(folder: str | os.PathLike, skip: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """Audio files under ``folder`` (sorted), never descending into ``skip`` folders or following links."""
    root = Path(folder)
    skip_real = {os.path.realpath(p) for p in skip}
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) not in skip_real
                             and not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            path = Path(dirpath) / name
            try:
                if stat.S_ISREG(os.stat(path).st_mode):
                    found.append(path)
            except OSError:
                found.append(path)  # reported by the job itself (dangling link, permissions)
    return sorted(found)


def collect_jobs(inputs: Sequence[str], output: str | None = None, out_dir: str | None = None) -> list[Job]:
    """Expand INPUT arguments (files, folders, ``*.scp``) into jobs with output paths."""
    if output and out_dir:
        raise ConfigError("give either -o OUT (one input) or --out-dir DIR, not both")
    if not inputs:
        raise ConfigError("no input given")
    jobs: list[Job] = []
    base = Path(out_dir) if out_dir else Path(".")
    for item in inputs:
        path = Path(item)
        if "\x00" in item:
            raise ConfigError(f"{short(item)}: not a valid path")
        if path.is_dir():
            if out_dir and os.path.realpath(path) == os.path.realpath(out_dir):
                raise ConfigError(f"--out-dir {out_dir} is the input folder {item}; outputs would mix with the inputs, "
                                  "choose another folder (a sub-folder is fine)")
            found = scan_folder(path, skip=[out_dir] if out_dir else [])
            if not found:
                raise AudioError(f"{path}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder")
            jobs += [Job(str(p), base / p.relative_to(path).with_suffix(OUTPUT_EXTENSION), str(path)) for p in found]
        elif path.suffix == ".scp" and path.is_file():
            jobs += read_scp_jobs(path, base)
        else:
            jobs.append(Job(item, base / (path.stem + OUTPUT_EXTENSION)))
    if output:
        if len(jobs) != 1:
            raise ConfigError(f"-o takes one input but {len(jobs)} were given; use --out-dir DIR")
        return [Job(jobs[0].source, Path(output), jobs[0].where)]
    if not out_dir:
        raise ConfigError("no output given; use -o OUT for one input or --out-dir DIR")
    return jobs


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def plan_jobs(jobs: Sequence[Job], *, out_dir: str | os.PathLike | None = None, overwrite: bool = False,
              skip_existing: bool = True) -> list[PlannedJob]:
    """Check every job's output before any runs; raise on the first that could lose data.

    ``skip_existing``: an existing output without ``overwrite`` marks the job skipped (batches);
    otherwise it is an OutputExistsError (single conversions).
    """
    out_root = os.path.realpath(os.path.abspath(out_dir)) if out_dir is not None else None
    if out_root is not None and os.path.exists(out_root) and not os.path.isdir(out_root):
        raise OutputError(f"--out-dir {out_dir}: is a file, not a folder")
    inputs: dict[str, Job] = {}
    inodes: dict[tuple[int, int], Job] = {}
    for job in jobs:
        resolved, inode = file_key(job.source)
        inputs.setdefault(resolved, job)
        if inode is not None:
            inodes.setdefault(inode, job)
    planned: list[PlannedJob] = []
    outputs: dict[str, Job] = {}
    for job in jobs:
        output_format(job.output)
        target = inspect_output(job.output)
        where = f"{job.where}: " if job.where else ""
        resolved = str(target.path)
        if out_root is not None and not _inside(resolved, out_root):
            raise OutputError(f"{where}output {job.output} resolves to {resolved}, outside --out-dir {out_dir}")
        clash = inputs.get(resolved) or (inodes.get(target.inode) if target.inode else None)
        if clash is not None:
            what = "(its own)" if clash is job else f"{clash.source}"
            raise OutputExistsError(f"{where}output {job.output} would overwrite the input {what}; choose another "
                                    "output")
        if resolved in outputs:
            other = outputs[resolved]
            raise OutputError(f"{where}{job.source} and {other.label()} would both be written to {job.output}; "
                              "convert them separately or rename one")
        outputs[resolved] = job
        if target.exists and not overwrite and not skip_existing:
            raise OutputExistsError(f"{job.output}: exists; pass --overwrite to replace it")
        planned.append(PlannedJob(job, target, skip=target.exists and not overwrite))
    return planned
