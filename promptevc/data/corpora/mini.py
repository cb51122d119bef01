"""A tiny synthetic corpus in ESD's layout, made with espeak-ng: a pipeline check, not a model.

``make_mini_corpus(out)`` writes ``out/<spk>/<Emotion>/<spk>_<index>.wav`` (16 kHz, 16-bit) and
``out/<spk>/<spk>.txt`` exactly as ESD does, so :func:`promptevc.data.corpora.esd.prepare_esd`
prepares it unchanged. Sentence ``k`` of an emotion block gets ESD's global index
``k + 350 * block``; the sentences sit at ESD positions 1-2 (dev), 21-24 (test) and 51-68
(train) by default, so ESD's official 20/30/300 split rule assigns them.

It also reproduces ESD's quirks so the real prep code is exercised on every mini run: two
speakers have flat per-emotion folders and two have ``evaluation``/``test``/``train``
subfolders; the transcripts are UTF-8 with tabs, UTF-16 LE with a BOM, space-separated, and
Latin-1.

Emotions differ by prosody only, in the directions of ESD's English statistics
(``../shared/docs/papers.md`` §3.4): happy and surprise have a higher and wider F0, angry a
higher F0, more energy (the Inoue et al. 2025 ESD analysis) and a slightly slower rate; sad is
slower, quieter and narrower in range. Measured on the training set against the same sentence
in neutral (4 speakers): angry +2.5 st / +4.1 dB / x1.08 duration, happy +4.3 st / F0 spread
x1.4, surprise +5.3 st / x1.4, sad -1.1 st / x1.15 duration / -3.5 dB (ESD: angry +2.0..3.9 st
and x1.07, happy +4.9..5.7 st, surprise +6.1..6.2 st, sad +0.6..1.1 st and x1.14). Sad is kept
slightly below neutral in F0 so that it is distinct by rate, range and energy alone.
"""

from __future__ import annotations

import logging
import random
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from promptevc.data.corpora.esd import BLOCK_EMOTIONS, BLOCK_SIZE
from promptevc.errors import OutputExistsError, PromptEVCError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
COMPLETE_MARKER = ".complete"  # written last: a folder without it is an interrupted synthesis


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice standing in for one ESD speaker."""

    voice: str  # espeak-ng voice name with variant (``en-us+f2``)
    pitch: int  # espeak-ng base pitch 0-99 (50 = default)
    layout: str  # "flat" or "split" (ESD copies come with both)
    encoding: str  # transcript encoding / separator quirk: utf-8, utf-16, space, latin-1


# ESD English ids (0011-0014 male, 0015-0019 female by the public loaders' lists).
VOICES: dict[str, Voice] = {
    "0011": Voice("en-us", 45, "flat", "utf-8"),
    "0012": Voice("en-gb+m3", 55, "split", "utf-16"),
    "0015": Voice("en-us+f2", 48, "flat", "space"),
    "0016": Voice("en-gb-x-rp+f4", 56, "split", "latin-1"),
}


@dataclass(frozen=True)
class Style:
    """Prosody of one emotion relative to neutral (espeak-ng SSML <prosody> and -s/-a)."""

    pitch_percent: int  # F0 level change (SSML pitch="+35%")
    range_percent: int  # F0 range (SSML range="200%"; 100 = neutral)
    words_per_minute: int  # espeak -s (neutral 160)
    amplitude: int  # espeak -a (neutral 100; 150 stays below clipping)


STYLES: dict[str, Style] = {
    "neutral": Style(0, 100, 160, 100),
    "angry": Style(20, 150, 150, 150),
    "happy": Style(35, 200, 165, 115),
    "sad": Style(-3, 60, 140, 70),
    "surprise": Style(45, 250, 160, 115),
}

# Written for this corpus (not ESD's text): short, varied, easy for espeak.
SENTENCES: tuple[str, ...] = (
    "The red boat drifted past the harbour wall.",
    "She left her keys on the kitchen table.",
    "We will meet again at the station tomorrow.",
    "A small dog barked at the passing train.",
    "The letter arrived two days too late.",
    "He painted the fence a bright shade of green.",
    "Nobody knew where the old map had gone.",
    "The soup was warm and full of fresh herbs.",
    "They walked home slowly along the river.",
    "My brother plays the piano every evening.",
    "The garden gate was open all night.",
    "Please bring the blue folder to the meeting.",
    "The children built a castle out of sand.",
    "Rain fell quietly on the tin roof.",
    "Our neighbour found a kitten in the shed.",
    "The café on the corner opens at seven.",
    "I heard the news on the radio this morning.",
    "The mountain road was closed for repairs.",
    "She wrote her name on the first page.",
    "The lamp flickered and then went dark.",
    "We counted nine birds on the wire.",
    "The baker sold the last loaf before noon.",
    "His jacket was hanging behind the door.",
    "The tide came in faster than we expected.",
)


def positions(n_dev: int = 2, n_test: int = 4, n_train: int = 18) -> list[int]:
    """ESD sentence positions used: dev from 1, test from 21, train from 51 (ESD's split rule)."""
    if not (1 <= n_dev <= 20 and 1 <= n_test <= 30 and 1 <= n_train <= 300):
        raise PromptEVCError("mini corpus: need 1-20 dev, 1-30 test and 1-300 train sentences")
    return list(range(1, 1 + n_dev)) + list(range(21, 21 + n_test)) + list(range(51, 51 + n_train))


def check_espeak() -> str:
    """Path of espeak-ng, or a readable error saying how to install it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise PromptEVCError(
            "espeak-ng not found; the mini corpus is synthesised with it: apt-get install espeak-ng"
        )
    return exe


def _synthesise(exe: str, text: str, voice: Voice, style: Style, jitter: float, out: Path) -> None:
    """One utterance: espeak-ng at 22.05 kHz -> 16 kHz PCM_16 wav at ``out``."""
    import soundfile as sf

    from promptevc.audio import resample

    ssml = (
        f'<speak><prosody pitch="{style.pitch_percent:+d}%" range="{style.range_percent}%">'
        f"{escape(text)}</prosody></speak>"
    )
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        cmd = [
            exe, "-m", "-v", voice.voice,
            "-p", str(voice.pitch),
            "-s", str(int(round(style.words_per_minute * (1.0 + jitter)))),
            "-a", str(style.amplitude),
            "-w", str(raw), ssml,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not raw.exists():
            raise PromptEVCError(f"espeak-ng failed for {out.name}: {proc.stderr.strip() or proc.returncode}")
        wav, sr = sf.read(raw, dtype="float32")
    wav = resample(wav, sr, SAMPLE_RATE)
    # 0.15 s of silence at both ends, as in studio recordings; keeps the VAD-based metrics sane.
    pad = np.zeros(int(0.15 * SAMPLE_RATE), dtype=np.float32)
    wav = np.clip(np.concatenate([pad, wav, pad]), -1.0, 1.0)
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out, wav, SAMPLE_RATE, subtype="PCM_16")


def _write_transcript(path: Path, lines: list[tuple[str, str, str]], quirk: str) -> None:
    """Write ``utt TAB text TAB Label`` lines with one of ESD's encoding/separator quirks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sep = " " if quirk == "space" else "\t"
    text = "".join(f"{utt}{sep}{txt}{sep}{label}\n" for utt, txt, label in lines)
    if quirk == "utf-16":
        path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    elif quirk == "latin-1":
        path.write_bytes(text.encode("latin-1"))
    else:
        path.write_bytes(text.encode("utf-8"))


def make_mini_corpus(
    out_dir: str | Path,
    speakers: list[str] | None = None,
    n_dev: int = 2,
    n_test: int = 4,
    n_train: int = 18,
    seed: int = 0,
    nj: int = 2,
    overwrite: bool = False,
) -> dict[str, int]:
    """Synthesise the mini corpus into ``out_dir``; returns {"utterances": n, "speakers": n}.

    A folder that already holds a complete corpus is an :class:`OutputExistsError` unless
    ``overwrite``. ``nj`` espeak-ng processes run at once.
    """
    exe = check_espeak()
    out_dir = Path(out_dir)
    speakers = list(speakers or VOICES)
    unknown = [s for s in speakers if s not in VOICES]
    if unknown:
        raise PromptEVCError(f"mini corpus: unknown speaker {unknown[0]}; choose from {' '.join(VOICES)}")
    pos = positions(n_dev, n_test, n_train)
    if len(pos) > len(SENTENCES):
        raise PromptEVCError(f"mini corpus: {len(pos)} sentences asked, {len(SENTENCES)} available")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"{out_dir} is not empty; pass --overwrite or choose another --out")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    rng = random.Random(seed)
    jobs: list[tuple[str, Voice, Style, float, Path]] = []
    for spk in speakers:
        voice = VOICES[spk]
        lines: list[tuple[str, str, str]] = []
        for block, emotion in enumerate(BLOCK_EMOTIONS):
            folder = "Surprise" if emotion == "surprise" else emotion.capitalize()
            for k, position in enumerate(pos):
                utt = f"{spk}_{block * BLOCK_SIZE + position:06d}"
                sub = ""
                if voice.layout == "split":
                    sub = "evaluation" if position <= 20 else ("test" if position <= 50 else "train")
                wav = out_dir / spk / folder / sub / f"{utt}.wav"
                text = SENTENCES[k]
                # +-4 % speaking-rate jitter per utterance so no two readings are identical.
                jobs.append((text, voice, STYLES[emotion], rng.uniform(-0.04, 0.04), wav))
                lines.append((utt, text, folder))
        _write_transcript(out_dir / spk / f"{spk}.txt", lines, voice.encoding)

    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=max(1, nj)) as pool:
        futures = [pool.submit(_synthesise, exe, *job) for job in jobs]
        for fut in tqdm(futures, desc="espeak-ng", unit="utt", disable=len(futures) < 50):
            fut.result()
    (out_dir / "ReadMe.txt").write_text(
        "PromptEVC mini corpus: synthesised with espeak-ng in ESD's layout, a pipeline check, not "
        "emotional speech.\nSee promptevc/data/corpora/mini.py for voices and prosody settings.\n",
        encoding="utf-8",
    )
    (out_dir / COMPLETE_MARKER).write_text(f"{len(jobs)}\n", encoding="utf-8")
    log.info("mini corpus: %d utterances, %d speakers in %s", len(jobs), len(speakers), out_dir)
    return {"utterances": len(jobs), "speakers": len(speakers)}


def is_complete(out_dir: str | Path) -> bool:
    """True when ``out_dir`` holds a finished mini corpus (the marker is written last)."""
    return (Path(out_dir) / COMPLETE_MARKER).exists()
