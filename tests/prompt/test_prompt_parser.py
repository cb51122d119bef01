"""Zero-shot prompt parser: accuracy on hand-written phrasings, degree, negation, mixtures, hints, cache."""

from __future__ import annotations

import numpy as np
import pytest
from phrasings import PHRASINGS

from promptevc.errors import PromptError
from promptevc.prompt.control import EMOTIONS

# The word used for each emotion in degree tests. For neutral, intensity is the strength of
# neutrality (how far the delivery is flattened): "slightly calm" < "calm" < "extremely calm".
DEGREE_WORDS = {"neutral": "calm", "angry": "angry", "happy": "happy", "sad": "sad", "surprise": "surprised"}


def test_phrasing_set_is_large_and_covers_every_emotion():
    assert len(PHRASINGS) >= 150
    assert len({p for p, _ in PHRASINGS}) == len(PHRASINGS), "duplicate phrasings"
    for emotion in EMOTIONS:
        assert sum(e == emotion for _, e in PHRASINGS) >= 25, emotion


def test_top_emotion_accuracy_on_phrasings(parser):
    failures = []
    for prompt, expected in PHRASINGS:
        control = parser.parse(prompt)
        if control.emotion != expected:
            failures.append(f"{prompt!r}: expected {expected}, got {control.summary()}")
    accuracy = 1 - len(failures) / len(PHRASINGS)
    print(f"\nphrasing accuracy {accuracy:.3f} ({len(PHRASINGS) - len(failures)}/{len(PHRASINGS)})")
    for line in failures:
        print("  FAIL", line)
    assert accuracy >= 0.90, "\n".join(failures)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_slightly_lt_bare_lt_extremely(parser, emotion):
    word = DEGREE_WORDS[emotion]
    low, mid, high = (parser.parse(p) for p in (f"slightly {word}", word, f"extremely {word}"))
    for control in (low, mid, high):
        assert control.emotion == emotion, control.summary()
    assert low.intensity < mid.intensity < high.intensity
    assert mid.intensity == pytest.approx(0.6, abs=0.1)  # a bare emotion word: ~0.6
    assert high.intensity - low.intensity >= 0.4


@pytest.mark.parametrize(
    "weaker, stronger",
    [("annoyed", "angry"), ("angry", "furious"), ("content", "happy"), ("happy", "ecstatic"),
     ("a bit sad", "sad"), ("sad", "devastated"), ("mildly surprised", "surprised"),
     ("surprised", "flabbergasted"), ("a little happy", "very happy"), ("somewhat angry", "really angry")],
)
def test_degree_words_order(parser, weaker, stronger):
    a, b = parser.parse(weaker), parser.parse(stronger)
    assert a.emotion == b.emotion
    assert a.intensity < b.intensity, (a.summary(), b.summary())


def test_negation(parser):
    control = parser.parse("not angry at all")
    assert control.emotion == "neutral"
    assert control.probs["angry"] < 0.05
    control = parser.parse("not sad anymore, rather cheerful")
    assert control.emotion == "happy" and control.probs["sad"] < 0.05
    control = parser.parse("I am no longer happy")
    assert control.emotion != "happy" and control.probs["happy"] < 0.05
    # "not very X" softens instead of negating.
    mild, plain = parser.parse("not very angry"), parser.parse("angry")
    assert mild.emotion == "angry" and mild.intensity < plain.intensity


def test_mixture_keeps_main_emotion_dominant(parser):
    control = parser.parse("happy with a hint of surprise")
    ranked = sorted(EMOTIONS, key=lambda e: -control.probs[e])
    assert ranked[:2] == ["happy", "surprise"]
    assert 0.15 <= control.probs["surprise"] <= 0.45 and control.probs["happy"] >= 0.5
    even = parser.parse("angry and sad")
    assert even.probs["angry"] > 0.3 and even.probs["sad"] > 0.3
    neutral_main = parser.parse("neutral with a touch of sadness")
    assert neutral_main.emotion == "neutral" and neutral_main.probs["sad"] >= 0.15
    mostly = parser.parse("mostly sad, a bit angry")
    assert mostly.emotion == "sad" and mostly.probs["angry"] >= 0.15


@pytest.mark.parametrize(
    "prompt, field, lo, hi",
    [("a bit faster", "tempo", 0.4, 0.6), ("faster", "tempo", 0.5, 0.7), ("much faster", "tempo", 0.9, 1.0),
     ("slower", "tempo", -0.7, -0.5), ("in a lower voice", "pitch", -0.7, -0.5),
     ("with a higher pitch", "pitch", 0.5, 0.7), ("louder", "volume", 0.5, 0.7), ("softly", "volume", -0.7, -0.5),
     ("slowing down a little", "tempo", -0.5, -0.3)],
)
def test_hints(parser, prompt, field, lo, hi):
    hints = parser.parse(f"sad, {prompt}").hints
    value = getattr(hints, field)
    assert lo <= value <= hi, (prompt, hints)
    others = [getattr(hints, f) for f in ("tempo", "pitch", "volume") if f != field]
    assert others == [0.0, 0.0]


def test_hints_do_not_change_the_emotion_or_intensity(parser):
    plain, hinted = parser.parse("a little sad"), parser.parse("a little sad, a bit faster and louder")
    assert hinted.emotion == "sad"
    assert hinted.intensity == pytest.approx(plain.intensity, abs=0.05)
    assert hinted.hints.tempo > 0 and hinted.hints.volume > 0
    assert parser.parse("not faster").hints.tempo == 0.0


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_empty_prompt_is_an_error(parser, prompt):
    with pytest.raises(PromptError, match="empty"):
        parser.parse(prompt)


@pytest.mark.parametrize("prompt", ["read this sentence", "convert my voice please", "hello"])
def test_no_emotional_content_falls_back_to_neutral_with_warning(parser, prompt):
    control = parser.parse(prompt)
    assert control.emotion == "neutral"
    assert control.warnings and "no emotion" in control.warnings[0]


def test_emotional_prompts_have_no_warning_and_keep_the_prompt(parser):
    control = parser.parse("very happy")
    assert control.warnings == [] and control.prompt == "very happy"
    assert sum(control.probs.values()) == pytest.approx(1.0)


def test_typos_are_corrected(parser):
    assert parser.parse("verry hapy").emotion == "happy"
    assert parser.parse("verry hapy").intensity > parser.parse("hapy").intensity
    assert parser.parse("suprised").emotion == "surprise"


def test_encoder_output_is_unit_norm_and_semantic(encoder):
    emb = encoder.encode(["very happy", "joyful and delighted", "furious and shouting"])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.1


class _HashEncoder:
    """Deterministic stand-in for the sentence encoder: the cache logic needs no real model."""

    name = "test-hash-encoder"
    dim = 384

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, sentences):
        self.calls += 1
        out = np.stack([np.random.default_rng(abs(hash(s)) % 2**32).standard_normal(self.dim) for s in sentences])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_anchor_cache_written_reused_and_rebuilt_when_corrupt(tmp_path, caplog):
    from promptevc.prompt.parser import _MEMORY_CACHE, ZeroShotParser

    enc = _HashEncoder()
    first = ZeroShotParser(enc, cache_dir=tmp_path)
    path = first.cache_path()
    assert not first.cache_hit and path.exists() and enc.calls == 1
    _MEMORY_CACHE.pop(first.cache_key)
    second = ZeroShotParser(enc, cache_dir=tmp_path)
    assert second.cache_hit and enc.calls == 1  # read from disk, nothing encoded
    np.testing.assert_array_equal(first._anchor_emb["sad"], second._anchor_emb["sad"])
    third = ZeroShotParser(enc, cache_dir=tmp_path / "elsewhere")  # in-memory reuse, no disk access
    assert third.cache_hit and enc.calls == 1 and not (tmp_path / "elsewhere").exists()
    # A corrupt file is ignored with a warning and rebuilt with valid contents.
    path.write_bytes(b"not an npz file")
    _MEMORY_CACHE.pop(first.cache_key)
    fourth = ZeroShotParser(enc, cache_dir=tmp_path)
    assert not fourth.cache_hit and enc.calls == 2
    assert "ignoring anchor cache" in caplog.text
    np.testing.assert_allclose(fourth._anchor_emb["sad"], first._anchor_emb["sad"], atol=1e-6)
    _MEMORY_CACHE.pop(first.cache_key)
    assert ZeroShotParser(enc, cache_dir=tmp_path).cache_hit and enc.calls == 2
    _MEMORY_CACHE.pop(first.cache_key)


def test_anchor_cache_key_depends_on_model_and_anchors(tmp_path, monkeypatch):
    from promptevc.prompt import anchors
    from promptevc.prompt.parser import _MEMORY_CACHE, ZeroShotParser

    enc = _HashEncoder()
    keys = [ZeroShotParser(enc, cache_dir=False).cache_key]
    monkeypatch.setitem(anchors.ANCHORS, "sad", anchors.ANCHORS["sad"] + ("weeping quietly",))
    keys.append(ZeroShotParser(enc, cache_dir=False).cache_key)
    enc.name = "another-model"
    keys.append(ZeroShotParser(enc, cache_dir=False).cache_key)
    assert len(set(keys)) == 3
    for key in keys:
        _MEMORY_CACHE.pop(key, None)


def test_get_parser_is_cached(parser):
    from promptevc.prompt.parser import get_parser

    assert get_parser() is parser
    assert parser.parse("calm").emotion == "neutral"


def test_shipped_anchor_embeddings_are_current(parser, encoder, tmp_path):
    """Fails after the anchors change: regenerate with parser.write_packaged_anchors()."""
    from promptevc.prompt.parser import _MEMORY_CACHE, PACKAGED_ANCHORS, ZeroShotParser

    texts = parser._anchor_texts()
    shipped = parser._read_npz(PACKAGED_ANCHORS, parser.cache_key, texts)
    assert shipped is not None, (
        "stale promptevc/resources/prompt_anchor_embeddings.npz; regenerate it with "
        "python -c 'from promptevc.prompt.parser import write_packaged_anchors as w; w()'")
    np.testing.assert_allclose(shipped[:8], encoder.encode(texts[:8]), atol=1e-5)
    # A first run with an empty user cache takes them (no encoding) and fills the user cache.
    saved = _MEMORY_CACHE.pop(parser.cache_key)
    try:
        fresh = ZeroShotParser(encoder, cache_dir=tmp_path)
        assert fresh.cache_hit and fresh.cache_path().exists()
    finally:
        _MEMORY_CACHE[parser.cache_key] = saved
