"""Training prompt generator: coverage, held-out disjointness, determinism, parser agreement."""

from __future__ import annotations

import random
import re
import statistics

import pytest

from promptevc.prompt import templates as T
from promptevc.prompt.control import EMOTIONS

HINTS = [None, ("tempo", 1), ("tempo", -1), ("pitch", 1), ("pitch", -1), ("volume", 1), ("volume", -1)]


def _words(phrases) -> set[str]:
    return {p.strip(" .,?!").lower() for p in phrases}


def test_template_counts():
    assert len(T.train_frames()) >= 200
    assert len(set(T.train_frames())) == len(T.train_frames()), "duplicate training frames"
    assert len(T.heldout_frames()) >= 25
    for emotion in EMOTIONS:
        assert len(T.NOUNS[emotion]) >= 3 and len(T.CORE_ADJ[emotion]) >= 3
    for bucket in T.BUCKETS:
        assert len(T.DEGREE_ADVERBS[bucket]) >= 5 and len(T.NOUN_DEGREES[bucket]) >= 5
    for key in T.HINT_PHRASES:
        assert len(T.HINT_PHRASES[key]) >= 4


def test_heldout_wording_is_disjoint_from_training():
    assert not _words(T.train_frames()) & _words(T.heldout_frames())
    assert not set(T.MIX_NOUN_PHRASES + T.MIX_ADJ_PHRASES) & set(T.HELDOUT_MIX_NOUN_PHRASES + T.HELDOUT_MIX_ADJ_PHRASES)
    for key, phrases in T.HELDOUT_HINT_PHRASES.items():
        assert not set(phrases) & {p for v in T.HINT_PHRASES.values() for p in v}, key
    train_words = {w for e in T.LEVEL_ADJ for b in T.BUCKETS for w in T.LEVEL_ADJ[e][b]}
    heldout_words = {w for e in T.HELDOUT_LEVEL_ADJ for b in T.BUCKETS for w in T.HELDOUT_LEVEL_ADJ[e][b]}
    assert not train_words & heldout_words
    # Generated held-out prompts never reuse a training frame verbatim.
    rng = random.Random(0)
    train_frames = {f.rstrip(".?!") for f in T.train_frames() if "{" not in f}
    for _ in range(200):
        text = T.generate_prompt(rng.choice(EMOTIONS), rng.choice(T.BUCKETS), rng, split="heldout")
        assert text.rstrip(".?!") not in train_frames


def test_heldout_prompts_never_occur_in_the_training_prompt_set(tmp_path):
    """Whole held-out prompts (any emotion, bucket, mixture, hint) are never ones the training
    split can produce; training prompts always are (the check can fail)."""
    rng = random.Random(5)
    seen = set()
    for _ in range(4):
        for emotion in EMOTIONS:
            for bucket in T.BUCKETS:
                for second in [None] + [e for e in EMOTIONS if e != emotion]:
                    for hint in HINTS:
                        held = T.generate_prompt(emotion, bucket, rng, second_emotion=second, hint=hint, split="heldout")
                        train = T.generate_prompt(emotion, bucket, rng, second_emotion=second, hint=hint)
                        assert not T.occurs_in_training(held), held
                        assert T.occurs_in_training(train), train
                        seen.add(held)
    assert len(seen) > 1000
    assert len(T.training_phrasings()) > 50_000
    # the held-out utt2prompt that make-prompts writes for stage 8-9 conversions
    from promptevc.cli import main
    from promptevc.data.kaldi import read_scp, write_scp

    write_scp(tmp_path / "utt2emo", {f"u{i:03d}": EMOTIONS[i % 5] for i in range(200)})
    write_scp(tmp_path / "utt2intensity", {f"u{i:03d}": f"{(i % 10) / 10:.1f}" for i in range(200)})
    assert main(["make-prompts", "--data", str(tmp_path), "--split", "heldout", "--out", str(tmp_path / "held")]) == 0
    assert not any(T.occurs_in_training(p) for p in read_scp(tmp_path / "held").values())
    assert main(["make-prompts", "--data", str(tmp_path)]) == 0
    assert all(T.occurs_in_training(p) for p in read_scp(tmp_path / "utt2prompt").values())


@pytest.mark.parametrize("split", T.SPLITS)
def test_every_emotion_bucket_mixture_and_hint_generates_clean_text(split):
    rng = random.Random(1)
    for emotion in EMOTIONS:
        for bucket in T.BUCKETS:
            for second in [None] + [e for e in EMOTIONS if e != emotion]:
                for hint in HINTS:
                    text = T.generate_prompt(emotion, bucket, rng, second_emotion=second, hint=hint, split=split)
                    assert text and text[0].isupper(), text
                    assert "{" not in text and "  " not in text and " ," not in text, text
                    assert not re.search(r"\ba [aeiou]", text), text  # articles fixed
                    if second is not None:
                        assert any(n in text for n in T.NOUNS[second]) or T.CORE_ADJ[second][0] in text, text


def test_generation_is_deterministic_with_a_seed():
    def batch(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [T.generate_prompt(e, b, rng) for e in EMOTIONS for b in T.BUCKETS for _ in range(5)]

    assert batch(7) == batch(7)
    assert batch(7) != batch(8)
    assert len(set(batch(7))) > 50  # varied wording


def test_bucket_for_intensity():
    assert [T.bucket_for_intensity(x) for x in (0.0, 0.29, 0.3, 0.69, 0.7, 1.0)] == [
        "low", "low", "medium", "medium", "high", "high"]
    assert T.bucket_for_intensity(0.5, lo=0.55, hi=0.8) == "low"
    assert T.bucket_for_intensity(0.85, lo=0.55, hi=0.8) == "high"
    with pytest.raises(ValueError):
        T.bucket_for_intensity(0.5, lo=0.8, hi=0.2)


def test_bad_arguments():
    from promptevc.errors import PromptError

    rng = random.Random(0)
    with pytest.raises(PromptError):
        T.generate_prompt("bored", "low", rng)
    with pytest.raises(ValueError, match="bucket"):
        T.generate_prompt("sad", "huge", rng)
    with pytest.raises(ValueError, match="second_emotion"):
        T.generate_prompt("sad", "low", rng, second_emotion="sad")
    with pytest.raises(ValueError, match="hint"):
        T.generate_prompt("sad", "low", rng, hint=("speed", 1))
    with pytest.raises(ValueError, match="split"):
        T.generate_prompt("sad", "low", rng, split="test")


@pytest.mark.parametrize("split", T.SPLITS)
def test_parser_recovers_emotion_and_bucket_order_of_generated_prompts(parser, split):
    rng = random.Random(3)
    correct, total, failures = 0, 0, []
    by_bucket: dict[str, list[float]] = {b: [] for b in T.BUCKETS}
    for i in range(120):
        emotion = EMOTIONS[i % len(EMOTIONS)]
        bucket = T.BUCKETS[(i // len(EMOTIONS)) % 3]
        second = rng.choice([None, None] + [e for e in EMOTIONS if e != emotion])
        hint = rng.choice(HINTS)
        text = T.generate_prompt(emotion, bucket, rng, second_emotion=second, hint=hint, split=split)
        control = parser.parse(text)
        total += 1
        if control.emotion == emotion:
            correct += 1
            if emotion != "neutral" and second is None:
                by_bucket[bucket].append(control.intensity)
        else:
            failures.append(f"{text!r} ({emotion}): {control.summary()}")
    accuracy = correct / total
    print(f"\n{split}: parser recovers {accuracy:.3f} of generated prompts")
    for line in failures:
        print("  FAIL", line)
    assert accuracy >= 0.85
    means = [statistics.mean(by_bucket[b]) for b in T.BUCKETS]
    assert means[0] < means[1] < means[2], means
