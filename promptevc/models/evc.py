"""The PromptEVC acoustic model: every part composed, a training forward and ``infer``.

Data flow (DESIGN §1, §4)::

    prompt --descriptor--> e_txt --prompt mapper (diffusion)--> e_pm         (inference)
    e_ref (evaluator embedding or label embedding) ----------> e_emo       (training)
    (emotion probs, intensity, e_emo) --intensity mapper--> c
    spk_emb --speaker encoder--> h_spk (+ predicted log-F0 stats)
    g = [c, h_spk]  (global condition of every conditional layer norm below)
    units (de-duplicated) --unit encoder--> h --duration predictor--> log(d + 1)
    h --length regulator (durations)--> frames --prosody predictor--> lf0_norm, voicing, energy
    frames + prosody --emotion renderer--> --mel decoder + postnet--> mel
    F0 (Hz) --harmonic excitation--+ energy --> added to the decoder (source-filter path)

Training is teacher-forced (true run lengths, F0, voicing, energy; e_ref instead of e_pm) and
reconstructs the utterance; inference swaps e_ref for e_pm, re-predicts durations and prosody,
and adds the source speaker's F0 / energy statistics back.
Mels are modelled standardised per bin (``mel_mean`` / ``mel_std`` buffers set from the
training data); evaluator embeddings likewise (``ref_mean`` / ``ref_std``), so the diffusion
works on a unit-scale space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from promptevc.models.config import AcousticConfig
from promptevc.models.decoder import HarmonicExcitation, MelDecoder, energy_to_log10
from promptevc.models.descriptor import EmotionDescriptor, load_text_encoder
from promptevc.models.duration import DurationPredictor, UnitEncoder, durations_from_log, length_regulate
from promptevc.models.intensity import IntensityMapper
from promptevc.models.layers import sequence_mask
from promptevc.models.prompt_mapper import PromptMapper
from promptevc.models.prosody import ProsodyPredictor, denormalise_f0
from promptevc.models.renderer import EmotionRenderer
from promptevc.prompt.control import EMOTIONS

#: How e_txt becomes e_pm at inference: the diffusion prompt mapper, or its linear ablation head.
PROMPT_MAPPERS = ("diffusion", "projection")


class PromptEVC(nn.Module):
    """The composed acoustic model; see the module docstring for the data flow."""

    def __init__(self, cfg: AcousticConfig, descriptor: EmotionDescriptor) -> None:
        super().__init__()
        from promptevc.models.speaker import SpeakerEncoder

        self.cfg = cfg
        m = cfg.model
        n_emo = len(EMOTIONS)
        self.n_mels = cfg.audio.n_mels
        self.descriptor = descriptor
        self.prompt_mapper = PromptMapper(m.prompt_mapper, m.ref_dim, m.descriptor.dim)
        # Label references: fixed random unit-variance codes (a buffer, not learned), so the target
        # the diffusion mapper learns does not drift; the intensity mapper learns what they mean.
        if m.reference == "label":
            gen = torch.Generator().manual_seed(0)
            self.register_buffer("label_codes", torch.randn(n_emo, m.ref_dim, generator=gen))
        else:
            self.label_codes = None
        self.intensity_mapper = IntensityMapper(n_emo, m.ref_dim, m.intensity.dim,
                                                neutral_index=EMOTIONS.index("neutral"))
        self.speaker = SpeakerEncoder(m.speaker.in_dim, m.speaker.dim, hidden=m.speaker.hidden, f0_hidden=m.speaker.hidden)
        g = m.intensity.dim + m.speaker.dim
        self.unit_encoder = UnitEncoder(m.content, g)
        self.duration = DurationPredictor(m.duration, m.content.dim, g)
        self.prosody = ProsodyPredictor(m.prosody, m.content.dim, g)
        self.renderer = EmotionRenderer(m.renderer, m.content.dim, g)
        self.decoder = MelDecoder(m.decoder, m.renderer.channels, g, self.n_mels)
        # Source-filter path of the decoder (see promptevc.models.decoder): no weights.
        self.excitation = HarmonicExcitation(cfg.audio)
        # Data statistics: part of the weights (set once by the trainer, saved in releases).
        self.register_buffer("mel_mean", torch.zeros(self.n_mels))
        self.register_buffer("mel_std", torch.ones(self.n_mels))
        self.register_buffer("ref_mean", torch.zeros(m.ref_dim))
        self.register_buffer("ref_std", torch.ones(m.ref_dim))

    # ---------------------------------------------------------------- helpers
    def set_stats(self, mel_mean: torch.Tensor, mel_std: torch.Tensor,
                  ref_mean: torch.Tensor | None = None, ref_std: torch.Tensor | None = None) -> None:
        """Store data statistics (mel per bin; evaluator embedding per dimension)."""
        with torch.no_grad():
            self.mel_mean.copy_(mel_mean)
            self.mel_std.copy_(mel_std.clamp(min=1e-3))
            if ref_mean is not None:
                self.ref_mean.copy_(ref_mean)
            if ref_std is not None:
                self.ref_std.copy_(ref_std.clamp(min=1e-3))

    def normalise_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, F) -> standardised (B, F, n_mels)."""
        return ((mel.transpose(1, 2) - self.mel_mean) / self.mel_std)

    def denormalise_mel(self, mel_n: torch.Tensor) -> torch.Tensor:
        """standardised (B, F, n_mels) -> mel (B, n_mels, F) in the AudioConfig's log scale."""
        return (mel_n * self.mel_std + self.mel_mean).transpose(1, 2)

    def normalise_reference(self, e_ref: torch.Tensor) -> torch.Tensor:
        """Raw evaluator embedding (B, E) -> the standardised space the prompt mapper works in."""
        return (e_ref - self.ref_mean) / self.ref_std

    def reference_embedding(self, emotion: torch.Tensor, e_ref_raw: torch.Tensor | None) -> torch.Tensor:
        """e_ref (B, E): the evaluator's embedding (standardised) or the label's code."""
        if self.label_codes is not None:
            return self.label_codes[emotion]
        if e_ref_raw is None:
            raise ValueError("this model uses evaluator references: pass e_ref_raw (B, E)")
        return self.normalise_reference(e_ref_raw)

    def global_condition(self, probs: torch.Tensor, intensity: torch.Tensor, e_emo: torch.Tensor | None,
                         spk_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (g (B, G) = [intensity-mapped emotion conditioning, h_spk], predicted speaker log-F0 stats (B, 2))."""
        c = self.intensity_mapper(probs, intensity, e_emo)
        h_spk, f0_stats = self.speaker(spk_emb)
        return torch.cat([c, h_spk], dim=-1), f0_stats

    def source_features(self, f0_hz: torch.Tensor, energy_norm: torch.Tensor) -> torch.Tensor:
        """f0_hz (B, F) (0 = unvoiced), energy_norm (B, F) -> decoder source (B, F, 2 * n_mels).

        [harmonic excitation, frame energy] in log10 magnitude, divided by the per-bin mel std so
        they add directly to the standardised mel (source-filter sum in the log domain).
        """
        exc = self.excitation(f0_hz.float()).to(self.mel_std.dtype)
        energy = energy_to_log10(energy_norm, self.cfg.model.prosody.energy_scale_db).unsqueeze(-1)
        return torch.cat([exc / self.mel_std, energy.expand_as(exc) / self.mel_std], dim=-1)

    def _synthesise(self, frames: torch.Tensor, prosody: torch.Tensor, mask: torch.Tensor, g: torch.Tensor,
                    f0_hz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """prosody (B, F, 3) = (lf0_norm, voiced, energy_norm); f0_hz (B, F) the same F0 in Hz."""
        h = self.renderer(frames, prosody, mask, g)
        return self.decoder(h, mask, g, self.source_features(f0_hz, prosody[..., 2]))

    # ---------------------------------------------------------------- training
    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Teacher-forced training pass.

        ``batch`` (see :func:`promptevc.data.dataset.collate`): units (B, N), unit_lens (B,),
        durations (B, N), mel (B, n_mels, F), mel_lens (B,), lf0 / voiced / energy (B, F),
        spk_emb (B, D_spk), emotion (B,), intensity (B,), prompts (list of B str), optional
        e_ref (B, E) raw evaluator embeddings.

        Returns outputs for :mod:`promptevc.train.losses` (standardised mels (B, F, n_mels),
        predictions, masks), the diffusion loss ``loss_diffusion`` (a scalar) and, with the
        ablation head, ``loss_projection`` (a scalar).
        """
        units, unit_lens, durations = batch["units"], batch["unit_lens"], batch["durations"]
        mel_lens = batch["mel_lens"]
        n_frames = batch["mel"].shape[-1]
        unit_mask = sequence_mask(unit_lens, units.shape[1])
        frame_mask = sequence_mask(mel_lens, n_frames)
        emotion = batch["emotion"]

        e_ref = self.reference_embedding(emotion, batch.get("e_ref"))
        desc = self.descriptor(batch["prompts"])
        # The mapper learns to reproduce e_ref; the target is detached so the diffusion loss cannot
        # pull the (learned) reference space towards whatever is easy to denoise.
        loss_diffusion = self.prompt_mapper.loss(e_ref.detach(), desc["e_txt"])
        loss_projection = (self.prompt_mapper.projection_loss(e_ref.detach(), desc["e_txt"])
                           if self.prompt_mapper.projection is not None else None)

        probs = nn.functional.one_hot(emotion, len(EMOTIONS)).to(e_ref.dtype)
        g, f0_stats = self.global_condition(probs, batch["intensity"], e_ref, batch["spk_emb"])
        h = self.unit_encoder(units, unit_mask, g)
        log_dur = self.duration(h, unit_mask, g)
        frames, _ = length_regulate(h, durations, n_frames)
        pros = self.prosody(frames, frame_mask, g)
        prosody_in = torch.stack([batch["lf0"], batch["voiced"], batch["energy"]], dim=-1)
        spk_stats = batch["spk_f0_stats"].to(prosody_in.dtype)
        f0_hz = denormalise_f0(batch["lf0"], batch["voiced"], torch.cat([spk_stats, spk_stats[:, :1]], dim=-1))
        mel_pred, mel_post = self._synthesise(frames, prosody_in, frame_mask, g, f0_hz)
        return {
            "mel_pred": mel_pred,
            "mel_post": mel_post,
            "mel_target": self.normalise_mel(batch["mel"]),
            "frame_mask": frame_mask,
            "unit_mask": unit_mask,
            "log_dur": log_dur,
            "lf0": pros["lf0"],
            "voicing_logit": pros["voicing_logit"],
            "energy": pros["energy"],
            "f0_stats": f0_stats,
            "desc_intensity": desc["intensity"],
            "desc_logits": desc["logits"],
            "loss_diffusion": loss_diffusion,
            **({"loss_projection": loss_projection} if loss_projection is not None else {}),
        }

    # ---------------------------------------------------------------- inference
    @torch.no_grad()
    def embed_prompts(self, prompts: Sequence[str], generator: torch.Generator | None = None,
                      steps: int | None = None, mapper: str = "diffusion") -> dict[str, torch.Tensor]:
        """prompts -> dict(e_pm (B, E) standardised emotion embedding, intensity (B,), probs (B, K)).

        ``mapper``: "diffusion" (DDIM sampling of the prompt mapper, seeded by ``generator``) or
        "projection" (the linear ablation head, deterministic).
        """
        if mapper not in PROMPT_MAPPERS:
            raise ValueError(f"prompt mapper {mapper!r}: choose {' or '.join(PROMPT_MAPPERS)}")
        desc = self.descriptor(list(prompts))
        if mapper == "projection":
            e_pm = self.prompt_mapper.project(desc["e_txt"])
        else:
            e_pm = self.prompt_mapper.sample(desc["e_txt"], steps=steps, generator=generator)
        return {"e_pm": e_pm, "intensity": desc["intensity"], "probs": desc["logits"].softmax(-1)}

    @torch.no_grad()
    def infer(
        self,
        units: torch.Tensor,
        unit_lens: torch.Tensor,
        spk_emb: torch.Tensor,
        src_stats: torch.Tensor,
        probs: torch.Tensor,
        intensity: torch.Tensor,
        e_emo: torch.Tensor | None,
        *,
        tempo: torch.Tensor | float = 1.0,
        pitch_semitones: torch.Tensor | float = 0.0,
        volume_db: torch.Tensor | float = 0.0,
        durations: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Convert a batch.

        units (B, N) de-duplicated unit ids, unit_lens (B,), spk_emb (B, D_spk), src_stats (B, 3)
        (source log-F0 mean, log-F0 std, mean voiced energy dB: the speaker's own statistics added
        back), probs (B, K) emotion mixture, intensity (B,), e_emo (B, E) standardised emotion
        embedding (e_pm or e_ref) or None. ``tempo`` > 1 speaks faster; ``pitch_semitones`` and
        ``volume_db`` shift the predicted prosody (prompt hints). ``durations`` (B, N) overrides
        the predicted ones (copy the source rhythm).

        Returns mel (B, n_mels, F), mel_lens (B,), f0_hz (B, F) (0 = unvoiced), energy_db (B, F),
        durations (B, N).
        """
        dtype = self.mel_mean.dtype
        b = units.shape[0]
        unit_mask = sequence_mask(unit_lens, units.shape[1])
        g, _ = self.global_condition(probs.to(dtype), intensity.to(dtype), e_emo, spk_emb.to(dtype))
        h = self.unit_encoder(units, unit_mask, g)
        if durations is None:
            tempo_t = torch.as_tensor(tempo, dtype=dtype, device=units.device).expand(b) if not torch.is_tensor(tempo) \
                else tempo.to(units.device, dtype)
            durations = durations_from_log(self.duration(h, unit_mask, g), unit_mask, 1.0 / tempo_t.clamp(min=0.1))
        frames, mel_lens = length_regulate(h, durations)
        frame_mask = sequence_mask(mel_lens, frames.shape[1])
        pros = self.prosody(frames, frame_mask, g)
        stats = src_stats.to(dtype)
        pitch = torch.as_tensor(pitch_semitones, dtype=dtype, device=units.device).reshape(-1, 1)
        vol = torch.as_tensor(volume_db, dtype=dtype, device=units.device).reshape(-1, 1)
        voiced = (torch.sigmoid(pros["voicing_logit"]) > 0.5).to(dtype) * frame_mask.to(dtype)
        # Hints shift the normalised prosody: semitones -> log-F0 / speaker std; dB -> / energy scale.
        lf0 = (pros["lf0"] + pitch * (math.log(2.0) / 12.0) / stats[:, 1:2]) * voiced
        energy = (pros["energy"] + vol / self.cfg.model.prosody.energy_scale_db) * frame_mask.to(dtype)
        prosody_in = torch.stack([lf0, voiced, energy], dim=-1)
        f0_hz = denormalise_f0(lf0, voiced, stats)
        _, mel_post = self._synthesise(frames, prosody_in, frame_mask, g, f0_hz)
        mel = self.denormalise_mel(mel_post)
        # Padded frames hold the log floor (silence) rather than the mean.
        floor = math.log10(self.cfg.audio.log_floor) if self.cfg.audio.log == "log10" else math.log(self.cfg.audio.log_floor)
        mel = torch.where(frame_mask.unsqueeze(1), mel, torch.full_like(mel, floor))
        return {
            "mel": mel,
            "mel_lens": mel_lens,
            "f0_hz": f0_hz,
            "energy_db": energy * self.cfg.model.prosody.energy_scale_db + stats[:, 2:3],
            "durations": durations,
        }


def build_model(cfg: AcousticConfig, *, text_encoder: tuple[Any, nn.Module] | None = None,
                text_encoder_revision: str | None = None) -> PromptEVC:
    """Build the model from its config (loads the pretrained text encoder unless given as (tokenizer, model)).

    ``text_encoder_revision``: the hub commit to load a repo-id encoder at (a release's pin).
    """
    tokenizer, encoder = text_encoder if text_encoder is not None else load_text_encoder(
        cfg.model.descriptor.encoder, revision=text_encoder_revision)
    descriptor = EmotionDescriptor(cfg.model.descriptor, tokenizer, encoder, n_emotions=len(EMOTIONS),
                                   revision=text_encoder_revision)
    return PromptEVC(cfg, descriptor)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Trainable + frozen parameter counts per top-level part (the frozen text encoder listed apart)."""
    out = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    desc = getattr(model, "descriptor", None)
    if desc is not None and desc.encoder is None and desc.text_encoder is not None:
        out["text_encoder (frozen)"] = sum(p.numel() for p in desc.text_encoder.parameters())
    out["total"] = sum(out.values())
    return out
