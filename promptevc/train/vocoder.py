"""Vocoder training and fine-tuning as a task (``promptevc train-vocoder``, recipe stage 7).

The recipe of the HiFi-GAN paper, trained by :func:`promptevc.train.loop.fit` with two
optimisers: the generator against a multi-period and a multi-scale discriminator
(:mod:`promptevc.models.discriminators`) with least-squares GAN losses, plus L1 on log-mels (x45)
and L1 feature matching on every discriminator layer (x2); AdamW with betas (0.8, 0.99) and
exponential learning-rate decay; random segments.

The generator is built by name through :mod:`promptevc.models.vocoder.registry` (``architecture:``
in the config: ``hifigan`` or ``vocos``; ``generator:`` holds that architecture's own config,
parsed strictly), so another generator type trains by config once it is registered there.
Fine-tuning (``--init``) starts the generator from a pretrained vocoder (our release of either
architecture, the packaged ``hifigan-universal``, an official HiFi-GAN checkpoint, or a
transformers SpeechT5HifiGan, converted), taking its architecture, shape and AudioConfig. Input mels are computed from the
audio or read from ``--mels-from DIR/<utt>.npy`` (teacher-forced acoustic-model mels); the loss
target is always the real audio. The release holds the generator only, without weight norm.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from promptevc.config import AudioConfig, to_dict
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.discriminators import DiscriminatorConfig, MultiPeriodDiscriminator, MultiScaleDiscriminator
from promptevc.models.vocoder.registry import (
    build_generator,
    generator_spec,
    parse_generator_config,
    plain_state_dict,
    release_contents,
)
from promptevc.train.config import TrainConfig
from promptevc.train.loop import Env, Parts, ReleaseContents, StepContext, Task

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class VocoderDataConfig:
    """Training segments: ``segment_frames * hop_length`` samples per example (32 * 256 = 8192)."""

    segment_frames: int = 32
    # The last ``valid_utts`` utterances of the data dir are held out for the validation mel loss.
    valid_utts: int = 4
    valid_max_frames: int = 400
    # Folder of model-generated mels <utt>.npy (n_mels, F); null = ground-truth mels from audio.
    mels_from: str | None = None


@dataclasses.dataclass
class VocoderLossConfig:
    mel_weight: float = 45.0
    feature_matching_weight: float = 2.0
    adversarial_weight: float = 1.0


def _vocoder_train_defaults() -> TrainConfig:
    # HiFi-GAN: AdamW 2e-4, betas (0.8, 0.99), lr x0.999 per epoch (~1000 steps on LJSpeech), no clipping.
    return TrainConfig(learning_rate=2e-4, betas=(0.8, 0.99), lr_decay=0.999999, grad_clip=None, batch_size=16)


@dataclasses.dataclass
class VocoderExperimentConfig:
    """Top level of ``vocoder_*.yaml``."""

    audio: AudioConfig = dataclasses.field(default_factory=AudioConfig)
    architecture: str = "hifigan"  # a generator of promptevc.models.vocoder.registry: hifigan, vocos
    generator: dict[str, Any] = dataclasses.field(default_factory=dict)  # that architecture's config
    discriminator: DiscriminatorConfig = dataclasses.field(default_factory=DiscriminatorConfig)
    train: TrainConfig = dataclasses.field(default_factory=_vocoder_train_defaults)
    data: VocoderDataConfig = dataclasses.field(default_factory=VocoderDataConfig)
    loss: VocoderLossConfig = dataclasses.field(default_factory=VocoderLossConfig)
    # Pretrained vocoder to fine-tune (path or repo id); its generator shape and AudioConfig
    # replace ``generator`` and ``audio`` of this config.
    init: str | None = None

    def __post_init__(self) -> None:
        generator_spec(self.architecture)  # an unknown architecture is a ConfigError naming the choices
        # Strict parse, then the complete mapping (every key can be overridden with --set).
        self.generator = to_dict(self.generator_config)

    @property
    def generator_config(self) -> Any:
        return parse_generator_config(self.architecture, self.generator)


def load_init_generator(name: str, device: str = "cpu") -> tuple[str, Any, AudioConfig, dict[str, torch.Tensor]]:
    """Architecture, generator config, AudioConfig and plain weights of a pretrained vocoder to fine-tune."""
    from promptevc.models.vocoder import load_vocoder
    from promptevc.models.vocoder.base import GeneratorVocoder
    from promptevc.models.vocoder.registry import architecture_of
    from promptevc.models.vocoder.speecht5 import SpeechT5Vocoder, speecht5_to_hifigan

    vocoder = load_vocoder(name, device="cpu")
    if isinstance(vocoder, GeneratorVocoder):
        gen = vocoder.generator
        return (architecture_of(gen), gen.config, vocoder.audio_config,
                {k: v.clone() for k, v in gen.state_dict().items()})
    if isinstance(vocoder, SpeechT5Vocoder):
        gen_cfg, state = speecht5_to_hifigan(vocoder.model)
        return "hifigan", gen_cfg, vocoder.audio_config, state
    raise ConfigError(f"--init {name}: cannot fine-tune a {type(vocoder).__name__}; pass a HiFi-GAN or Vocos vocoder")


def _build(config: VocoderExperimentConfig, state: dict[str, torch.Tensor] | None = None,
           what: str = "generator") -> nn.Module:
    """The generator of ``config`` as checkpoints hold it (weight norm where its architecture
    trains with it), optionally loaded strictly from plain weights ``state``."""
    from promptevc.release import load_state_strict

    generator = build_generator(config.architecture, config.generator_config, config.audio)
    if state is not None:
        load_state_strict(generator, state, what)
    if generator_spec(config.architecture).weight_norm:
        generator.apply_weight_norm()  # trained with weight norm, as the HiFi-GAN paper
    return generator


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------


def _discriminate(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor):
    """Score real and generated audio (B, 1, T) in one forward pass (one DDP forward per backward).

    Returns (real scores, fake scores, real feature maps, fake feature maps), each a list over
    the sub-discriminators.
    """
    n = real.shape[0]
    scores, feats = disc(torch.cat([real, fake]))
    return (
        [s[:n] for s in scores],
        [s[n:] for s in scores],
        [[f[:n] for f in fs] for fs in feats],
        [[f[n:] for f in fs] for fs in feats],
    )


@torch.no_grad()
def validation_mel_l1(generator: nn.Module, dataset: Any, mel_fn: nn.Module, device: torch.device) -> float:
    """Mean L1 between log-mels of the real and vocoded held-out utterances."""
    total = 0.0
    for i in range(len(dataset)):
        mel, wav = dataset[i]
        fake = generator(mel.unsqueeze(0).to(device)).squeeze(1).float()
        total += float(F.l1_loss(mel_fn(fake), mel_fn(wav.unsqueeze(0).to(device))))
    return total / max(1, len(dataset))


class VocoderTask(Task):
    kind = "vocoder"
    config_class = VocoderExperimentConfig
    best_metric = ("mel_l1", "min")
    validate_at_start = True  # the starting point of a fine-tuning run is worth seeing

    def __init__(self, config: VocoderExperimentConfig, data_dir: str | Path) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.generator = self.valid_set = self.mel_fn = None

    def resumed_config(self, exp_dir: Path) -> VocoderExperimentConfig:
        # The checkpoint's generator shape and audio settings are those of the saved config
        # (possibly taken from --init), whatever --config says; init weights are not needed.
        from promptevc.train.experiment import load_saved_config

        saved = load_saved_config(exp_dir, VocoderExperimentConfig)
        return dataclasses.replace(self.config, architecture=saved.architecture, generator=saved.generator,
                                   audio=saved.audio, init=saved.init)

    def build(self, env: Env) -> Parts:
        from promptevc.data.sampler import ShuffledBatches
        from promptevc.data.wav_dataset import VocoderDataset, check_vocoder_data
        from promptevc.features.mel import MelSpectrogram

        cfg = self.config
        utts = check_vocoder_data(self.data_dir, cfg.data.mels_from)
        init_state = None
        if cfg.init and not env.resuming:
            arch, gen_cfg, audio, init_state = load_init_generator(cfg.init)
            if arch != cfg.architecture or to_dict(gen_cfg) != cfg.generator or audio != cfg.audio:
                log.info("fine-tuning %s: architecture, generator shape and audio settings come from it", cfg.init)
            cfg = self.config = dataclasses.replace(cfg, architecture=arch, generator=to_dict(gen_cfg), audio=audio)
        # build_generator refuses a generator whose hop differs from audio.hop_length.
        generator = _build(cfg, init_state, f"--init {cfg.init}")

        n_valid = min(cfg.data.valid_utts, max(0, len(utts) - 1))
        train_utts, valid_utts = (utts[:-n_valid], utts[-n_valid:]) if n_valid else (utts, [])
        data = cfg.data
        train_set = VocoderDataset(self.data_dir, train_utts, cfg.audio, data.segment_frames, data.mels_from)
        self.valid_set = VocoderDataset(self.data_dir, valid_utts, cfg.audio, None, data.mels_from,
                                        max_frames=data.valid_max_frames)
        self.generator = generator
        mpd = MultiPeriodDiscriminator(cfg.discriminator)
        msd = MultiScaleDiscriminator(cfg.discriminator)
        # The loss mel takes sqrt(power + 1e-9) as HiFi-GAN's does: the gradient of sqrt(0) is
        # infinite, and the half-precision output of a young generator has exact zeros.
        loss_audio = dataclasses.replace(cfg.audio, magnitude_eps=max(cfg.audio.magnitude_eps, 1e-9))
        self.mel_fn = MelSpectrogram(loss_audio).to(env.device)
        tc = cfg.train
        sampler = ShuffledBatches(len(train_set), batch_size=tc.batch_size, seed=tc.seed, rank=env.dist.rank,
                                  world_size=env.dist.world_size)
        return Parts(models={"generator": generator, "mpd": mpd, "msd": msd},
                     groups={"generator": list(generator.parameters()),
                             "discriminator": list(mpd.parameters()) + list(msd.parameters())},
                     train_set=train_set, sampler=sampler)

    def _mel_l1(self, env: Env, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with env.fp32():  # log-mels of half-precision audio are too coarse for the mel loss
            return F.l1_loss(self.mel_fn(fake.float()), self.mel_fn(real.float()))

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        from promptevc.train.losses import discriminator_loss, feature_matching_loss, generator_adversarial_loss

        mel, wav = batch
        wav = wav.unsqueeze(1)
        fake = ctx.wrapped["generator"](mel)

        # Discriminators: real -> 1, generated -> 0.
        real_p, fake_p, _, _ = _discriminate(ctx.wrapped["mpd"], wav, fake.detach())
        real_s, fake_s, _, _ = _discriminate(ctx.wrapped["msd"], wav, fake.detach())
        loss_d = discriminator_loss(real_p, fake_p) + discriminator_loss(real_s, fake_s)
        ctx.backward("discriminator", loss_d)

        # Generator: mel L1 + feature matching + adversarial. The updated discriminators are
        # called unwrapped: their gradients are not wanted here (only the generator's are filled).
        loss_mel = self._mel_l1(ctx.env, fake.squeeze(1), wav.squeeze(1))
        _, fake_p, feats_real_p, feats_fake_p = _discriminate(ctx.models["mpd"], wav, fake)
        _, fake_s, feats_real_s, feats_fake_s = _discriminate(ctx.models["msd"], wav, fake)
        loss_fm = feature_matching_loss(feats_real_p, feats_fake_p) + feature_matching_loss(feats_real_s, feats_fake_s)
        loss_adv = generator_adversarial_loss(fake_p) + generator_adversarial_loss(fake_s)
        w = self.config.loss
        loss_g = w.mel_weight * loss_mel + w.feature_matching_weight * loss_fm + w.adversarial_weight * loss_adv
        ctx.backward("generator", loss_g)
        return {"mel_l1": loss_mel.detach(), "feature_matching": loss_fm.detach(),
                "generator_adv": loss_adv.detach(), "discriminator": loss_d.detach()}

    def validate(self, env: Env, step: int) -> dict[str, float]:
        if not len(self.valid_set):
            return {}
        with env.fp32():
            return {"mel_l1": validation_mel_l1(self.generator, self.valid_set, self.mel_fn, env.device)}

    @classmethod
    def release(cls, config: VocoderExperimentConfig, payload: dict[str, Any], exp_dir: Path) -> ReleaseContents:
        state = payload["models"].get("generator")
        if state is None:
            raise ModelLoadError(f"{exp_dir}: the checkpoint holds no generator")
        from promptevc.release import load_state_strict

        generator = _build(config)
        load_state_strict(generator, state, f"{exp_dir}: generator")
        release_config, meta = release_contents(config.architecture, config.generator_config, config.audio)
        return ReleaseContents(config=release_config, tensors=plain_state_dict(generator),
                               meta={**meta, "init": config.init})
