"""(mel, waveform) pairs of a Kaldi data dir: the vocoder's data.

Input mels are computed from the audio (ground truth) or read from ``mels_from/<utt>.npy``
(n_mels, F), as written by the acoustic model in teacher-forced mode, so a vocoder can learn to
clean up the model's mels; the target is always the real audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from promptevc.config import AudioConfig
from promptevc.data.kaldi import DataDir
from promptevc.data.sampler import split_item
from promptevc.errors import ConfigError, ModelLoadError


class VocoderDataset(torch.utils.data.Dataset):
    """(mel (n_mels, S), wav (S * hop,)) pairs from a Kaldi data dir.

    ``segment_frames`` S > 0 cuts a segment (training; its position drawn from the item's seed);
    ``None`` returns the whole utterance cut to ``max_frames`` (validation). The waveform is
    padded or trimmed to exactly F * hop samples so mel frame i always lines up with samples
    [i * hop, (i + 1) * hop).
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

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        from promptevc.audio import load_audio

        index, seed = split_item(item)
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
            start = int(np.random.default_rng(seed).integers(0, frames - seg + 1))
            return mel[:, start : start + seg], wav[start * hop : (start + seg) * hop]
        if self.max_frames and frames > self.max_frames:
            mel, wav = mel[:, : self.max_frames], wav[: self.max_frames * hop]
        return mel, wav


def check_vocoder_data(data_dir: Path, mels_from: str | None) -> list[str]:
    """The utterances of ``data_dir``; fails before training (not inside a worker) on missing audio or mels."""
    if not (Path(data_dir) / "wav.scp").exists():
        raise ConfigError(f"{data_dir}: no wav.scp; pass a Kaldi data dir (--data)")
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
    return utts
