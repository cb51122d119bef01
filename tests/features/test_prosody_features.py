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
