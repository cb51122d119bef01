import numpy as np
import pytest

from promptevc.config import AudioConfig
from promptevc.features.prosody import extract_energy, extract_f0
from promptevc.utils.synth import synth_speech


@pytest.mark.parametrize("method", ["dio", "harvest"])
@pytest.mark.parametrize("f0_hz", [110.0, 220.0])
def test_f0_recovers_known_mean(method, f0_hz):
    wav = synth_speech(f0_hz=f0_hz, seconds=1.5)
    f0, voiced = extract_f0(wav, AudioConfig(), method=method)
    assert len(f0) == AudioConfig().num_frames(len(wav))
    assert voiced.mean() > 0.5
    err_st = 12 * np.log2(np.median(f0[voiced]) / f0_hz)
    assert abs(err_st) < 0.5


def test_energy_tracks_gain():
    wav = synth_speech(seconds=1.0)
    e1 = extract_energy(wav)
    e2 = extract_energy(wav * 2.0)
    loud = e1 > e1.max() - 20
    assert np.allclose((e2 - e1)[loud], 20 * np.log10(2.0), atol=0.05)
    assert len(e1) == AudioConfig().num_frames(len(wav))


# --------------------------------------------------------------------------------------------
# Mains hum: detected as a line, removed without touching the voice
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_detect_hum_finds_the_mains_line(hz):
    from low_voice import low_reader

    from promptevc.features.prosody import detect_hum

    wav, _ = low_reader(seed=2, dc=0.007, hum_dbfs=-42.0, hum_hz=hz)
    hum = detect_hum(wav, 16000)
    assert hum is not None and hum.hz == hz and hum.contrast_db >= 12.0
    assert hum.harmonics == (1,)  # the test hum has no harmonics; the voice's energy there is no line


def test_detect_hum_leaves_clean_speech_alone():
    from low_voice import low_reader

    from promptevc.features.prosody import detect_hum

    # A low voice sweeping through 50-60 Hz, and synthetic voices of 100-220 Hz: no hum.
    assert detect_hum(low_reader(seed=2)[0], 16000) is None
    for f0 in (100.0, 140.0, 220.0):
        assert detect_hum(synth_speech(f0_hz=f0, seconds=3.0, seed=1), 16000) is None
    # Under a second the 50/60 Hz lines cannot be told apart from speech: no decision.
    wav, _ = low_reader(seed=2, hum_dbfs=-30.0)
    assert detect_hum(wav[:12000], 16000) is None


@pytest.mark.parametrize("hz", [60.0, 60.05, 50.0])
def test_remove_hum_takes_the_line_and_keeps_the_voice(hz):
    from low_voice import low_reader

    from promptevc.features.prosody import f0_input

    clean, _ = low_reader(seed=2)
    dirty, _ = low_reader(seed=2, dc=0.007, hum_dbfs=-42.0, hum_hz=hz)  # mains may be a little off
    out, hum = f0_input(dirty, 16000)
    assert hum is not None and abs(out.mean()) < 1e-4  # the DC offset (0.007) is gone too
    residual = out - (clean - clean.mean())
    # The -42 dBFS line is 20 dB down in every quarter second (where the voice falls through
    # 52-70 Hz, it is least sure of the line) and 25 dB overall; the voice is what remains.
    for a in range(0, len(out) - 4000, 4000):
        assert 20 * np.log10(np.sqrt(np.mean(residual[a:a + 4000] ** 2))) < -62.0
    assert 20 * np.log10(np.sqrt(np.mean(residual ** 2))) < -67.0
    # A reused decision applies the same removal; None leaves the signal (less its mean) alone.
    again, same = f0_input(dirty, 16000, hum)
    assert same == hum and np.allclose(again, out)
    plain, none = f0_input(dirty, 16000, None)
    assert none is None and np.allclose(plain, dirty - dirty.astype(np.float64).mean())
