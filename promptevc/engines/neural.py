"""The ``neural`` engine: a trained PromptEVC release + a vocoder (DESIGN §1, §4).

Per input: k-means units of the source (de-duplicated), its speaker embedding and its own
log-F0 / energy statistics; the prompt goes through the emotion descriptor and the diffusion
prompt mapper (e_pm; or the evaluator's embedding of ``ref_wav``: e_ref); the acoustic model
re-predicts durations, F0, voicing and energy and decodes a mel; the vocoder renders it.

Emotion mixture and intensity come from the EmotionControl (the prompt parser, or
``--emotion``/``--intensity``), which drive the intensity mapper; prosody hints are applied as
tempo (+-25 %), pitch (+-4 semitones) and level (+-6 dB) shifts of the predicted prosody, the
same amounts the prosody engine uses. ``seed`` fixes the diffusion sample (None = seed 0, so a
conversion is reproducible by default).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from promptevc.config import AudioConfig
from promptevc.engines.base import Engine
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.prompt.control import EMOTIONS, EmotionControl

log = logging.getLogger(__name__)

# Hint amounts at +-1 (shared with the prosody engine's documented mapping, ProsodyHints).
TEMPO_PER_HINT = 0.25
SEMITONES_PER_HINT = 4.0
DB_PER_HINT = 6.0
F0_METHOD = "dio"

_VOCODER_HELP = (
    "pass --vocoder with a HiFi-GAN trained on the release's AudioConfig (a folder, a promptevc "
    "train-vocoder release or a Hugging Face repo id), download microsoft/speecht5_hifigan once while "
    "online (it is then cached), or use --vocoder griffin-lim for a debugging rendering"
)


def control_prompt(control: EmotionControl) -> str:
    """The text given to the emotion descriptor: the user's prompt, or one made from the control."""
    if control.prompt and control.prompt.strip():
        return control.prompt
    if control.emotion == "neutral":
        return "neutral"
    degree = "slightly " if control.intensity < 0.3 else "very " if control.intensity > 0.7 else ""
    return f"{degree}{control.emotion}"


class NeuralEngine(Engine):
    """Conversion with a PromptEVC acoustic release; build it with :meth:`load`."""

    name = "neural"

    def __init__(self, model: Any, units: Any, speaker: Any, vocoder: Any, meta: dict[str, Any],
                 release_path: Any, device: str) -> None:
        super().__init__(model.cfg.audio)
        self.model = model
        self.units = units
        self.speaker = speaker
        self.vocoder = vocoder
        self.meta = meta
        self.release_path = release_path
        self.device = device
        self._evaluator = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model: str | None = None, *, vocoder: str | None = None, device: str = "auto",
             audio: AudioConfig | None = None, revision: str | None = None, **_: Any) -> "NeuralEngine":
        """Load a release (local folder or Hugging Face repo id) and its vocoder.

        ``vocoder``: name or path for :func:`promptevc.models.vocoder.load_vocoder` (default: the
        release's ``meta.json`` vocoder, microsoft/speecht5_hifigan). ``audio``: when given, must
        equal the release's AudioConfig.
        """
        import torch

        from promptevc.config import check_audio_compatible, from_dict
        from promptevc.models.config import AcousticConfig
        from promptevc.models.evc import build_model
        from promptevc.release import load_state_strict, read_release

        if not model:
            raise ConfigError("the neural engine needs a release: pass --model RELEASE (a folder or a Hugging Face repo id)")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        release = read_release(model, kind="acoustic", revision=revision)
        if "train" in release.config:
            raise ModelLoadError(f"{release.path}: written by an older promptevc (its config.yaml still holds "
                                 "training settings); export it again with promptevc export --exp EXP")
        try:
            cfg = from_dict(AcousticConfig, release.config)
        except ConfigError as err:
            raise ModelLoadError(f"{release.path}: release config does not match this promptevc ({err})") from None
        if audio is not None and audio != cfg.audio:
            check_audio_compatible(cfg.audio, audio, "release", "requested audio")
        net = build_model(cfg)
        state = {k[len("model."):]: v for k, v in release.state_dict.items() if k.startswith("model.")}
        unit_tensors = {k[len("units."):]: v for k, v in release.state_dict.items() if k.startswith("units.")}
        stray = [k for k in release.state_dict if not k.startswith(("model.", "units."))]
        if stray:
            raise ModelLoadError(f"{release.path}: unexpected weight {stray[0]} in an acoustic release")
        load_state_strict(net, state, name=str(release.path))
        net.eval().to(device)

        units = None
        if release.meta.get("content"):
            from promptevc.features.content import UnitExtractor, content_config_from_dict

            units = UnitExtractor.from_tensors(content_config_from_dict(release.meta["content"]), unit_tensors,
                                               audio=cfg.audio, device=device)
        elif unit_tensors:
            raise ModelLoadError(f"{release.path}: has unit tensors but no content config in meta.json")

        from promptevc.models.speaker import SpeakerBackbone

        speaker = SpeakerBackbone(release.meta.get("speaker_backbone", cfg.model.speaker.backbone), device=device)
        voc = cls._load_vocoder(vocoder or release.meta.get("vocoder") or "microsoft/speecht5_hifigan", cfg.audio,
                                device)
        return cls(net, units, speaker, voc, release.meta, release.path, device)

    @staticmethod
    def _load_vocoder(name: str, audio: AudioConfig, device: str) -> Any:
        from promptevc.config import check_audio_compatible
        from promptevc.models.vocoder import load_vocoder

        try:
            voc = load_vocoder(name, device=device)
        except ModelLoadError as err:
            raise ModelLoadError(f"no usable vocoder ({err}); {_VOCODER_HELP}") from None
        try:
            check_audio_compatible(audio, voc.audio_config, "acoustic release", f"vocoder {name}")
        except ConfigError as err:
            raise ModelLoadError(str(err)) from None
        return voc

    def _load_evaluator(self) -> Any:
        if self._evaluator is None:
            sub = self.meta.get("evaluator")
            folder = self.release_path / sub if sub else None
            if folder is None or not folder.is_dir():
                raise ModelLoadError(
                    f"{self.release_path}: this release has no emotion evaluator, so it cannot take the emotion "
                    "from --ref audio; use a prompt, or a release trained with --evaluator"
                )
            from promptevc.models.evaluator import load_evaluator

            self._evaluator = load_evaluator(str(folder), device=self.device)
        return self._evaluator

    # ------------------------------------------------------------------ front end
    def analyse(self, wav: np.ndarray) -> dict[str, np.ndarray]:
        """Source analysis: de-duplicated units (N,), run lengths (N,), speaker embedding, stats (3,)."""
        from promptevc.features.content import collapse_runs
        from promptevc.features.prosody import extract_energy, extract_f0
        from promptevc.models.prosody import prosody_stats

        if self.units is None:
            raise ModelLoadError(f"{self.release_path}: release has no content units (trained without --units)")
        wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        n_frames = self.audio.num_frames(len(wav))
        ids, runs = collapse_runs(self.units.units(wav, n_frames))
        f0, _ = extract_f0(wav, self.audio, method=F0_METHOD)
        energy = extract_energy(wav, self.audio)
        return {
            "units": ids,
            "runs": runs,
            "spk_emb": self.speaker.embed(wav),
            "stats": prosody_stats(f0, energy),
        }

    def _reference_embedding(self, ref_wav: np.ndarray) -> Any:
        import torch

        from promptevc.features.mel import extract_mel

        ev = self._load_evaluator()
        mel = torch.from_numpy(extract_mel(np.asarray(ref_wav, dtype=np.float32), self.audio))[None].to(self.device)
        with torch.no_grad():
            emb = ev(mel, torch.tensor([mel.shape[-1]], device=self.device))["embedding"]
        return self.model.normalise_reference(emb.float())[0]

    # ------------------------------------------------------------------ conversion
    def synthesise(
        self,
        analyses: Sequence[dict[str, np.ndarray]],
        controls: Sequence[EmotionControl],
        *,
        ref_wavs: Sequence[np.ndarray | None] | None = None,
        seed: int | None = None,
        vocode: bool = True,
    ) -> list[dict[str, Any]]:
        """Batched acoustic model (+ vocoder) over analysed sources; returns per item mel / f0 / wav."""
        import torch

        dev = torch.device(self.device)
        b = len(analyses)
        n_max = max(len(a["units"]) for a in analyses)
        units = torch.zeros(b, n_max, dtype=torch.long)
        for i, a in enumerate(analyses):
            units[i, : len(a["units"])] = torch.from_numpy(a["units"])
        unit_lens = torch.tensor([len(a["units"]) for a in analyses])
        spk = torch.from_numpy(np.stack([a["spk_emb"] for a in analyses]))
        stats = torch.from_numpy(np.stack([a["stats"] for a in analyses]))
        probs = torch.tensor([c.vector() for c in controls], dtype=torch.float32)
        intensity = torch.tensor([c.intensity for c in controls], dtype=torch.float32)
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        emb = self.model.embed_prompts([control_prompt(c) for c in controls], generator=gen)["e_pm"]
        if ref_wavs is not None:
            rows = [self._reference_embedding(r) if r is not None else emb[i] for i, r in enumerate(ref_wavs)]
            emb = torch.stack(rows)
        tempo = torch.tensor([1.0 + TEMPO_PER_HINT * c.hints.tempo for c in controls])
        pitch = torch.tensor([SEMITONES_PER_HINT * c.hints.pitch for c in controls])
        volume = torch.tensor([DB_PER_HINT * c.hints.volume for c in controls])
        with torch.inference_mode():
            out = self.model.infer(units.to(dev), unit_lens.to(dev), spk.to(dev), stats.to(dev), probs.to(dev),
                                   intensity.to(dev), emb.to(dev), tempo=tempo.to(dev), pitch_semitones=pitch.to(dev),
                                   volume_db=volume.to(dev))
            wav = self.vocoder(out["mel"]).float().cpu() if vocode else None
        results = []
        hop = self.audio.hop_length
        for i in range(b):
            f = int(out["mel_lens"][i])
            item = {
                "mel": out["mel"][i, :, :f].float().cpu().numpy(),
                "f0_hz": out["f0_hz"][i, :f].float().cpu().numpy(),
                "durations": out["durations"][i, : int(unit_lens[i])].cpu().numpy(),
            }
            if wav is not None:
                w = wav[i, : f * hop].numpy().astype(np.float32)
                peak = float(np.abs(w).max()) if w.size else 0.0
                item["wav"] = w * (0.99 / peak) if peak > 0.99 else w
            results.append(item)
        return results

    def convert_batch(self, wavs: Sequence[np.ndarray], controls: Sequence[EmotionControl], *,
                      ref_wavs: Sequence[np.ndarray | None] | None = None, seed: int | None = None
                      ) -> list[np.ndarray]:
        """Convert several waveforms at once (one padded batch; fastest on a GPU)."""
        analyses = [self.analyse(w) for w in wavs]
        return [r["wav"] for r in self.synthesise(analyses, controls, ref_wavs=ref_wavs, seed=seed)]

    def convert(self, wav: np.ndarray, control: EmotionControl, *, ref_wav: np.ndarray | None = None,
                seed: int | None = None) -> np.ndarray:
        """wav (T,) float32 at ``audio.sample_rate`` -> converted (T',) float32."""
        return self.convert_batch([wav], [control], ref_wavs=None if ref_wav is None else [ref_wav], seed=seed)[0]

    def __repr__(self) -> str:
        return f"NeuralEngine(release={self.release_path}, vocoder={getattr(self.vocoder, 'name', '?')})"


__all__ = ["NeuralEngine", "EMOTIONS"]
