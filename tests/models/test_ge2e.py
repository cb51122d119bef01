"""GE2E speaker encoder on the packaged resemblyzer weights: frontend, loading, discrimination."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from promptevc.errors import ModelLoadError
from promptevc.utils.synth import synth_speech

pytest.importorskip("librosa")
ge2e = pytest.importorskip("promptevc.models.ge2e")


def _voice(f0_hz: float, formant_scale: float, vowels: str, seed: int, syllable_seconds: float = 0.22,
           seconds: float = 3.0) -> np.ndarray:
    """A synthetic "speaker": synthesising at 16000/scale Hz and reading it as 16 kHz scales F0,
    formants (vocal-tract length) and tempo together by ``formant_scale``."""
    rate = round(16000 / formant_scale)
    return synth_speech(f0_hz / formant_scale, seconds * formant_scale, rate, vowels=vowels, seed=seed,
                        syllable_seconds=syllable_seconds * formant_scale)


@pytest.fixture(scope="module")
def model():
    if ge2e.importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("resemblyzer is not installed (pip install resemblyzer)")
    return ge2e.load_ge2e("cpu")


def test_frontend_matches_librosa(model):
    import librosa

    wav = synth_speech(150.0, 1.0, 16000)
    ref = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    mel = model.wav_to_mel(torch.from_numpy(wav)[None])[0].numpy()
    assert mel.shape == ref.shape == (len(wav) // 160 + 1, 40)
    np.testing.assert_allclose(mel, ref, atol=1e-5 * ref.max())


def test_batched_forward_shapes_and_norm(model):
    mels = torch.rand(3, 160, 40)
    out = model(mels)
    assert out.shape == (3, 256)
    np.testing.assert_allclose(out.norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert (out >= 0).all()  # ReLU before normalisation


def test_same_speaker_more_similar_than_other_speakers(model):
    a1 = _voice(120, 1.0, "aieou", seed=0)
    a2 = _voice(120, 1.0, "ouiea", seed=1, syllable_seconds=0.18)  # same voice, different "words"
    b = _voice(220, 1.25, "aieou", seed=0)  # higher voice, shorter vocal tract
    c = _voice(90, 0.85, "aieou", seed=0)  # lower voice, longer vocal tract
    e = {k: model.embed_utterance(v) for k, v in {"a1": a1, "a2": a2, "b": b, "c": c}.items()}
    for v in e.values():
        assert v.shape == (256,)
        assert abs(np.linalg.norm(v) - 1.0) < 1e-5
    same = ge2e.cosine_similarity(e["a1"], e["a2"])
    assert same > 0.9
    for other in ("b", "c"):
        assert same > ge2e.cosine_similarity(e["a1"], e[other]) + 0.1
        assert same > ge2e.cosine_similarity(e["a2"], e[other]) + 0.1


def test_deterministic_and_gain_invariant(model):
    wav = synth_speech(150.0, 2.0, 16000)
    first = model.embed_utterance(wav)
    np.testing.assert_array_equal(first, model.embed_utterance(wav))
    assert ge2e.cosine_similarity(first, model.embed_utterance(wav * 2.0)) > 0.999
    short = model.embed_utterance(wav[:4000])  # shorter than one partial window still works
    assert short.shape == (256,) and np.isfinite(short).all()


def test_load_is_cached_and_strict(model):
    assert ge2e.load_ge2e("cpu") is model
    state = ge2e._state_from_file(ge2e.resemblyzer_weights_path())
    assert set(state) == set(model.state_dict())


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(ge2e.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelLoadError, match="pip install resemblyzer"):
        ge2e.resemblyzer_weights_path()


def test_partial_slices_cover_utterance():
    slices = ge2e.GE2E.partial_slices(400)
    assert slices[0] == slice(0, 160)
    assert all(s.stop - s.start == 160 for s in slices)
    assert slices[1].start - slices[0].start == 80  # 50 % overlap
    assert slices[-1].stop >= 400 * 0.9
    assert ge2e.GE2E.partial_slices(10) == [slice(0, 160)]
