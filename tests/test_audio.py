import numpy as np
import pytest
import soundfile as sf

from promptevc.audio import (
    check_output_path,
    join_with_crossfade,
    load_audio,
    process_in_chunks,
    split_at_pauses,
    write_audio,
)
from promptevc.config import AudioConfig, InputConfig
from promptevc.errors import AudioError, OutputExistsError


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


def test_write_atomic_and_no_clobber(tmp_path, speech_wav):
    wav, sr = speech_wav
    out = tmp_path / "o.wav"
    write_audio(out, wav, sr)
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_audio(out, wav * 0.5, sr)
    assert out.read_bytes() == before
    write_audio(out, wav * 0.5, sr, overwrite=True)
    assert out.read_bytes() != before
    assert not list(tmp_path.glob("*.tmp"))


def test_output_equal_to_input_refused(tmp_path, speech_file):
    with pytest.raises(OutputExistsError, match="overwrite the input"):
        check_output_path(speech_file, [speech_file], overwrite=True)


def test_split_at_pauses_cuts_in_silence():
    sr = 16000
    from promptevc.utils.synth import synth_speech

    wav = synth_speech(seconds=25.0, pause_every=3, pause_seconds=0.3)
    ranges = split_at_pauses(wav, sr, max_chunk_seconds=8.0)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(wav)
    assert all(b - a <= 8 * sr for a, b in ranges)
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    # Every cut lands in a quiet place (20 ms around it well below the speech level).
    level = np.sqrt(np.mean(wav**2))
    for _, cut in ranges[:-1]:
        local = wav[max(0, cut - 160) : cut + 160]
        assert np.sqrt(np.mean(local**2)) < 0.1 * level


def test_process_in_chunks_identity_is_seamless():
    from promptevc.utils.synth import synth_speech

    wav = synth_speech(seconds=25.0)
    out = process_in_chunks(wav, 16000, lambda x: x, InputConfig(chunk_seconds=8.0, crossfade_seconds=0.0))
    np.testing.assert_allclose(out, wav)
    faded = join_with_crossfade([np.ones(100), np.ones(100)], 1000, 0.01)
    assert len(faded) == 190


def test_audio_config_resample_target(tmp_path, speech_wav):
    wav, sr = speech_wav
    path = tmp_path / "a.wav"
    sf.write(path, wav, sr)
    out = load_audio(path, AudioConfig(sample_rate=8000, fmax=4000.0))
    assert abs(len(out) - len(wav) // 2) <= 2
