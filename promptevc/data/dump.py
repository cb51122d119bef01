"""Feature dump for training (recipe stage 2) into a feature store keyed by its settings.

``dump_features(DATADIR, store_root=ROOT)`` dumps every utterance of ``DATADIR/wav.scp`` into the
store ``ROOT/<key>/``, where ``<key>`` (e.g. ``mel-dio-3f2a9c1e07``) names the settings:

- ``ROOT/<key>/<bucket>/<utt>.npz`` (bucket = 2 hex digits of a hash of the utterance id) with
  ``mel`` float16 (n_mels, F), ``f0`` float32 (F,) Hz (0 = unvoiced), ``energy`` float32 (F,) dB,
  ``spk_emb`` float32 (D_spk,) and ``content`` float16 (F_c, D_c); mel, f0 and energy share the
  mel frame grid of the AudioConfig. float16 halves the disk and read cost of the two large
  arrays (log-mel and SSL features change by < 0.1 % of their range); :func:`load_feats` returns
  float32.
- ``ROOT/<key>/feats_config.yaml``: the settings (AudioConfig, content config, speaker backbone,
  F0 method, dtypes, and the key of each component, see below).
- ``ROOT/<key>/ledger/*.tsv``: one line ``utt frames wav_bytes wav_mtime`` per npz, appended by the
  process that wrote it *after* the file was renamed into place (one ledger file per process).

``DATADIR`` gets ``feats.scp`` (utt -> absolute npz path), ``utt2num_frames`` and
``feats_config.yaml`` (the settings plus the store path), written when the run ends. Without
``store_root`` the store root is ``DATADIR/feats``.

Nothing is recomputed that is already there: an utterance whose ledger entry matches its wav
(same size and mtime) is skipped, whatever data dir (train, dev, a split part) asks for it, so a
killed run continues where it stopped. Features come in four components with their own settings
(``spectral``: mel + energy, from the AudioConfig; ``f0``: AudioConfig + F0 method; ``speaker``:
backbone + model; ``content``: content model and layer, or the AudioConfig for ``mel``
content); a component whose settings match one in another store under the same root is copied
from there instead of computed, so changing only the F0 method runs only the F0 tracker.
``overwrite`` computes everything again.

``nj > 1`` runs that many signal-processing worker processes (spawned; audio loading,
resampling, mel, energy, F0 and mel content), while the neural models (the content model and the
speaker encoder) are loaded once, in the calling process, on ``device``: one model per process
(per GPU) however many workers there are. An utterance that fails is logged and the run raises at
the end with the counts.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import logging
import multiprocessing as mp
import os
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from promptevc.config import AudioConfig, from_dict, to_dict
from promptevc.data.kaldi import read_scp, write_scp
from promptevc.errors import ConfigError, ModelLoadError, PromptEVCError
from promptevc.features.content import ContentConfig
from promptevc.features.prosody import NEURAL_F0_METHOD

log = logging.getLogger(__name__)

FEATS_DIR = "feats"
FEATS_SCP = "feats.scp"
FEATS_CONFIG = "feats_config.yaml"
NUM_FRAMES = "utt2num_frames"
LEDGER_DIR = "ledger"
FORMAT_VERSION = 2
NPZ_KEYS = ("mel", "f0", "energy", "spk_emb", "content")
STORE_DTYPES: dict[str, str] = {"mel": "float16", "f0": "float32", "energy": "float32", "spk_emb": "float32",
                                "content": "float16"}
# Components: computed (or reused) together, each keyed by the settings it depends on.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "spectral": ("mel", "energy"),
    "f0": ("f0",),
    "speaker": ("spk_emb",),
    "content": ("content",),
}
F0_METHODS = ("harvest", "dio", "pyin")
SHARD_SIZE = 8  # utterances per task handed to a worker


@dataclasses.dataclass
class DumpResult:
    """Counts of a dump run; ``failures`` maps utt -> one-line reason; ``computed``/``reused``
    count utterances per component (reused = copied from another store of the same root)."""

    done: int
    skipped: int
    failures: dict[str, str]
    store: Path | None = None
    computed: dict[str, int] = dataclasses.field(default_factory=dict)
    reused: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def failed(self) -> int:
        return len(self.failures)


# --------------------------------------------------------------------------------------------
# Settings, keys and the store layout
# --------------------------------------------------------------------------------------------


def _digest(obj: Any, n: int = 12) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:n]


def component_keys(settings: dict[str, Any]) -> dict[str, str]:
    """The key of each component: a hash of exactly the settings that component depends on."""
    audio, content = settings["audio"], settings["content"]
    if content["type"] == "mel":
        content_deps: dict[str, Any] = {"type": "mel", "audio": audio}
    else:  # the number of units (k) does not change the features
        content_deps = {k: content.get(k) for k in ("type", "model_id", "revision", "layer")}
    deps = {
        "spectral": {"audio": audio},
        "f0": {"audio": audio, "method": settings["f0_method"]},
        "speaker": settings["speaker"],
        "content": content_deps,
    }
    return {name: _digest({"format": FORMAT_VERSION, "dtypes": STORE_DTYPES, name: dep}) for name, dep in deps.items()}


def feats_settings(
    audio: AudioConfig, content: ContentConfig, speaker_backbone: str, speaker_model: str | None, f0_method: str
) -> dict[str, Any]:
    """The dict written to feats_config.yaml (the store's, and the data dir's with ``store`` added)."""
    settings: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "audio": to_dict(audio),
        "content": to_dict(content),
        "speaker": {"backbone": speaker_backbone, "model_id": speaker_model},
        "f0_method": f0_method,
        "keys": list(NPZ_KEYS),
        "dtypes": dict(STORE_DTYPES),
    }
    settings["components"] = component_keys(settings)
    return settings


def store_key(settings: dict[str, Any]) -> str:
    """Folder name of the store for ``settings``: readable label + hash of the component keys."""
    content = settings["content"]
    label = "mel" if content["type"] == "mel" else f"{content['type']}{content['layer']}"
    label += f"-{settings['f0_method']}"
    if settings["speaker"]["backbone"] != "ge2e":
        label += f"-{settings['speaker']['backbone']}"
    return f"{label}-{_digest(settings['components'], 10)}"


def npz_path(store: Path, utt: str) -> Path:
    """Where utterance ``utt`` lives in ``store`` (256 buckets keep folders small on large corpora)."""
    bucket = hashlib.md5(utt.encode()).hexdigest()[:2]
    return store / bucket / f"{utt}.npz"


def read_feats_config(data_dir: str | Path) -> tuple[AudioConfig, ContentConfig, dict[str, Any]]:
    """(AudioConfig, ContentConfig, full dict) recorded by a dump in ``data_dir``."""
    path = Path(data_dir) / FEATS_CONFIG
    if not path.is_file():
        raise ConfigError(f"{data_dir}: no {FEATS_CONFIG}; run promptevc dump-features --data {data_dir} first")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        audio = from_dict(AudioConfig, data.get("audio", {}), prefix="audio")
        content = from_dict(ContentConfig, data.get("content", {}), prefix="content")
    except (yaml.YAMLError, ConfigError) as err:
        raise ConfigError(f"{path}: invalid feature config ({err})") from None
    return audio, content, data


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_feats(path: str | Path) -> dict[str, np.ndarray]:
    """Read one dumped npz into a dict of float32 arrays (float16 storage is widened)."""
    with np.load(path) as z:
        return {k: z[k].astype(np.float32) if z[k].dtype == np.float16 else z[k] for k in z.files}


def _wav_signature(path: Path) -> tuple[int, int] | None:
    """(size in bytes, mtime in whole seconds) of a wav, None when it cannot be stat'ed."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, int(st.st_mtime)


def read_ledger(store: Path) -> dict[str, tuple[int, int, int]]:
    """utt -> (frames, wav bytes, wav mtime) of every npz the store's ledger records.

    Lines cut short by a kill (no newline, wrong field count) are ignored; the last record wins.
    """
    out: dict[str, tuple[int, int, int]] = {}
    ledger = store / LEDGER_DIR
    if not ledger.is_dir():
        return out
    for f in sorted(ledger.glob("*.tsv")):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if not line.endswith("\n") or len(parts) != 4:
                    continue
                try:
                    out[parts[0]] = (int(parts[1]), int(parts[2]), int(parts[3]))
                except ValueError:
                    continue
    return out


class _Ledger:
    """This process's ledger file in a store: one line per npz, flushed after each write."""

    def __init__(self, store: Path) -> None:
        (store / LEDGER_DIR).mkdir(parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}.tsv"
        self._fh = open(store / LEDGER_DIR / name, "a", encoding="utf-8")

    def add(self, utt: str, frames: int, sig: tuple[int, int]) -> None:
        self._fh.write(f"{utt}\t{frames}\t{sig[0]}\t{sig[1]}\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


@dataclasses.dataclass
class _Donor:
    """Another store of the same root whose components can be copied."""

    store: Path
    components: set[str]
    ledger: dict[str, tuple[int, int, int]]


def _find_donors(root: Path, store: Path, keys: dict[str, str]) -> list[_Donor]:
    donors = []
    for cfg in sorted(root.glob(f"*/{FEATS_CONFIG}")):
        other = cfg.parent
        if other == store:
            continue
        try:
            theirs = (yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}).get("components") or {}
        except (OSError, yaml.YAMLError):
            continue
        shared = {name for name, key in keys.items() if theirs.get(name) == key}
        if shared:
            donors.append(_Donor(other, shared, read_ledger(other)))
    return donors


# --------------------------------------------------------------------------------------------
# Signal-processing side (worker processes, or the calling process when nj == 1)
# --------------------------------------------------------------------------------------------

_DSP: dict[str, Any] = {}  # per-process state of the signal-processing side


def _init_dsp(settings: dict[str, Any], threads: int | None) -> None:
    import torch

    from promptevc.features.content import ContentEncoder
    from promptevc.features.mel import MelSpectrogram

    if threads:
        torch.set_num_threads(threads)
    audio = from_dict(AudioConfig, settings["audio"])
    content = from_dict(ContentConfig, settings["content"])
    _DSP.clear()
    _DSP.update(audio=audio, f0_method=settings["f0_method"], mel=MelSpectrogram(audio),
                content=ContentEncoder(content, audio) if content.type == "mel" else None)


# A job: (utt, wav path, components to compute, {component: donor npz path}).
_Job = tuple[str, str, tuple[str, ...], dict[str, str]]


def _dsp_one(job: _Job) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Arrays of the signal-processing components (and donor copies); the 16 kHz audio when a
    neural component still has to be computed from it."""
    import torch

    from promptevc.audio import load_audio, resample
    from promptevc.features.prosody import extract_energy, extract_f0

    utt, wav_path, need, donors = job
    arrays: dict[str, np.ndarray] = {}
    for comp, path in donors.items():
        with np.load(path) as z:
            for key in COMPONENTS[comp]:
                arrays[key] = z[key]
    if not need:
        return arrays, None
    audio: AudioConfig = _DSP["audio"]
    wav = load_audio(wav_path, audio)
    wav16k = resample(wav, audio.sample_rate, 16000)
    if "spectral" in need:
        with torch.no_grad():
            arrays["mel"] = _DSP["mel"](torch.from_numpy(wav)[None])[0].numpy()
        arrays["energy"] = extract_energy(wav, audio)
    if "f0" in need:
        arrays["f0"], _ = extract_f0(wav, audio, method=_DSP["f0_method"])
    if "content" in need and _DSP["content"] is not None:
        arrays["content"] = _DSP["content"].extract(wav16k)
    neural = "speaker" in need or ("content" in need and "content" not in arrays)
    return arrays, (wav16k if neural else None)


def _dsp_shard(jobs: list[_Job]) -> list[tuple[str, dict[str, np.ndarray] | None, np.ndarray | None, str | None]]:
    """Run :func:`_dsp_one` over a shard; (utt, arrays, wav16k, error or None) for each."""
    out = []
    for job in jobs:
        try:
            arrays, wav16k = _dsp_one(job)
            out.append((job[0], arrays, wav16k, None))
        except (ModelLoadError, ConfigError):
            raise  # a missing model or a bad setting fails every utterance: stop the whole run
        except Exception as err:  # noqa: BLE001 - one bad utterance must not kill the whole dump
            out.append((job[0], None, None, _one_line(err)))
    return out


def _one_line(err: BaseException) -> str:
    if isinstance(err, PromptEVCError):
        return str(err)
    msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {msg}"


# --------------------------------------------------------------------------------------------
# Neural side (the calling process: one model each, on ``device``)
# --------------------------------------------------------------------------------------------


class _Models:
    """Speaker encoder and content model, loaded on first use (a run that only copies or skips
    loads neither)."""

    def __init__(self, settings: dict[str, Any], device: str) -> None:
        self.settings, self.device = settings, device
        self._speaker = self._content = None

    def load(self, needs: set[str]) -> None:
        """Load the models that ``needs`` (components to compute) requires, so that a missing model
        fails the run before any work is done."""
        if "speaker" in needs:
            _ = self._speaker_model().dim
        if "content" in needs and self.settings["content"]["type"] != "mel":
            _ = self._content_model().dim

    def _speaker_model(self):
        if self._speaker is None:
            from promptevc.models.speaker import SpeakerBackbone

            spk = self.settings["speaker"]
            self._speaker = SpeakerBackbone(spk["backbone"], device=self.device, model_id=spk["model_id"])
        return self._speaker

    def _content_model(self):
        if self._content is None:
            from promptevc.features.content import ContentEncoder

            audio = from_dict(AudioConfig, self.settings["audio"])
            cfg = from_dict(ContentConfig, self.settings["content"])
            self._content = ContentEncoder(cfg, audio, device=self.device)
        return self._content

    def speaker(self, wav16k: np.ndarray) -> np.ndarray:
        return np.asarray(self._speaker_model().embed(wav16k))

    def content(self, wav16k: np.ndarray) -> np.ndarray:
        return self._content_model().extract(wav16k)


def _finish(utt: str, arrays: dict[str, np.ndarray], wav16k: np.ndarray | None, need: tuple[str, ...],
            models: _Models) -> dict[str, np.ndarray]:
    """Add the neural components, check shapes and values, cast to the storage dtypes."""
    if wav16k is not None:
        if "speaker" in need:
            arrays["spk_emb"] = models.speaker(wav16k)
        if "content" in need and "content" not in arrays:
            arrays["content"] = models.content(wav16k)
    missing = [k for k in NPZ_KEYS if k not in arrays]
    if missing:  # pragma: no cover - every component is computed or copied
        raise RuntimeError(f"no {', '.join(missing)}")
    n = arrays["mel"].shape[1]
    if arrays["f0"].shape != (n,) or arrays["energy"].shape != (n,):
        raise RuntimeError(f"frame count mismatch: mel {n}, f0 {arrays['f0'].shape}, energy {arrays['energy'].shape}")
    out = {}
    for key in NPZ_KEYS:
        value = np.asarray(arrays[key]).astype(STORE_DTYPES[key], copy=False)
        if not np.all(np.isfinite(value)):
            where = "beyond the float16 range" if STORE_DTYPES[key] == "float16" else "non-finite"
            raise RuntimeError(f"{key}: values {where}")
        out[key] = value
    return out


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def dump_features(
    data_dir: str | Path,
    audio: AudioConfig | None = None,
    content: ContentConfig | None = None,
    speaker_backbone: str = "ge2e",
    nj: int = 1,
    *,
    speaker_model: str | None = None,
    f0_method: str = NEURAL_F0_METHOD,
    device: str = "cpu",
    store_root: str | Path | None = None,
    overwrite: bool = False,
    reuse: bool = True,
    threads: int | None = None,
    progress: bool = True,
) -> DumpResult:
    """Dump mel/f0/energy/spk_emb/content for every utterance of ``data_dir`` (see module doc).

    ``reuse``: copy components with matching settings from other stores of ``store_root``.
    ``threads``: torch threads of this process (None = torch's default). Raises PromptEVCError
    after writing feats.scp when any utterance failed.
    """
    from tqdm import tqdm

    from promptevc.models.speaker import BACKBONES

    data = Path(data_dir)
    audio = audio or AudioConfig()
    content = content or ContentConfig()
    if not (data / "wav.scp").is_file():
        raise ConfigError(f"{data}: no wav.scp; is this a data dir (run the data preparation stage first)?")
    if f0_method not in F0_METHODS:
        raise ConfigError(f"F0 method {f0_method!r}: choose one of {', '.join(F0_METHODS)}")
    if speaker_backbone not in BACKBONES:
        raise ConfigError(f"speaker backbone {speaker_backbone!r}: choose one of {', '.join(BACKBONES)}")
    if nj < 1:
        raise ConfigError(f"--nj {nj}: need at least 1 job")
    wavs = read_scp(data / "wav.scp")
    if not wavs:
        raise ConfigError(f"{data / 'wav.scp'}: is empty")

    settings = feats_settings(audio, content, speaker_backbone, speaker_model, f0_method)
    root = Path(store_root) if store_root is not None else data / FEATS_DIR
    store = (root / store_key(settings)).resolve()
    store.mkdir(parents=True, exist_ok=True)
    cfg_path = store / FEATS_CONFIG
    text = yaml.safe_dump(settings, sort_keys=False)
    if not cfg_path.is_file():
        _write_text(cfg_path, text)
    elif (yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}).get("components") != settings["components"]:
        raise ConfigError(f"{cfg_path}: this store holds features with other settings; remove it or use another "
                          "store root")

    ledger = {} if overwrite else read_ledger(store)
    donors = _find_donors(root.resolve(), store, settings["components"]) if reuse and not overwrite else []
    frames: dict[str, int] = {}
    jobs: list[_Job] = []
    sigs: dict[str, tuple[int, int]] = {}
    skipped = 0
    reused: collections.Counter[str] = collections.Counter()
    computed: collections.Counter[str] = collections.Counter()
    for utt, wav in wavs.items():
        wav_path = Path(wav) if Path(wav).is_absolute() else data / wav
        sig = _wav_signature(wav_path) or (-1, -1)
        sigs[utt] = sig
        entry = ledger.get(utt)
        if entry is not None and entry[1:] == sig and npz_path(store, utt).is_file():
            frames[utt] = entry[0]
            skipped += 1
            continue
        from_donor: dict[str, str] = {}
        for donor in donors:
            d = donor.ledger.get(utt)
            if d is None or d[1:] != sig:
                continue
            path = npz_path(donor.store, utt)
            if not path.is_file():
                continue
            for comp in donor.components - set(from_donor):
                from_donor[comp] = str(path)
        need = tuple(c for c in COMPONENTS if c not in from_donor)
        jobs.append((utt, str(wav_path), need, from_donor))

    failures: dict[str, str] = {}
    if jobs:
        models = _Models(settings, device)
        models.load({c for job in jobs for c in job[2]})
        book = _Ledger(store)
        shards = [jobs[i : i + SHARD_SIZE] for i in range(0, len(jobs), SHARD_SIZE)]
        needs = {job[0]: job[2] for job in jobs}
        bar = tqdm(total=len(jobs), desc=f"dump {data.name}", unit="utt", disable=not progress)
        pool = None
        try:
            if nj == 1:
                _init_dsp(settings, threads)
                results = (_dsp_shard(shard) for shard in shards)
            else:
                if threads:
                    import torch

                    torch.set_num_threads(threads)
                # spawn: safe with CUDA and torch's thread pools (fork is not). Workers do signal
                # processing only; at most 2 shards per worker are in flight, so memory stays bounded
                # when the models in this process are slower than the workers.
                pool = mp.get_context("spawn").Pool(nj, initializer=_init_dsp, initargs=(settings, 1))
                results = _bounded_map(pool, shards, window=2 * nj)
            for shard_results in results:
                for utt, arrays, wav16k, err in shard_results:
                    if err is None:
                        try:
                            out = _finish(utt, arrays, wav16k, needs[utt], models)
                            _write_npz(npz_path(store, utt), out)
                            book.add(utt, int(out["mel"].shape[1]), sigs[utt])
                            frames[utt] = int(out["mel"].shape[1])
                        except (ModelLoadError, ConfigError):
                            raise
                        except Exception as exc:  # noqa: BLE001
                            err = _one_line(exc)
                    if err is not None:
                        failures[utt] = err
                        log.error("%s: %s", utt, err)
                bar.update(len(shard_results))
            if pool is not None:
                pool.close()
        finally:
            bar.close()
            book.close()
            if pool is not None:
                pool.terminate()
                pool.join()
            _DSP.clear()

    write_scp(data / FEATS_SCP, {u: str(npz_path(store, u)) for u in frames})
    write_scp(data / NUM_FRAMES, frames)
    _write_text(data / FEATS_CONFIG, yaml.safe_dump({**settings, "store": str(store)}, sort_keys=False))
    for utt, _, need, from_donor in jobs:  # count what was really computed or copied
        if utt not in failures:
            computed.update(need)
            reused.update(from_donor.keys())
    result = DumpResult(done=len(jobs) - len(failures), skipped=skipped, failures=failures, store=store,
                        computed=dict(computed), reused=dict(reused))
    log.info("%s: dumped %d (%s), skipped %d (already dumped), failed %d; store %s", data, result.done,
             describe_counts(result), skipped, result.failed, store)
    if failures:
        first = next(iter(sorted(failures)))
        raise PromptEVCError(
            f"{data}: {result.failed} of {len(wavs)} utterances failed (first: {first}: {failures[first]}); "
            f"{len(frames)} dumped; fix or remove them from wav.scp and re-run"
        )
    return result


def describe_counts(result: DumpResult) -> str:
    """"computed spectral 10, f0 10 ...; copied content 10 ..." for the log line."""
    parts = []
    for what, counts in (("computed", result.computed), ("copied from other stores", result.reused)):
        if counts:
            parts.append(f"{what} " + ", ".join(f"{c} {counts[c]}" for c in COMPONENTS if c in counts))
    return "; ".join(parts) or "nothing to compute"


def _bounded_map(pool, shards: list, window: int):
    """Like ``pool.imap(_dsp_shard, shards)`` with at most ``window`` shards in flight."""
    pending: collections.deque = collections.deque()
    it = iter(shards)
    for shard in it:
        pending.append(pool.apply_async(_dsp_shard, (shard,)))
        if len(pending) >= window:
            break
    while pending:
        result = pending.popleft().get()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(pool.apply_async(_dsp_shard, (nxt,)))
        yield result
