"""Training loop and release export of the PromptEVC acoustic model (``promptevc train``).

Plain PyTorch: AdamW with warm-up and exponential decay (PromptEVC §3.1: 2e-4, 0.999875),
AMP (float16 + GradScaler) on CUDA, DDP under ``torchrun``, gradient clipping, periodic
validation, resume from the latest checkpoint (model, optimiser, scheduler, scaler, step, RNG),
tqdm progress and metrics through :class:`~promptevc.train.experiment.Experiment`.

The experiment dir is self-contained for export: the k-means units (``EXP/units/``) and the
evaluator release (``EXP/evaluator/``) are copied into it, so ``promptevc export`` needs only
``--exp``. A release holds ``model.*`` weights (the frozen text encoder is referenced by id, not
stored), ``units.*`` tensors (k-means centroids + content normalisation), and, when an evaluator
was used, a copy of it in ``RELEASE/evaluator/`` (for ``--ref`` conversion).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from promptevc.config import check_audio_compatible, to_dict
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.config import ExperimentConfig
from promptevc.models.vocoder import default_vocoder_for

log = logging.getLogger(__name__)

ACOUSTIC_KIND = "acoustic"
UNITS_SUBDIR = "units"
EVALUATOR_SUBDIR = "evaluator"
RELEASE_SUBDIR = "release"


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def _read_feats_settings(data_dir: Path) -> dict[str, Any]:
    from promptevc.data.dump import FEATS_CONFIG, read_feats_config

    if not (data_dir / FEATS_CONFIG).is_file():
        return {}
    audio, content, raw = read_feats_config(data_dir)
    return {"audio": audio, "content": content, "raw": raw}


@torch.no_grad()
def compute_references(evaluator: torch.nn.Module, dataset: Any, device: torch.device,
                       batch_size: int = 16) -> dict[str, np.ndarray]:
    """Raw evaluator embeddings e_ref for every utterance of ``dataset`` (whole utterances)."""
    from tqdm import tqdm

    out: dict[str, np.ndarray] = {}
    order = sorted(range(len(dataset)), key=lambda i: dataset.load_mel(i).shape[1])
    for start in tqdm(range(0, len(order), batch_size), desc="e_ref", unit="batch", leave=False):
        idx = order[start : start + batch_size]
        mels = [dataset.load_mel(i) for i in idx]
        f_max = max(m.shape[1] for m in mels)
        x = torch.stack([torch.nn.functional.pad(torch.from_numpy(m), (0, f_max - m.shape[1]), value=float(m.min()))
                         for m in mels]).to(device)
        lens = torch.tensor([m.shape[1] for m in mels], device=device)
        emb = evaluator(x, lens)["embedding"].float().cpu().numpy()
        for i, e in zip(idx, emb, strict=True):
            out[dataset.utts[i]] = e
    return out


def _make_scheduler(opt: torch.optim.Optimizer, cfg: ExperimentConfig) -> torch.optim.lr_scheduler.LambdaLR:
    warm, decay = cfg.train.warmup_steps, cfg.train.lr_decay

    def factor(step: int) -> float:
        w = min(1.0, (step + 1) / warm) if warm > 0 else 1.0
        return w * decay ** max(0, step - warm)

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def train(
    cfg: ExperimentConfig,
    data_dir: str | Path,
    exp_dir: str | Path,
    *,
    valid_dir: str | Path | None = None,
    units_dir: str | Path | None = None,
    evaluator: str | None = None,
    device: str = "auto",
    argv: Sequence[str] | None = None,
    text_encoder: tuple[Any, torch.nn.Module] | None = None,
    progress: bool = True,
) -> Path:
    """Train (or resume) an acoustic model; returns the release dir written at the end (EXP/release)."""
    from tqdm import tqdm

    from promptevc.data.dataset import AcousticDataset, collate, mel_stats
    from promptevc.models.evc import build_model, count_parameters
    from promptevc.train.checkpoint import (
        checkpoint_path,
        latest_checkpoint,
        load_checkpoint,
        prune_checkpoints,
        save_checkpoint,
    )
    from promptevc.train.distributed import barrier, cleanup, init_distributed, wrap_ddp
    from promptevc.train.experiment import Experiment
    from promptevc.train.losses import acoustic_losses

    data_dir, exp_dir = Path(data_dir), Path(exp_dir)
    info = init_distributed(device)
    dev = torch.device(info.device)
    torch.manual_seed(cfg.train.seed + info.rank)
    np.random.seed(cfg.train.seed + info.rank)

    # ---- resolve data-dependent dimensions and check the data against the config
    feats = _read_feats_settings(data_dir)
    if feats:
        check_audio_compatible(cfg.audio, feats["audio"], "config", f"features in {data_dir}")
    units = None
    if units_dir is not None:
        from promptevc.features.content import UnitExtractor

        units = UnitExtractor.load(units_dir)
        check_audio_compatible(cfg.audio, units.audio, "config", f"units in {units_dir}")
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(
            cfg.model, content=dataclasses.replace(cfg.model.content, num_units=units.k)))
    else:
        log.warning("no --units given: the release will not be able to convert audio (no k-means centroids)")
    speaker_cfg = cfg.model.speaker
    if feats:
        backbone = (feats["raw"].get("speaker") or {}).get("backbone")
        if backbone:
            speaker_cfg = dataclasses.replace(speaker_cfg, backbone=str(backbone))

    evaluator_model = None
    if evaluator is not None:
        from promptevc.models.evaluator import load_evaluator

        evaluator_model = load_evaluator(evaluator, device=str(dev))
        evaluator_model.requires_grad_(False).eval()
        ev_audio = getattr(evaluator_model, "audio", None)
        if ev_audio is not None:
            check_audio_compatible(cfg.audio, ev_audio, "config", f"evaluator {evaluator}")
    if cfg.model.reference == "evaluator" and evaluator_model is None:
        raise ConfigError("model.reference is 'evaluator': pass --evaluator RELEASE (or --set model.reference=label)")

    train_ds = AcousticDataset(
        data_dir, energy_scale_db=cfg.model.prosody.energy_scale_db, max_frames=cfg.train.max_frames,
        default_intensity=cfg.train.default_intensity, heldout_prompt_fraction=cfg.train.heldout_prompt_fraction,
    )
    first = train_ds[0]
    speaker_cfg = dataclasses.replace(speaker_cfg, in_dim=int(first["spk_emb"].shape[0]))
    model_cfg = dataclasses.replace(cfg.model, speaker=speaker_cfg)
    if evaluator_model is not None and cfg.model.reference == "evaluator":
        model_cfg = dataclasses.replace(model_cfg, ref_dim=int(evaluator_model.embed_dim))
    max_unit = max(int(np.load(p).max()) for p in list(train_ds.units.values())[:200])
    if max_unit >= model_cfg.content.num_units:
        raise ConfigError(f"{data_dir}/units.scp: unit id {max_unit} >= model.content.num_units "
                          f"{model_cfg.content.num_units}; pass the --units dir the units came from")
    cfg = dataclasses.replace(cfg, model=model_cfg)

    refs = None
    if evaluator_model is not None and cfg.model.reference == "evaluator":
        refs = compute_references(evaluator_model, train_ds, dev)
        train_ds.e_ref = refs
    valid_ds = None
    if valid_dir is not None:
        valid_ds = AcousticDataset(
            valid_dir, energy_scale_db=cfg.model.prosody.energy_scale_db, max_frames=cfg.train.max_frames,
            default_intensity=cfg.train.default_intensity, crop=False,
        )
        if refs is not None:
            valid_ds.e_ref = compute_references(evaluator_model, valid_ds, dev)

    exp = Experiment(exp_dir, ACOUSTIC_KIND, cfg, argv=argv, is_main=info.is_main)
    if info.is_main:
        if units is not None:
            units.save(exp_dir / UNITS_SUBDIR)
        if evaluator is not None:
            _copy_evaluator(evaluator, exp_dir / EVALUATOR_SUBDIR)

    # ---- model, statistics, optimiser
    model = build_model(cfg, text_encoder=text_encoder)
    mean, std = mel_stats(train_ds)
    ref_mean = ref_std = None
    if refs is not None:
        r = torch.from_numpy(np.stack(list(refs.values())))
        ref_mean, ref_std = r.mean(0), r.std(0) if len(r) > 1 else torch.ones(r.shape[1])
    model.set_stats(mean, std, ref_mean, ref_std)
    model.to(dev)
    if info.is_main:
        counts = count_parameters(model)
        log.info("parameters: %s", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.train.learning_rate, betas=tuple(cfg.train.betas),
                            weight_decay=cfg.train.weight_decay, foreach=True)
    sched = _make_scheduler(opt, cfg)
    use_amp = cfg.train.amp and dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    step = 0
    ckpt = latest_checkpoint(exp_dir)
    if ckpt is not None:
        step, _ = load_checkpoint(ckpt, models={"model": model}, optimizers={"opt": opt},
                                  schedulers={"sched": sched}, scaler=scaler, map_location=dev)
        log.info("resumed from %s (step %d)", ckpt, step)
    ddp_model = wrap_ddp(model, info)

    sampler = None
    if info.distributed:
        sampler = torch.utils.data.distributed.DistributedSampler(train_ds, shuffle=True, seed=cfg.train.seed)
    loader = torch.utils.data.DataLoader(
        train_ds, batch_size=cfg.train.batch_size, shuffle=sampler is None, sampler=sampler, collate_fn=collate,
        num_workers=cfg.train.num_workers, drop_last=len(train_ds) > cfg.train.batch_size * info.world_size,
        pin_memory=dev.type == "cuda", persistent_workers=cfg.train.num_workers > 0,
    )

    def run_valid() -> dict[str, float]:
        if valid_ds is None:
            return {}
        model.eval()
        vloader = torch.utils.data.DataLoader(valid_ds, batch_size=cfg.train.batch_size, shuffle=False,
                                              collate_fn=collate)
        sums: dict[str, float] = {}
        n = 0
        with torch.no_grad():
            for i, vb in enumerate(vloader):
                if i >= cfg.train.valid_max_batches:
                    break
                vb = _to_device(vb, dev)
                out = model(vb)
                mel_dn = model.denormalise_mel(out["mel_post"]) if evaluator_model is not None else None
                _, terms = acoustic_losses(out, vb, cfg.train.loss, evaluator_model, mel_dn)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v
                n += 1
        model.train()
        return {k: v / max(n, 1) for k, v in sums.items()}

    model.train()
    epoch = step // max(len(loader), 1)
    bar = tqdm(total=cfg.train.max_steps, initial=step, desc="train acoustic", unit="step",
               disable=not (progress and info.is_main), dynamic_ncols=True)
    t0, running = time.time(), {}
    while step < cfg.train.max_steps:
        if sampler is not None:
            sampler.set_epoch(epoch)
        for batch in loader:
            batch = _to_device(batch, dev)
            with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=use_amp):
                out = ddp_model(batch)
                mel_dn = model.denormalise_mel(out["mel_post"].float()) if evaluator_model is not None else None
                loss, terms = acoustic_losses(out, batch, cfg.train.loss, evaluator_model, mel_dn)
            if not math.isfinite(float(loss.detach())):
                raise FloatingPointError(f"step {step}: loss is {float(loss)}; lower train.learning_rate")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.train.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            step += 1
            for k, v in terms.items():
                running[k] = running.get(k, 0.0) + v
            running["_n"] = running.get("_n", 0.0) + 1
            bar.update(1)
            bar.set_postfix(mel=f"{terms['mel']:.3f}", loss=f"{float(loss.detach()):.3f}")
            if step % cfg.train.log_every == 0 or step == cfg.train.max_steps:
                n = running.pop("_n")
                metrics = {k: v / n for k, v in running.items()}
                metrics.update(loss=float(loss.detach()), lr=sched.get_last_lr()[0], grad_norm=float(grad_norm),
                               steps_per_s=cfg.train.log_every / max(time.time() - t0, 1e-6))
                exp.log_metrics(step, metrics, split="train")
                running, t0 = {}, time.time()
            if valid_ds is not None and (step % cfg.train.valid_every == 0 or step == cfg.train.max_steps):
                vm = run_valid()
                if vm:
                    exp.log_metrics(step, vm, split="valid")
                    log.info("step %d valid: %s", step, ", ".join(f"{k} {v:.4f}" for k, v in vm.items()))
            if info.is_main and (step % cfg.train.save_every == 0 or step == cfg.train.max_steps):
                save_checkpoint(checkpoint_path(exp_dir, step), step=step, models={"model": model},
                                optimizers={"opt": opt}, schedulers={"sched": sched}, scaler=scaler)
                prune_checkpoints(exp_dir, cfg.train.keep_checkpoints)
            if step >= cfg.train.max_steps:
                break
        epoch += 1
    bar.close()
    if info.is_main and latest_checkpoint(exp_dir) is None:  # max_steps reached before this run started
        save_checkpoint(checkpoint_path(exp_dir, step), step=step, models={"model": model},
                        optimizers={"opt": opt}, schedulers={"sched": sched}, scaler=scaler)
    barrier(info)
    release = exp_dir / RELEASE_SUBDIR
    if info.is_main:
        export_release(exp_dir, release)
    exp.close()
    cleanup(info)
    return release


def _copy_evaluator(name: str, dest: Path) -> None:
    """Copy the evaluator release folder (resolved through the hub) into the experiment dir."""
    from promptevc.hub import resolve_path

    src = resolve_path(name, kind="evaluator release")
    if dest.exists() and dest.resolve() == src.resolve():
        return
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)


def export_release(exp_dir: Path, out_dir: Path, checkpoint: Path | None = None) -> Path:
    """Write an ``acoustic`` release from ``exp_dir`` (latest checkpoint unless ``checkpoint``)."""
    from promptevc.config import load_yaml
    from promptevc.features.content import CONTENT_CONFIG_FILE, UnitExtractor
    from promptevc.prompt.control import EMOTIONS
    from promptevc.release import write_release
    from promptevc.train.checkpoint import latest_checkpoint

    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    cfg = load_yaml(ExperimentConfig, exp_dir / "config.yaml")
    ckpt = Path(checkpoint) if checkpoint is not None else latest_checkpoint(exp_dir)
    if ckpt is None or not ckpt.is_file():
        raise ModelLoadError(f"{exp_dir}: no checkpoint to export (train first, or pass --checkpoint)")
    try:
        payload = torch.load(ckpt, map_location="cpu", weights_only=True)
        state = payload["models"]["model"]
    except Exception as err:  # noqa: BLE001 - unreadable/foreign file is a user error
        raise ModelLoadError(f"{ckpt}: not an acoustic checkpoint ({str(err).splitlines()[0]})") from None
    tensors = {f"model.{k}": v for k, v in state.items()}
    meta: dict[str, Any] = {
        "audio": to_dict(cfg.audio),
        "emotions": list(EMOTIONS),
        "text_encoder": cfg.model.descriptor.encoder,
        "text_encoder_frozen": cfg.model.descriptor.freeze_encoder,
        "speaker_backbone": cfg.model.speaker.backbone,
        "vocoder": default_vocoder_for(cfg.audio),
        "reference": cfg.model.reference,
        "step": int(payload.get("step", 0)),
        "checkpoint": ckpt.name,
    }
    units_dir = exp_dir / UNITS_SUBDIR
    if (units_dir / CONTENT_CONFIG_FILE).is_file():
        units = UnitExtractor.load(units_dir)
        tensors.update({f"units.{k}": v for k, v in units.state_tensors().items()})
        meta["content"] = to_dict(units.cfg)
    else:
        meta["content"] = None
    evaluator_dir = exp_dir / EVALUATOR_SUBDIR
    meta["evaluator"] = EVALUATOR_SUBDIR if evaluator_dir.is_dir() else None
    out = write_release(out_dir, kind=ACOUSTIC_KIND, config=to_dict(cfg), tensors=tensors, meta=meta)
    if evaluator_dir.is_dir():
        shutil.copytree(evaluator_dir, out / EVALUATOR_SUBDIR)
    log.info("wrote acoustic release %s (step %d)", out, meta["step"])
    return out

