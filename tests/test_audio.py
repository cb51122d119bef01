"""promptevc.audio: header checks, streaming sources, pass-1 statistics and the streaming stages."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from safety_support import flac_declaring

from promptevc.audio import (
    ArraySource,
    CrossfadeJoiner,
    FileSource,
    InputStats,
    PauseChunker,
    PeakLimiter,
    StreamResampler,
    frame_rms_db,
    limit_peaks,
    load_audio,
    prepare_waveform,
    probe_audio,
    process_in_chunks,
    split_at_pauses,
)
from promptevc.config import AudioConfig, InputConfig
from promptevc.errors import AudioError
from promptevc.utils.synth import synth_speech


def test_any_rate_channels_and_int_format(tmp_path, speech_wav):
    wav, sr = speech_wav
    import librosa

    wav44 = librosa.resample(wav, orig_sr=sr, target_sr=44100)
    stereo = np.stack([wav44, wav44 * 0.5], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(path, stereo, 44100, subtype="PCM_24")
    out = load_audio(path)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - len(wav)) <= 2
    # Mixed down: mean of the channels, same level as 0.75 * original.
    assert np.sqrt(np.mean(out**2)) == pytest.approx(0.75 * np.sqrt(np.mean(wav**2)), rel=0.05)


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda sr: np.zeros(0, dtype=np.float32), "no audio samples"),
        (lambda sr: np.zeros(sr, dtype=np.float32), "silent"),
        (lambda sr: 0.1 * np.ones(int(0.1 * sr), dtype=np.float32), "0.10 s of audio; need at least 0.3 s"),
        (lambda sr: np.full(sr, np.nan, dtype=np.float32), "NaN"),
    ],
)
def test_policy_errors(tmp_path, make, msg):
    path = tmp_path / "x.wav"
    sf.write(path, make(16000), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=msg):
        load_audio(path)


def test_too_long_and_unreadable(tmp_path, speech_wav):
    path = tmp_path / "long.wav"
    sf.write(path, speech_wav[0], 16000)
    with pytest.raises(AudioError, match="exceeds the limit of 1 s"):
        load_audio(path, policy=InputConfig(max_seconds=1.0))
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="cannot read audio"):
        load_audio(junk)
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "missing.wav")


# ------------------------------------------------------------------ header checks, regular files only


def test_header_bomb_refused_before_decoding(tmp_path):
    """A 30 kB FLAC declaring 5 h is refused from its header: no decode, fast, little memory."""
    path = flac_declaring(tmp_path / "bomb.flac", total_frames=16000 * 3600 * 5)
    assert sf.info(path).duration == pytest.approx(5 * 3600)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(AudioError, match="18000.0 s of audio exceeds the limit of 600 s"):
        FileSource(path)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 5 << 20


def test_header_that_lies_is_a_clear_error(tmp_path):
    """Declared 3 s, 1 s of data: decoding stops with a message, not a libsndfile traceback."""
    path = flac_declaring(tmp_path / "short.flac", total_frames=16000 * 3)
    with pytest.raises(AudioError, match="truncated or corrupt"):
        load_audio(path)


def test_unknown_length_flac_refused(tmp_path):
    path = flac_declaring(tmp_path / "stream.flac", total_frames=0)
    with pytest.raises(AudioError, match="does not state its length"):
        probe_audio(path)


def test_folder_fifo_and_device_refused(tmp_path):
    with pytest.raises(AudioError, match="is a folder"):
        probe_audio(tmp_path)
    with pytest.raises(AudioError, match="is a device"):
        probe_audio("/dev/null")
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def probe() -> None:
        try:
            probe_audio(fifo)
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    # A FIFO with no writer would block open() forever: run it where a hang fails the test.
    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(5.0)
    assert not worker.is_alive(), "probing a FIFO hung"
    assert isinstance(errors[0], AudioError) and "FIFO" in str(errors[0])


def test_header_rate_and_channel_limits(tmp_path):
    path = tmp_path / "many.wav"
    sf.write(path, np.zeros((1000, 3), np.float32), 16000)
    with pytest.raises(AudioError, match="3 channels; at most 2"):
        probe_audio(path, InputConfig(max_channels=2))
    with pytest.raises(AudioError, match="sample rate 1000 Hz is not supported"):
        ArraySource(np.zeros(1000, np.float32), 1000)
    with pytest.raises(AudioError, match="whole number of Hz"):
        ArraySource(np.zeros(1000, np.float32), "16000")


def test_array_source_layouts_and_int_scaling():
    x = (synth_speech(150.0, 1.0, 16000) * 32767).astype(np.int16)
    src = ArraySource(np.stack([x, x], axis=0), 16000)  # channels first
    assert src.channels_first and src.info.channels == 2 and src.info.subtype == "PCM_16"
    assert src.data[:, 0] == pytest.approx(x / 32768.0)
    with pytest.raises(AudioError, match="real numbers"):
        ArraySource(np.array(["a", "b"]), 16000)
    with pytest.raises(AudioError, match="shape"):
        ArraySource(np.zeros((2, 2, 2)), 16000)


# ------------------------------------------------------------------ pass 1: DC, anti-phase, DC only


def _stats(x: np.ndarray) -> InputStats:
    stats = InputStats(x.shape[1])
    for i in range(0, len(x), 3000):
        stats.push(x[i : i + 3000])
    return stats


def test_dc_offset_measured_and_removed():
    wav = synth_speech(150.0, 1.0, 16000)
    stats = _stats((wav + 0.2)[:, None])
    assert stats.dc[0] == pytest.approx(0.2 + wav.mean(), abs=1e-5)
    out = prepare_waveform(wav + 0.2, 16000)
    assert abs(float(out.mean())) < 1e-4
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean((wav - wav.mean()) ** 2)), rel=1e-3)


def test_dc_only_refused_with_the_right_reason():
    with pytest.raises(AudioError, match=r"only a constant \(DC\) offset \(\+0.200\)"):
        prepare_waveform(np.full(16000, 0.2, np.float32), 16000)


def test_anti_phase_stereo_is_not_silent():
    wav = synth_speech(150.0, 1.0, 16000)
    stats = _stats(np.stack([wav, -wav], axis=1))
    stats.check(InputConfig(), "x", 16000)  # not "silent"
    weights = stats.mix_weights()
    assert weights == pytest.approx([0.5, -0.5])
    assert stats.upmix_gains(weights) == pytest.approx([1.0, -1.0], abs=1e-5)
    mono = prepare_waveform(np.stack([wav, -wav], axis=1), 16000)
    assert np.sqrt(np.mean(mono**2)) == pytest.approx(np.sqrt(np.mean(wav**2)), rel=1e-2)


def test_upmix_gains_keep_each_channels_level():
    wav = synth_speech(150.0, 1.0, 16000)
    stats = _stats(np.stack([wav, 0.5 * wav, np.zeros_like(wav)], axis=1))
    gains = stats.upmix_gains(stats.mix_weights())
    mix = (wav + 0.5 * wav) / 3
    np.testing.assert_allclose(mix[:, None] * gains[None, :], np.stack([wav, 0.5 * wav, 0 * wav], 1), atol=1e-4)


# ------------------------------------------------------------------ streaming stages


def test_stream_resampler_equals_whole_and_exact_length():
    import soxr

    x = np.random.default_rng(0).standard_normal((44100 * 2 + 17, 2)).astype(np.float32)
    rs = StreamResampler(44100, 16000, 2)
    parts = [rs.push(x[i : i + 3001]) for i in range(0, len(x), 3001)] + [rs.flush()]
    y = np.concatenate(parts)
    assert len(y) == round(len(x) * 16000 / 44100)
    whole = soxr.resample(x, 44100, 16000, quality="HQ")
    n = min(len(y), len(whole))
    np.testing.assert_allclose(y[:n], whole[:n], atol=1e-5)


def test_chunker_cuts_in_pauses_with_bounded_buffer():
    sr = 16000
    wav = synth_speech(seconds=60.0, pause_every=3, pause_seconds=0.3)
    chunker = PauseChunker(sr, max_seconds=8.0, overlap_seconds=0.02)
    chunks, biggest = [], 0
    for i in range(0, len(wav), 4096):
        chunks += chunker.push(wav[i : i + 4096, None])
        biggest = max(biggest, chunker._n)
    chunks += chunker.flush()
    assert biggest <= 2 * 8 * sr + chunker.overlap + 4096  # the look-ahead buffer, not the input
    lengths = [len(c) - tail for c, _, tail in chunks]
    assert sum(lengths) == len(wav) and all(n <= 8 * sr for n in lengths)
    assert min(lengths) >= 8 * sr // 3
    level = np.sqrt(np.mean(wav**2))
    start = 0
    for n in lengths[:-1]:
        start += n
        assert np.sqrt(np.mean(wav[start - 160 : start + 160] ** 2)) < 0.1 * level  # each cut in a pause


def test_chunks_and_crossfade_reconstruct_identity_exactly():
    sr = 16000
    wav = synth_speech(seconds=50.0)[:, None].astype(np.float32)
    chunker, joiner = PauseChunker(sr, 8.0, 0.02), CrossfadeJoiner()
    out = []
    for chunk, lead, tail in chunker.push(wav) + chunker.flush():
        out.append(joiner.push(chunk.copy(), len(chunk), lead, tail))
    np.testing.assert_allclose(np.concatenate(out), wav, atol=1e-6)


def test_crossfade_with_tempo_change_keeps_length():
    sr = 16000
    wav = synth_speech(seconds=30.0)
    out = process_in_chunks(wav, sr, lambda x: np.interp(np.linspace(0, len(x) - 1, round(1.2 * len(x))),
                                                          np.arange(len(x)), x).astype(np.float32),
                            InputConfig(chunk_seconds=8.0))
    assert abs(len(out) - 1.2 * len(wav)) < 0.001 * len(wav)


def test_split_at_pauses_cuts_in_silence():
    sr = 16000
    wav = synth_speech(seconds=25.0, pause_every=3, pause_seconds=0.3)
    ranges = split_at_pauses(wav, sr, max_chunk_seconds=8.0)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(wav)
    assert all(b - a <= 8 * sr for a, b in ranges)
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))


def test_streaming_limiter_equals_whole_signal_and_never_exceeds():
    rng = np.random.default_rng(1)
    x = (0.5 * rng.standard_normal((48000, 2))).astype(np.float32)
    x[10000:10010] = 3.0
    whole = PeakLimiter(48000)
    ref = np.concatenate([whole.push(x), whole.flush()])
    lim = PeakLimiter(48000)
    parts = [lim.push(x[i : i + 777]) for i in range(0, len(x), 777)] + [lim.flush()]
    out = np.concatenate(parts)
    assert out.shape == x.shape and np.max(np.abs(out)) <= 0.99 + 1e-6
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert lim.active and "limiter" in lim.summary()
    quiet = 0.1 * x[:1000]
    np.testing.assert_array_equal(limit_peaks(quiet, 48000), quiet)  # untouched below the limit


def test_frame_rms_db_matches_definition_with_small_memory():
    x = synth_speech(seconds=2.0)
    level = frame_rms_db(x, 400, 80)
    padded = np.pad(x, (200, 200))
    naive = [20 * np.log10(np.sqrt(np.mean(padded[i * 80 : i * 80 + 400] ** 2) + 1e-12) + 1e-12)
             for i in range(len(level))]
    np.testing.assert_allclose(level, np.maximum(naive, -120.0), atol=1e-4)
    long = np.zeros(16000 * 600, np.float32)  # 10 min: the old index matrix was 4.8 GB
    tracemalloc.start()
    frame_rms_db(long, 400, 80)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 120 << 20


def test_audio_config_resample_target(tmp_path, speech_wav):
    wav, sr = speech_wav
    path = tmp_path / "a.wav"
    sf.write(path, wav, sr)
    out = load_audio(path, AudioConfig(sample_rate=8000, fmax=4000.0))
    assert abs(len(out) - len(wav) // 2) <= 2
