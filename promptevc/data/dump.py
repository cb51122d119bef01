"""Feature dump for training (recipe stage 2): one ``.npz`` per utterance.

``dump_features(DATADIR)`` reads ``wav.scp`` and writes ``DATADIR/feats/<utt>.npz`` with
``mel`` float32 (n_mels, F), ``f0`` float32 (F,) Hz (0 = unvoiced), ``energy`` float32 (F,) dB,
``spk_emb`` float32 (D_spk,) and ``content`` float32 (F_c, D_c); then ``feats.scp``
(utt -> absolute npz path), ``utt2num_frames`` (utt -> F) and ``feats_config.yaml`` (the
AudioConfig, the content config, the speaker backbone and the F0 method). mel, f0 and energy
share the mel frame grid of the AudioConfig.

Re-running skips utterances already dumped (unless ``overwrite``); asking for different settings
than the ones recorded in ``feats_config.yaml`` is an error unless ``overwrite``. ``nj > 1``
runs worker processes (spawned, each loading the models once) over small shards of utterances.
An utterance that fails is logged and the run raises at the end with the counts.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing as mp
import os
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
NPZ_KEYS = ("mel", "f0", "energy", "spk_emb", "content")
F0_METHODS = ("harvest", "dio", "pyin")
SHARD_SIZE = 8  # utterances per task handed to a worker


@dataclasses.dataclass
class DumpResult:
    """Counts of a dump run; ``failures`` maps utt -> one-line reason."""

    done: int
    skipped: int
    failures: dict[str, str]

    @property
    def failed(self) -> int:
        return len(self.failures)


def feats_settings(
    audio: AudioConfig, content: ContentConfig, speaker_backbone: str, speaker_model: str | None, f0_method: str
) -> dict[str, Any]:
    """The dict written to feats_config.yaml (also compared on re-runs)."""
    return {
        "audio": to_dict(audio),
        "content": to_dict(content),
        "speaker": {"backbone": speaker_backbone, "model_id": speaker_model},
        "f0_method": f0_method,
        "keys": list(NPZ_KEYS),
    }


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
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_feats(path: str | Path) -> dict[str, np.ndarray]:
    """Read one dumped npz into a dict of arrays."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# --------------------------------------------------------------------------------------------
# Worker side: each process builds its extractors once.
# --------------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}  # per-process cache of loaded models (one dump per process)


def _init_worker(settings: dict[str, Any], device: str, threads: int | None) -> None:
    import torch

    from promptevc.features.content import ContentEncoder
    from promptevc.features.mel import MelSpectrogram
    from promptevc.models.speaker import SpeakerBackbone

    if threads:
        torch.set_num_threads(threads)
    audio = from_dict(AudioConfig, settings["audio"])
    content = from_dict(ContentConfig, settings["content"])
    _WORKER.clear()
    _WORKER.update(
        audio=audio,
        f0_method=settings["f0_method"],
        mel=MelSpectrogram(audio),
        content=ContentEncoder(content, audio, device=device),
        speaker=SpeakerBackbone(settings["speaker"]["backbone"], device=device,
                                model_id=settings["speaker"]["model_id"]),
    )


def _dump_one(utt: str, wav_path: str, out_path: str) -> int:
    """Dump one utterance; returns its number of mel frames."""
    import torch

    from promptevc.audio import load_audio, resample
    from promptevc.features.prosody import extract_energy, extract_f0

    w = _WORKER
    audio: AudioConfig = w["audio"]
    wav = load_audio(wav_path, audio)
    wav16k = resample(wav, audio.sample_rate, 16000)
    with torch.no_grad():
        mel = w["mel"](torch.from_numpy(wav)[None])[0].numpy().astype(np.float32)
    f0, _ = extract_f0(wav, audio, method=w["f0_method"])
    energy = extract_energy(wav, audio)
    spk_emb = w["speaker"].embed(wav16k)
    content = w["content"].extract(wav16k)
    n = mel.shape[1]
    if f0.shape != (n,) or energy.shape != (n,):
        raise RuntimeError(f"frame count mismatch: mel {n}, f0 {f0.shape}, energy {energy.shape}")
    arrays = {
        "mel": mel,
        "f0": f0.astype(np.float32),
        "energy": energy.astype(np.float32),
        "spk_emb": np.asarray(spk_emb, dtype=np.float32),
        "content": np.asarray(content, dtype=np.float32),
    }
    for key, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise RuntimeError(f"non-finite values in {key}")
    out = Path(out_path)
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, out)
    return n


def _dump_shard(jobs: list[tuple[str, str, str]]) -> list[tuple[str, int, str | None]]:
    """Dump a list of (utt, wav, out); returns (utt, frames, error or None) for each."""
    results = []
    for utt, wav_path, out_path in jobs:
        try:
            results.append((utt, _dump_one(utt, wav_path, out_path), None))
        except (ModelLoadError, ConfigError):
            raise  # a missing model or bad setting fails every utterance: stop the whole run
        except PromptEVCError as err:
            results.append((utt, 0, str(err)))
        except Exception as err:  # noqa: BLE001 - one bad utterance must not kill the whole dump
            msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
            results.append((utt, 0, f"{type(err).__name__}: {msg}"))
    return results


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
    overwrite: bool = False,
    progress: bool = True,
) -> DumpResult:
    """Dump mel/f0/energy/spk_emb/content for every utterance of ``data_dir`` (see module doc).

    Raises PromptEVCError after writing feats.scp when any utterance failed.
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
    cfg_path = data / FEATS_CONFIG
    if cfg_path.is_file() and not overwrite:
        old = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        if old != settings:
            diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            raise ConfigError(
                f"{cfg_path}: features were dumped with different settings ({', '.join(diff)}); "
                "pass --overwrite to dump them again"
            )
    feats_dir = data / FEATS_DIR
    feats_dir.mkdir(parents=True, exist_ok=True)
    previous_cfg = cfg_path.read_text(encoding="utf-8") if cfg_path.is_file() else None
    _write_text(cfg_path, yaml.safe_dump(settings, sort_keys=False))

    old_frames = read_scp(data / NUM_FRAMES) if (data / NUM_FRAMES).is_file() else {}
    frames: dict[str, int] = {}
    jobs: list[tuple[str, str, str]] = []
    skipped = 0
    for utt, wav in wavs.items():
        wav_path = Path(wav) if Path(wav).is_absolute() else data / wav
        out = (feats_dir / f"{utt}.npz").resolve()
        if out.is_file() and not overwrite:
            if utt in old_frames:
                frames[utt] = int(old_frames[utt])
            else:
                with np.load(out) as z:
                    frames[utt] = int(z["mel"].shape[1])
            skipped += 1
            continue
        jobs.append((utt, str(wav_path), str(out)))

    failures: dict[str, str] = {}
    if jobs:
        shards = [jobs[i : i + SHARD_SIZE] for i in range(0, len(jobs), SHARD_SIZE)]
        bar = tqdm(total=len(jobs), desc=f"dump {data.name}", unit="utt", disable=not progress)
        if nj == 1:
            _init_worker(settings, device, None)
            results_iter = (_dump_shard(shard) for shard in shards)
            pool = None
        else:
            # spawn: safe with CUDA and with torch's thread pools (fork is not).
            pool = mp.get_context("spawn").Pool(nj, initializer=_init_worker, initargs=(settings, device, 1))
            results_iter = pool.imap_unordered(_dump_shard, shards)
        finished, done_now = False, 0
        try:
            for results in results_iter:
                for utt, n, err in results:
                    if err is None:
                        frames[utt] = n
                        done_now += 1
                    else:
                        failures[utt] = err
                        log.error("%s: %s", utt, err)
                bar.update(len(results))
            finished = True
        except BaseException:
            if done_now == 0:  # nothing written: leave the data dir as it was
                if previous_cfg is None:
                    cfg_path.unlink(missing_ok=True)
                else:
                    _write_text(cfg_path, previous_cfg)
            raise
        finally:
            bar.close()
            if pool is not None:
                if finished:
                    pool.close()
                else:
                    pool.terminate()
                pool.join()
            _WORKER.clear()

    write_scp(data / FEATS_SCP, {u: str((feats_dir / f"{u}.npz").resolve()) for u in frames})
    write_scp(data / NUM_FRAMES, frames)
    result = DumpResult(done=len(jobs) - len(failures), skipped=skipped, failures=failures)
    log.info("%s: dumped %d, skipped %d (already dumped), failed %d", data, result.done, skipped, result.failed)
    if failures:
        first = next(iter(sorted(failures)))
        raise PromptEVCError(
            f"{data}: {result.failed} of {len(wavs)} utterances failed (first: {first}: {failures[first]}); "
            f"{len(frames)} dumped; fix or remove them from wav.scp and re-run"
        )
    return result
