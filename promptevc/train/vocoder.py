"""HiFi-GAN training and fine-tuning (``promptevc train-vocoder``), and its release export.

Recipe of the HiFi-GAN paper: the generator is trained against a multi-period discriminator
(MPD: the waveform folded into 2-D with periods 2, 3, 5, 7, 11) and a multi-scale
discriminator (MSD: the raw, 2x and 4x average-pooled waveform) with least-squares GAN
losses, plus L1 on log-mels (x45) and L1 feature matching on every discriminator layer (x2).
AdamW with betas (0.8, 0.99) and exponential learning-rate decay; random segments.

Fine-tuning (``--init``) starts the generator from a pretrained vocoder (our release, an
official HiFi-GAN checkpoint, or a transformers SpeechT5HifiGan, converted), taking its
generator shape and AudioConfig. Input mels are computed from the audio (ground truth) or,
with ``--mels-from DIR``, read from ``DIR/<utt>.npy`` (n_mels, F) as written by the acoustic
model in teacher-forced mode, so the vocoder learns to clean up the model's mels; the loss
target is always the real audio.

The experiment dir holds resume checkpoints (generator, both discriminators, optimisers,
schedulers, RNG); ``export_release`` writes a generator-only release without weight norm.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from promptevc.config import AudioConfig, from_dict, load_yaml, to_dict
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.vocoder.hifigan import HiFiGANConfig
from promptevc.models.vocoder.registry import (
    build_generator,
    generator_spec,
    parse_generator_config,
    write_vocoder_release,
)

log = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class VocoderDataConfig:
    """Training segments. ``segment_frames * hop_length`` samples per example (32 * 256 = 8192)."""

    segment_frames: int = 32
    batch_size: int = 16
    num_workers: int = 2
    # The last ``valid_utts`` utterances of the data dir are held out for the validation mel loss.
    valid_utts: int = 4
    valid_max_frames: int = 400
    # Folder of model-generated mels <utt>.npy (n_mels, F); null = ground-truth mels from audio.
    mels_from: str | None = None


@dataclasses.dataclass
class DiscriminatorConfig:
    """MPD and MSD widths; the defaults are the paper's."""

    periods: list[int] = dataclasses.field(default_factory=lambda: [2, 3, 5, 7, 11])
    # Conv2d channels of each period discriminator; all but the last layer have stride 3.
    mpd_channels: list[int] = dataclasses.field(default_factory=lambda: [32, 128, 512, 1024, 1024])
    # Conv1d channels / groups of each scale discriminator (kernels 15, 41 x5, 5; strides 1,2,2,4,4,1,1).
    msd_channels: list[int] = dataclasses.field(default_factory=lambda: [128, 128, 256, 512, 1024, 1024, 1024])
    msd_groups: list[int] = dataclasses.field(default_factory=lambda: [1, 4, 16, 16, 16, 16, 1])
    msd_scales: int = 3

    def __post_init__(self) -> None:
        if len(self.msd_channels) != 7 or len(self.msd_groups) != 7:
            raise ValueError("msd_channels and msd_groups need 7 entries each")
        ins = [1] + self.msd_channels[:-1]
        for c_in, c_out, g in zip(ins, self.msd_channels, self.msd_groups, strict=True):
            if c_in % g or c_out % g:
                raise ValueError(f"msd group count {g} must divide channels {c_in} -> {c_out}")
        if not self.periods or not self.mpd_channels:
            raise ValueError("periods and mpd_channels must not be empty")


@dataclasses.dataclass
class VocoderOptimConfig:
    learning_rate: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01
    # The learning rate is multiplied by ``lr_decay`` every ``lr_decay_every_steps`` steps
    # (smoothly, per step); 0.999 per ~1000 steps is the paper's 0.999 per epoch on LJSpeech.
    lr_decay: float = 0.999
    lr_decay_every_steps: int = 1000
    grad_clip: float | None = None


@dataclasses.dataclass
class VocoderLossConfig:
    mel_weight: float = 45.0
    feature_matching_weight: float = 2.0
    adversarial_weight: float = 1.0


@dataclasses.dataclass
class VocoderLoopConfig:
    max_steps: int = 500_000
    log_every_steps: int = 100
    valid_every_steps: int = 5000
    save_every_steps: int = 5000
    keep_checkpoints: int = 3
    seed: int = 1234
    # Pretrained vocoder to fine-tune (path or repo id); its generator shape and AudioConfig
    # replace ``generator`` and ``audio`` of this config.
    init: str | None = None


@dataclasses.dataclass
class VocoderTrainingConfig:
    """Everything ``train-vocoder`` reads (``promptevc/configs/vocoder_*.yaml``)."""

    audio: AudioConfig = dataclasses.field(default_factory=AudioConfig)
    # Generator architecture (promptevc.models.vocoder.registry: hifigan, vocos) and its settings.
    architecture: str = "hifigan"
    generator: Any = dataclasses.field(default_factory=HiFiGANConfig)
    discriminator: DiscriminatorConfig = dataclasses.field(default_factory=DiscriminatorConfig)
    data: VocoderDataConfig = dataclasses.field(default_factory=VocoderDataConfig)
    optim: VocoderOptimConfig = dataclasses.field(default_factory=VocoderOptimConfig)
    loss: VocoderLossConfig = dataclasses.field(default_factory=VocoderLossConfig)
    train: VocoderLoopConfig = dataclasses.field(default_factory=VocoderLoopConfig)

    def __post_init__(self) -> None:
        self.generator = parse_generator_config(self.architecture, self.generator)


def resolve_config_path(name: str | Path) -> Path:
    """A config file path, or the name of a packaged one (``vocoder_tiny``, ``vocoder_v1``)."""
    path = Path(name)
    if path.exists():
        return path
    packaged = CONFIG_DIR / f"{Path(name).stem}.yaml"
    if packaged.exists() and path.parent == Path("."):
        return packaged
    choices = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("vocoder_*.yaml")))
    raise ConfigError(f"{name}: no such config file; pass a YAML path or one of: {choices}")


def load_training_config(name: str | Path, overrides: Sequence[str] = ()) -> VocoderTrainingConfig:
    return load_yaml(VocoderTrainingConfig, resolve_config_path(name), overrides)


# --------------------------------------------------------------------------------------------
# Discriminators
# --------------------------------------------------------------------------------------------


class PeriodDiscriminator(nn.Module):
    """wav (B, 1, T) folded to (B, 1, T / p, p): 2-D convs over time with kernel (5, 1)."""

    def __init__(self, period: int, channels: list[int], spectral: bool = False) -> None:
        super().__init__()
        norm = spectral_norm if spectral else weight_norm
        self.period = period
        ins = [1] + channels[:-1]
        self.convs = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip(ins, channels, strict=True)):
            stride = 1 if i == len(channels) - 1 else 3
            self.convs.append(norm(nn.Conv2d(c_in, c_out, (5, 1), (stride, 1), padding=(2, 0))))
        self.conv_post = norm(nn.Conv2d(channels[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """wav (B, 1, T) -> (scores (B, N), feature maps)."""
        b, c, t = wav.shape
        if t % self.period:
            # Reflect-pad to a whole number of periods (as the paper's implementation).
            wav = F.pad(wav, (0, self.period - t % self.period), mode="reflect")
            t = wav.shape[-1]
        x = wav.view(b, c, t // self.period, self.period)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            features.append(x)
        x = self.conv_post(x)
        features.append(x)
        return x.flatten(1), features


class ScaleDiscriminator(nn.Module):
    """Strided, grouped 1-D convs over a (possibly pooled) waveform."""

    KERNELS = (15, 41, 41, 41, 41, 41, 5)
    STRIDES = (1, 2, 2, 4, 4, 1, 1)

    def __init__(self, channels: list[int], groups: list[int], spectral: bool = False) -> None:
        super().__init__()
        norm = spectral_norm if spectral else weight_norm
        ins = [1] + channels[:-1]
        self.convs = nn.ModuleList(
            norm(nn.Conv1d(c_in, c_out, k, s, groups=g, padding=(k - 1) // 2))
            for c_in, c_out, k, s, g in zip(ins, channels, self.KERNELS, self.STRIDES, groups, strict=True)
        )
        self.conv_post = norm(nn.Conv1d(channels[-1], 1, 3, 1, padding=1))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = wav
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            features.append(x)
        x = self.conv_post(x)
        features.append(x)
        return x.flatten(1), features


class MultiPeriodDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, config.mpd_channels) for p in config.periods)

    def forward(self, wav: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        """wav (B, 1, T) -> (scores per discriminator, feature maps per discriminator)."""
        outs = [d(wav) for d in self.discriminators]
        return [o[0] for o in outs], [o[1] for o in outs]


class MultiScaleDiscriminator(nn.Module):
    """The first scale sees raw audio (spectral norm, as in the paper); the others 2x, 4x pooled."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(config.msd_channels, config.msd_groups, spectral=i == 0)
            for i in range(config.msd_scales)
        )
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, wav: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        scores, features = [], []
        for i, d in enumerate(self.discriminators):
            if i > 0:
                wav = self.pool(wav)
            s, f = d(wav)
            scores.append(s)
            features.append(f)
        return scores, features


# --------------------------------------------------------------------------------------------
# Losses (least-squares GAN, as HiFi-GAN)
# --------------------------------------------------------------------------------------------


def discriminator_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """sum over discriminators of mean((1 - D(y))^2) + mean(D(G(x))^2)."""
    return sum(torch.mean((1 - r) ** 2) + torch.mean(f**2) for r, f in zip(real, fake, strict=True))


def generator_adversarial_loss(fake: list[torch.Tensor]) -> torch.Tensor:
    """sum over discriminators of mean((1 - D(G(x)))^2)."""
    return sum(torch.mean((1 - f) ** 2) for f in fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """sum over discriminators and layers of L1(features(y), features(G(x))), real detached."""
    return sum(
        torch.mean(torch.abs(r.detach() - f)) for real_d, fake_d in zip(real, fake, strict=True) for r, f in zip(real_d, fake_d, strict=True)
    )


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


class VocoderDataset(torch.utils.data.Dataset):
    """(mel (n_mels, S), wav (S * hop,)) pairs from a Kaldi data dir.

    ``segment_frames`` S > 0 cuts a random segment (training); ``None`` returns the whole
    utterance cut to ``max_frames`` (validation). Input mels come from the audio, or from
    ``mels_from/<utt>.npy``; the waveform is padded or trimmed to exactly F * hop samples so
    mel frame i always lines up with samples [i * hop, (i + 1) * hop).
    """

    def __init__(
        self,
        data_dir: str | Path,
        utts: list[str],
        audio: AudioConfig,
        segment_frames: int | None,
        mels_from: str | Path | None = None,
        max_frames: int | None = None,
    ) -> None:
        from promptevc.data.kaldi import DataDir

        self.data = DataDir(data_dir)
        self.utts = utts
        self.audio = audio
        self.segment_frames = segment_frames
        self.mels_from = Path(mels_from) if mels_from else None
        self.max_frames = max_frames
        self._mel = None

    def __len__(self) -> int:
        return len(self.utts)

    def _mel_module(self):
        if self._mel is None:  # built lazily so each DataLoader worker has its own
            from promptevc.features.mel import MelSpectrogram

            self._mel = MelSpectrogram(self.audio)
        return self._mel

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from promptevc.audio import load_audio

        utt = self.utts[index]
        hop = self.audio.hop_length
        wav = torch.from_numpy(load_audio(self.data.wav_path(utt), self.audio))
        seg = self.segment_frames
        if self.mels_from is not None:
            path = self.mels_from / f"{utt}.npy"
            if not path.exists():
                raise ModelLoadError(f"{path}: no model mel for utterance {utt}; write one .npy per utt in wav.scp")
            mel = torch.from_numpy(np.load(path).astype(np.float32))
            if mel.dim() != 2 or mel.shape[0] != self.audio.n_mels:
                raise ConfigError(f"{path}: expected a mel of shape ({self.audio.n_mels}, frames), got {tuple(mel.shape)}")
            expected = self.audio.num_frames(len(wav))
            if abs(mel.shape[1] - expected) > 2:
                raise ConfigError(
                    f"{path}: {mel.shape[1]} frames but the audio has {expected}; mels must be teacher-forced "
                    "(frame-aligned with the recording)"
                )
        else:
            if seg and len(wav) < seg * hop:
                wav = F.pad(wav, (0, seg * hop - len(wav)))
            with torch.no_grad():
                mel = self._mel_module()(wav.unsqueeze(0))[0]
        frames = mel.shape[1]
        wav = F.pad(wav, (0, max(0, frames * hop - len(wav))))[: frames * hop]
        if seg:
            if frames < seg:  # a model mel shorter than a segment: pad with its quietest value
                mel = F.pad(mel, (0, seg - frames), value=float(mel.min()))
                wav = F.pad(wav, (0, (seg - frames) * hop))
                frames = seg
            start = random.randint(0, frames - seg)
            return mel[:, start : start + seg], wav[start * hop : (start + seg) * hop]
        if self.max_frames and frames > self.max_frames:
            mel, wav = mel[:, : self.max_frames], wav[: self.max_frames * hop]
        return mel, wav


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def check_generator_fits(config: VocoderTrainingConfig) -> None:
    if config.generator.hop_length != config.audio.hop_length:
        raise ConfigError(
            f"generator.upsample_rates {config.generator.upsample_rates} multiply to "
            f"{config.generator.hop_length}, but audio.hop_length is {config.audio.hop_length}"
        )


def check_training_data(data_dir: Path, mels_from: str | None) -> None:
    """Fail before training (not inside a DataLoader worker) on missing audio or mels."""
    from promptevc.data.kaldi import DataDir

    data = DataDir(data_dir)
    utts = data.utts
    if not utts:
        raise ConfigError(f"{data_dir / 'wav.scp'}: lists no utterances")
    missing = [u for u in utts if not data.wav_path(u).is_file()]
    if missing:
        raise ConfigError(
            f"{data_dir / 'wav.scp'}: {len(missing)} of {len(utts)} audio files are missing, "
            f"e.g. {missing[0]} -> {data.wav_path(missing[0])}"
        )
    if mels_from:
        folder = Path(mels_from)
        if not folder.is_dir():
            raise ConfigError(f"--mels-from {folder}: no such folder")
        no_mel = [u for u in utts if not (folder / f"{u}.npy").is_file()]
        if no_mel:
            raise ConfigError(
                f"--mels-from {folder}: no mel for {len(no_mel)} of {len(utts)} utterances, "
                f"e.g. {folder / (no_mel[0] + '.npy')}; write one <utt>.npy (n_mels, frames) per utterance"
            )


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


def _mel_l1(mel_fn: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """L1 between log-mels of two equal-length waveforms (B, T)."""
    return F.l1_loss(mel_fn(fake), mel_fn(real))


@torch.no_grad()
def validation_mel_l1(generator: nn.Module, dataset: VocoderDataset, mel_fn: nn.Module, device: str) -> float:
    """Mean L1 between log-mels of the real and vocoded held-out utterances."""
    was_training = generator.training
    generator.eval()
    total = 0.0
    for i in range(len(dataset)):
        mel, wav = dataset[i]
        fake = generator(mel.unsqueeze(0).to(device)).squeeze(1)
        total += float(_mel_l1(mel_fn, fake, wav.unsqueeze(0).to(device)))
    generator.train(was_training)
    return total / max(1, len(dataset))


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


def _cycle(loader, sampler):
    epoch = 0
    while True:
        if sampler is not None:
            sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def train_vocoder(
    config: VocoderTrainingConfig,
    data_dir: str | Path,
    exp_dir: str | Path,
    device: str = "auto",
    argv: Sequence[str] | None = None,
    progress: bool = True,
) -> Path:
    """Train or fine-tune a HiFi-GAN; resume from ``exp_dir``'s latest checkpoint. Returns EXP/release."""
    from tqdm import tqdm

    from promptevc.data.kaldi import DataDir
    from promptevc.features.mel import MelSpectrogram
    from promptevc.train.checkpoint import (
        checkpoint_path,
        latest_checkpoint,
        load_checkpoint,
        prune_checkpoints,
        save_checkpoint,
    )
    from promptevc.train.distributed import barrier, cleanup, init_distributed, wrap_ddp
    from promptevc.train.experiment import Experiment

    data_dir, exp_dir = Path(data_dir), Path(exp_dir)
    if not (data_dir / "wav.scp").exists():
        raise ConfigError(f"{data_dir}: no wav.scp; pass a Kaldi data dir (--data)")
    check_training_data(data_dir, config.data.mels_from)
    init_state = None
    saved = exp_dir / "config.yaml"
    if latest_checkpoint(exp_dir) is not None and saved.exists():
        # Resuming: the checkpoint's generator shape and audio settings are those of the saved
        # config (possibly taken from --init), whatever --config says; init weights are not needed.
        previous = load_yaml(VocoderTrainingConfig, saved)
        config = dataclasses.replace(
            config, architecture=previous.architecture, generator=previous.generator, audio=previous.audio,
            train=dataclasses.replace(config.train, init=previous.train.init),
        )
    elif config.train.init:
        arch, gen_cfg, audio, init_state = load_init_generator(config.train.init)
        if arch != config.architecture or gen_cfg != config.generator or audio != config.audio:
            log.info("fine-tuning %s: generator shape and audio settings come from it", config.train.init)
        config = dataclasses.replace(config, architecture=arch, generator=gen_cfg, audio=audio)
    check_generator_fits(config)

    info = init_distributed(device)
    device = info.device
    exp = Experiment(exp_dir, "vocoder", config, argv, is_main=info.is_main)
    try:
        random.seed(config.train.seed + info.rank)
        np.random.seed(config.train.seed + info.rank)
        torch.manual_seed(config.train.seed)

        utts = DataDir(data_dir).utts
        n_valid = min(config.data.valid_utts, max(0, len(utts) - 1))
        train_utts, valid_utts = (utts[:-n_valid], utts[-n_valid:]) if n_valid else (utts, [])
        if not train_utts:
            raise ConfigError(f"{data_dir}: wav.scp lists no utterances")
        mels_from = config.data.mels_from
        train_set = VocoderDataset(data_dir, train_utts, config.audio, config.data.segment_frames, mels_from)
        valid_set = VocoderDataset(
            data_dir, valid_utts, config.audio, None, mels_from, max_frames=config.data.valid_max_frames
        )
        sampler = (
            torch.utils.data.distributed.DistributedSampler(train_set, info.world_size, info.rank, shuffle=True)
            if info.distributed
            else None
        )
        loader = torch.utils.data.DataLoader(
            train_set,
            batch_size=config.data.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            num_workers=config.data.num_workers,
            drop_last=len(train_set) >= config.data.batch_size,
            persistent_workers=config.data.num_workers > 0,
        )

        generator = build_generator(config.architecture, config.generator, config.audio)
        if init_state is not None:
            from promptevc.release import load_state_strict

            load_state_strict(generator, init_state, f"--init {config.train.init}")
        if generator_spec(config.architecture).weight_norm:
            generator.apply_weight_norm()
        generator.to(device)
        mpd = MultiPeriodDiscriminator(config.discriminator).to(device)
        msd = MultiScaleDiscriminator(config.discriminator).to(device)
        mel_fn = MelSpectrogram(config.audio).to(device)

        opt = config.optim
        optim_g = torch.optim.AdamW(generator.parameters(), opt.learning_rate, betas=opt.betas, weight_decay=opt.weight_decay)
        optim_d = torch.optim.AdamW(
            list(mpd.parameters()) + list(msd.parameters()), opt.learning_rate, betas=opt.betas,
            weight_decay=opt.weight_decay,
        )
        gamma = opt.lr_decay ** (1.0 / max(1, opt.lr_decay_every_steps))
        sched_g = torch.optim.lr_scheduler.ExponentialLR(optim_g, gamma)
        sched_d = torch.optim.lr_scheduler.ExponentialLR(optim_d, gamma)

        models = {"generator": generator, "mpd": mpd, "msd": msd}
        optimizers = {"generator": optim_g, "discriminator": optim_d}
        schedulers = {"generator": sched_g, "discriminator": sched_d}
        step = 0
        resume = latest_checkpoint(exp_dir)
        if resume is not None:
            step, _ = load_checkpoint(resume, models=models, optimizers=optimizers, schedulers=schedulers,
                                      map_location=device)
            log.info("resumed from %s at step %d", resume, step)

        # Every parameter takes part in every step: no unused-parameter search needed.
        g_ddp, mpd_ddp, msd_ddp = (wrap_ddp(m, info, find_unused_parameters=False) for m in (generator, mpd, msd))
        loss_cfg = config.loss
        tc = config.train

        def save(at_step: int) -> None:
            if info.is_main:
                save_checkpoint(checkpoint_path(exp_dir, at_step), step=at_step, models=models,
                                optimizers=optimizers, schedulers=schedulers, extra={"init": tc.init})
                prune_checkpoints(exp_dir, tc.keep_checkpoints)
            barrier(info)

        if step == 0 and info.is_main and len(valid_set):
            exp.log_metrics(0, {"mel_l1": validation_mel_l1(generator, valid_set, mel_fn, device)}, split="valid")

        bar = tqdm(total=tc.max_steps, initial=step, desc="train-vocoder", unit="step",
                   disable=not (progress and info.is_main), dynamic_ncols=True)
        batches = _cycle(loader, sampler)
        last_saved = step
        generator.train()
        while step < tc.max_steps:
            mel, wav = next(batches)
            mel, wav = mel.to(device), wav.to(device).unsqueeze(1)
            fake = g_ddp(mel)

            # Discriminators: real -> 1, generated -> 0.
            optim_d.zero_grad(set_to_none=True)
            real_p, fake_p, _, _ = _discriminate(mpd_ddp, wav, fake.detach())
            real_s, fake_s, _, _ = _discriminate(msd_ddp, wav, fake.detach())
            loss_d = discriminator_loss(real_p, fake_p) + discriminator_loss(real_s, fake_s)
            loss_d.backward()
            if opt.grad_clip:
                nn.utils.clip_grad_norm_(list(mpd.parameters()) + list(msd.parameters()), opt.grad_clip)
            optim_d.step()

            # Generator: mel L1 + feature matching + adversarial.
            optim_g.zero_grad(set_to_none=True)
            loss_mel = _mel_l1(mel_fn, fake.squeeze(1), wav.squeeze(1))
            _, fake_p, feats_real_p, feats_fake_p = _discriminate(mpd_ddp, wav, fake)
            _, fake_s, feats_real_s, feats_fake_s = _discriminate(msd_ddp, wav, fake)
            loss_fm = feature_matching_loss(feats_real_p, feats_fake_p) + feature_matching_loss(feats_real_s, feats_fake_s)
            loss_adv = generator_adversarial_loss(fake_p) + generator_adversarial_loss(fake_s)
            loss_g = (loss_cfg.mel_weight * loss_mel + loss_cfg.feature_matching_weight * loss_fm
                      + loss_cfg.adversarial_weight * loss_adv)
            loss_g.backward()
            if opt.grad_clip:
                nn.utils.clip_grad_norm_(generator.parameters(), opt.grad_clip)
            optim_g.step()
            sched_g.step()
            sched_d.step()
            step += 1
            bar.update(1)

            if not math.isfinite(float(loss_g.detach())):
                raise RuntimeError(f"generator loss became {float(loss_g.detach())} at step {step}; lower optim.learning_rate")
            if step % tc.log_every_steps == 0 or step == tc.max_steps:
                metrics = {"mel_l1": loss_mel.item(), "feature_matching": loss_fm.item(),
                           "generator_adv": loss_adv.item(), "discriminator": loss_d.item(),
                           "lr": sched_g.get_last_lr()[0]}
                exp.log_metrics(step, metrics)
                bar.set_postfix(mel=f"{metrics['mel_l1']:.3f}", d=f"{metrics['discriminator']:.3f}")
                log.info("step %d: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
            if len(valid_set) and info.is_main and (step % tc.valid_every_steps == 0 or step == tc.max_steps):
                exp.log_metrics(step, {"mel_l1": validation_mel_l1(generator, valid_set, mel_fn, device)}, "valid")
            if step % tc.save_every_steps == 0:
                save(step)
                last_saved = step
        bar.close()
        if last_saved != step or latest_checkpoint(exp_dir) is None:
            save(step)
        release = exp_dir / "release"
        if info.is_main:
            export_release(exp_dir, release)
            log.info("wrote vocoder release %s", release)
        barrier(info)
        return release
    finally:
        exp.close()
        cleanup(info)


def export_release(exp_dir: str | Path, out_dir: str | Path, checkpoint: str | Path | None = None) -> Path:
    """Write a generator-only vocoder release (weight norm folded) from a training checkpoint."""
    from promptevc.train.checkpoint import latest_checkpoint, load_checkpoint

    exp_dir = Path(exp_dir)
    config_path = exp_dir / "config.yaml"
    if not config_path.exists():
        raise ConfigError(f"{exp_dir}: no config.yaml; pass the --exp of a train-vocoder run")
    config = load_yaml(VocoderTrainingConfig, config_path)
    ckpt = Path(checkpoint) if checkpoint else latest_checkpoint(exp_dir)
    if ckpt is None or not ckpt.exists():
        raise ModelLoadError(f"{exp_dir}: no checkpoint to export (train first, or pass --checkpoint)")
    generator = build_generator(config.architecture, config.generator, config.audio)
    if generator_spec(config.architecture).weight_norm:
        generator.apply_weight_norm()
    step, _ = load_checkpoint(ckpt, models={"generator": generator}, restore_rng=False)
    meta = {"step": step, "init": config.train.init, "mels_from": config.data.mels_from, "checkpoint": ckpt.name}
    return write_vocoder_release(out_dir, generator, config.audio, meta)


def config_from_dict(data: dict[str, Any]) -> VocoderTrainingConfig:
    """Strict parse of a training config mapping (e.g. from a test)."""
    return from_dict(VocoderTrainingConfig, data)


def config_to_dict(config: VocoderTrainingConfig) -> dict[str, Any]:
    return to_dict(config)
