"""The PromptEVC acoustic model + prompt mapper as a training task (``promptevc train``, stage 6).

Trained by :func:`promptevc.train.loop.fit` (AdamW with warm-up and exponential decay,
PromptEVC §3.1: 2e-4, 0.999875). Each step reconstructs a length-bucketed batch of
utterances teacher-forced (:meth:`PromptEVC.forward`) and minimises :func:`acoustic_losses`;
with ``--evaluator`` the frozen emotion evaluator gives e_ref and an emotion loss on the
generated mel.

Data-dependent fields are derived when the task is built: the AudioConfig and speaker backbone
from ``DATA/feats_config.yaml``, ``model.content.num_units`` from ``--units``,
``model.speaker.in_dim`` from the speaker embeddings, ``model.ref_dim`` from the evaluator.
The experiment dir is self-contained for export: the k-means units (``EXP/units/``) and the
evaluator release (``EXP/evaluator/``) are copied into it. A release holds ``config.yaml``
(``audio`` + ``model``), ``model.*`` weights (the frozen text encoder is referenced by id and
revision, not stored), ``units.*`` tensors (k-means centroids + content normalisation), and,
when an evaluator was used, a copy of it in ``RELEASE/evaluator/`` (for ``--ref`` conversion)
with ``reference.*`` tensors: :class:`~promptevc.models.intensity.ReferenceIntensity` fitted on
the evaluator's raw embeddings of the training utterances and their labels, so that ``--ref``
reads a reference's intensity the way the pseudo-labels rank it. ``meta.json`` records the F0
tracker of the training features (``f0_method``: the engine tracks the source with it).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from promptevc.config import check_audio_compatible, to_dict
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.config import AcousticConfig, LossWeights
from promptevc.models.descriptor import package_version, text_encoder_revision
from promptevc.models.vocoder import default_vocoder_for
from promptevc.train.config import TrainConfig, derive
from promptevc.train.loop import Env, Parts, ReleaseContents, StepContext, Task

log = logging.getLogger(__name__)

UNITS_SUBDIR = "units"
EVALUATOR_SUBDIR = "evaluator"
REFERENCE_FILE = "reference_intensity.safetensors"  # EXP/: ReferenceIntensity of the evaluator


@dataclasses.dataclass
class AcousticDataConfig:
    """What the acoustic model's batches hold."""

    max_frames: int = 1000  # longer utterances are cropped at random (whole unit runs)
    # Intensity of emotional utterances when the data dir has no utt2intensity (neutral is 0).
    default_intensity: float = 0.5
    # Fraction of items whose prompts come from the held-out template split: 0 keeps held-out
    # phrasings unseen, as the evaluation of generalisation needs.
    heldout_prompt_fraction: float = 0.0
    stats_utts: int = 500  # utterances for the mel mean/std


@dataclasses.dataclass
class AcousticExperimentConfig(AcousticConfig):
    """Top level of ``acoustic_*.yaml``: the release part (audio, model) + how it is trained."""

    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    data: AcousticDataConfig = dataclasses.field(default_factory=AcousticDataConfig)
    loss: LossWeights = dataclasses.field(default_factory=LossWeights)


@torch.no_grad()
def compute_references(evaluator: torch.nn.Module, dataset: Any, device: torch.device,
                       batch_size: int = 16) -> dict[str, np.ndarray]:
    """Raw evaluator embeddings e_ref for every utterance of ``dataset`` (whole utterances)."""
    from tqdm import tqdm

    out: dict[str, np.ndarray] = {}
    order = sorted(range(len(dataset)), key=lambda i: dataset.num_frames[i])
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


class AcousticTask(Task):
    kind = "acoustic"
    config_class = AcousticExperimentConfig
    best_metric = ("postnet", "min")

    def __init__(self, config: AcousticExperimentConfig, data_dir: str | Path, *, valid_dir: str | Path | None = None,
                 units_dir: str | Path | None = None, evaluator: str | None = None,
                 text_encoder: tuple[Any, torch.nn.Module] | None = None) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.valid_dir = Path(valid_dir) if valid_dir is not None else None
        self.units_dir, self.evaluator_name, self.text_encoder = units_dir, evaluator, text_encoder
        self.units = self.evaluator = self.model = self.valid_set = None
        self.reference_intensity = None
        self.f0_method: str | None = None

    # ---------------------------------------------------------------- build
    def _derive_from_data(self, first_item: dict[str, Any]) -> None:
        """Fill the data-dependent fields of the config (see the module docstring)."""
        from promptevc.data.dump import FEATS_CONFIG, read_feats_config

        cfg, default = self.config, AcousticExperimentConfig()
        audio, model = cfg.audio, cfg.model
        if (self.data_dir / FEATS_CONFIG).is_file():
            feats_audio, _, raw = read_feats_config(self.data_dir)
            method = raw.get("f0_method")
            self.f0_method = str(method) if method else None
            if audio != default.audio:
                check_audio_compatible(audio, feats_audio, "config", f"features in {self.data_dir}")
            audio = feats_audio
            backbone = (raw.get("speaker") or {}).get("backbone")
            if backbone:
                model = dataclasses.replace(model, speaker=dataclasses.replace(model.speaker, backbone=derive(
                    model.speaker.backbone, default.model.speaker.backbone, str(backbone), "model.speaker.backbone",
                    f"{self.data_dir / FEATS_CONFIG}")))
        in_dim = derive(model.speaker.in_dim, default.model.speaker.in_dim, int(first_item["spk_emb"].shape[0]),
                        "model.speaker.in_dim", f"the speaker embeddings of {self.data_dir}")
        model = dataclasses.replace(model, speaker=dataclasses.replace(model.speaker, in_dim=in_dim))
        if self.units is not None:
            check_audio_compatible(audio, self.units.audio, "config", f"units in {self.units_dir}")
            k = derive(model.content.num_units, default.model.content.num_units, self.units.k,
                       "model.content.num_units", f"the k-means units of {self.units_dir}")
            model = dataclasses.replace(model, content=dataclasses.replace(model.content, num_units=k))
        if self.evaluator is not None and model.reference == "evaluator":
            # model.ref_dim sizes the label codes; evaluator references have the evaluator's size.
            model = dataclasses.replace(model, ref_dim=int(self.evaluator.embed_dim))
        self.config = dataclasses.replace(cfg, audio=audio, model=model)

    def build(self, env: Env) -> Parts:
        from promptevc.data.dataset import AcousticDataset, collate, mel_stats
        from promptevc.data.sampler import BucketBatchSampler
        from promptevc.models.evc import build_model, count_parameters

        cfg = self.config
        if self.units_dir is not None:
            from promptevc.features.content import UnitExtractor

            self.units = UnitExtractor.load(self.units_dir)
        else:
            log.warning("no --units given: the release will not be able to convert audio (no k-means centroids)")
        if self.evaluator_name is not None:
            from promptevc.models.evaluator import load_evaluator

            self.evaluator = load_evaluator(self.evaluator_name, device=str(env.device))
            self.evaluator.requires_grad_(False).eval()
        if cfg.model.reference == "evaluator" and self.evaluator is None:
            raise ConfigError("model.reference is 'evaluator': pass --evaluator RELEASE (or --set model.reference=label)")

        data = cfg.data
        train_set = AcousticDataset(
            self.data_dir, energy_scale_db=cfg.model.prosody.energy_scale_db, max_frames=data.max_frames,
            default_intensity=data.default_intensity, heldout_prompt_fraction=data.heldout_prompt_fraction,
        )
        self._derive_from_data(train_set[0])
        cfg = self.config
        if self.evaluator is not None:
            ev_audio = getattr(self.evaluator, "audio", None)
            if ev_audio is not None:
                check_audio_compatible(cfg.audio, ev_audio, "config", f"evaluator {self.evaluator_name}")
        max_unit = max(int(np.load(p).max()) for p in list(train_set.units.values())[:200])
        if max_unit >= cfg.model.content.num_units:
            raise ConfigError(f"{self.data_dir}/units.scp: unit id {max_unit} >= model.content.num_units "
                              f"{cfg.model.content.num_units}; pass the --units dir the units came from")

        refs = None
        if self.evaluator is not None:
            # Raw evaluator embeddings: e_ref (reference "evaluator") and the --ref intensity calibration.
            raw_refs = compute_references(self.evaluator, train_set, env.device)
            self.reference_intensity = fit_reference_intensity(raw_refs, train_set)
            if cfg.model.reference == "evaluator":
                refs = raw_refs
                train_set.e_ref = refs
        if self.valid_dir is not None:
            self.valid_set = AcousticDataset(
                self.valid_dir, energy_scale_db=cfg.model.prosody.energy_scale_db, max_frames=data.max_frames,
                default_intensity=data.default_intensity, crop=False,
            )
            if refs is not None:
                self.valid_set.e_ref = compute_references(self.evaluator, self.valid_set, env.device)

        model = build_model(cfg, text_encoder=self.text_encoder)
        mean, std = mel_stats(train_set, max_utts=data.stats_utts)
        ref_mean = ref_std = None
        if refs is not None:
            r = torch.from_numpy(np.stack(list(refs.values())))
            ref_mean, ref_std = r.mean(0), r.std(0) if len(r) > 1 else torch.ones(r.shape[1])
        model.set_stats(mean, std, ref_mean, ref_std)
        self.model = model
        if env.is_main:
            log.info("parameters: %s", ", ".join(f"{k} {v:,}" for k, v in count_parameters(model).items()))
        tc = cfg.train
        # Stratified by emotion: lengths follow it (sad is slower), batches should not.
        sampler = BucketBatchSampler(train_set.batch_lengths(), max_batch_size=tc.batch_size,
                                     max_batch_frames=tc.max_batch_frames, seed=tc.seed,
                                     labels=[train_set.emotion[u] for u in train_set.utts], rank=env.dist.rank,
                                     world_size=env.dist.world_size)
        return Parts(models={"model": model}, groups={"model": [p for p in model.parameters() if p.requires_grad]},
                     train_set=train_set, sampler=sampler, collate=collate)

    def provenance(self) -> dict[str, Any]:
        encoder = self.config.model.descriptor.encoder
        text_model = getattr(self.model.descriptor, "text_encoder", None) if self.model is not None else None
        # GE2E weights ship in the resemblyzer wheel: its version pins them.
        backbone = self.config.model.speaker.backbone
        return {"text_encoder_revision": text_encoder_revision(encoder, text_model),
                "speaker_revision": package_version("resemblyzer") if backbone == "ge2e" else None,
                "f0_method": self.f0_method}

    def write_experiment_files(self, exp_dir: Path) -> None:
        if self.units is not None:
            self.units.save(exp_dir / UNITS_SUBDIR)
        if self.evaluator_name is not None:
            _copy_release(self.evaluator_name, exp_dir / EVALUATOR_SUBDIR)
        if self.reference_intensity is not None:
            from safetensors.torch import save_file

            save_file(self.reference_intensity.state_tensors(), str(exp_dir / REFERENCE_FILE))

    # ---------------------------------------------------------------- steps
    def _losses(self, out: dict[str, torch.Tensor], batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        from promptevc.train.losses import acoustic_losses

        out = {k: v.float() if torch.is_floating_point(v) else v for k, v in out.items()}
        mel_dn = self.model.denormalise_mel(out["mel_post"]) if self.evaluator is not None else None
        return acoustic_losses(out, batch, self.config.loss, self.evaluator, mel_dn)

    def train_step(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        loss, terms = self._losses(ctx.wrapped["model"](batch), batch)
        ctx.backward("model", loss)
        return {"loss": loss.detach(), **terms}

    def validate(self, env: Env, step: int) -> dict[str, float]:
        from promptevc.data.dataset import collate
        from promptevc.data.sampler import BucketBatchSampler
        from promptevc.train.loop import to_device

        if self.valid_set is None:
            return {}
        tc = self.config.train
        sampler = BucketBatchSampler(self.valid_set.batch_lengths(), max_batch_size=tc.batch_size,
                                     max_batch_frames=tc.max_batch_frames, seed=tc.seed, shuffle=False)
        loader = torch.utils.data.DataLoader(self.valid_set, batch_sampler=sampler, collate_fn=collate)
        sums: dict[str, torch.Tensor] = {}
        n = 0
        for i, batch in enumerate(loader):
            if tc.valid_max_batches and i >= tc.valid_max_batches:
                break
            batch = to_device(batch, env.device)
            _, terms = self._losses(self.model(batch), batch)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
        return {k: float(v) / max(n, 1) for k, v in sums.items()}

    # ---------------------------------------------------------------- release
    @classmethod
    def release(cls, config: AcousticExperimentConfig, payload: dict[str, Any], exp_dir: Path) -> ReleaseContents:
        from promptevc.features.content import CONTENT_CONFIG_FILE, UnitExtractor
        from promptevc.prompt.control import EMOTIONS
        from promptevc.train.experiment import read_experiment_info

        state = payload["models"].get("model")
        if state is None:
            raise ModelLoadError(f"{exp_dir}: the checkpoint holds no acoustic model")
        info = read_experiment_info(exp_dir)
        tensors = {f"model.{k}": v for k, v in state.items()}
        meta: dict[str, Any] = {
            "audio": to_dict(config.audio),
            "emotions": list(EMOTIONS),
            "text_encoder": config.model.descriptor.encoder,
            "text_encoder_revision": info.get("text_encoder_revision"),
            "speaker_backbone": config.model.speaker.backbone,
            "speaker_revision": info.get("speaker_revision"),
            "vocoder": default_vocoder_for(config.audio),
            "f0_method": info.get("f0_method"),
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
        if evaluator_dir.is_dir() and (exp_dir / REFERENCE_FILE).is_file():
            from safetensors.torch import load_file

            tensors.update({f"reference.{k}": v for k, v in load_file(str(exp_dir / REFERENCE_FILE)).items()})
        release_config = to_dict(AcousticConfig(audio=config.audio, model=config.model))
        return ReleaseContents(config=release_config, tensors=tensors, meta=meta,
                               folders={EVALUATOR_SUBDIR: evaluator_dir} if evaluator_dir.is_dir() else {})


def fit_reference_intensity(raw_refs: dict[str, np.ndarray], dataset: Any) -> Any:
    """:class:`ReferenceIntensity` from raw evaluator embeddings (utt -> (E,)) and the dataset's labels."""
    from promptevc.models.intensity import ReferenceIntensity
    from promptevc.prompt.control import EMOTIONS

    utts = [u for u in dataset.utts if u in raw_refs]
    emb = torch.from_numpy(np.stack([raw_refs[u] for u in utts]))
    labels = torch.tensor([dataset.emotion[u] for u in utts])
    neutral = EMOTIONS.index("neutral")
    if not (labels == neutral).any():
        log.warning("no neutral training utterances: the release cannot calibrate --ref intensities")
        return None
    return ReferenceIntensity.fit(emb, labels, len(EMOTIONS), neutral_index=neutral)


def _copy_release(name: str, dest: Path) -> None:
    """Copy a release folder (resolved through the hub) into the experiment dir."""
    from promptevc.hub import resolve_path

    src = resolve_path(name, kind="evaluator release")
    if dest.exists() and dest.resolve() == src.resolve():
        return
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
