"""Training prompts: text prompts generated from (emotion, intensity bucket, mixture, hint).

ESD has no prompts, so the neural model learns from generated ones (DESIGN §4, issue 3 item 6).
A prompt is a *frame* (sentence shape) whose slot is filled from a synonym bank:

* ``{adj}``   an adjective phrase: degree adverb + core adjective ("slightly sad"), or a word that
  carries its own degree ("devastated");
* ``{manner}`` how to speak: an adverb phrase ("very angrily") or "with <noun phrase>";
* ``{noun}``  a noun phrase ("a hint of sadness", "overwhelming joy").

An optional second emotion is attached to the slot as a minor part ("... with a touch of
surprise"); an optional tempo/pitch/volume hint is appended as a clause. Two disjoint sets exist:
``split="train"`` (>= 200 frames, used to build ``utt2prompt``) and ``split="heldout"`` (other
frames, mixture phrases, hint phrases and some synonyms) for testing phrasings the model never saw.
Neutral prompts ignore the bucket (ESD neutral speech has intensity 0).
"""

from __future__ import annotations

import random
import re

from promptevc.prompt.control import normalise_label

BUCKETS: tuple[str, ...] = ("low", "medium", "high")
SPLITS: tuple[str, ...] = ("train", "heldout")
HINT_FIELDS: tuple[str, ...] = ("tempo", "pitch", "volume")


def bucket_for_intensity(x: float, lo: float = 0.3, hi: float = 0.7) -> str:
    """Intensity in [0, 1] -> "low" (x < lo) | "medium" | "high" (x >= hi).

    ``lo``/``hi`` are the 30 % and 70 % quantiles of the corpus intensities (DESIGN §4 buckets
    30/40/30); the defaults suit uniformly ranked pseudo-labels.
    """
    if not lo <= hi:
        raise ValueError(f"bucket thresholds must satisfy lo <= hi, got {lo} and {hi}")
    x = float(x)
    if x < lo:
        return "low"
    if x < hi:
        return "medium"
    return "high"


# ------------------------------------------------------------------------------------ synonym bank
# Adjectives that read naturally after a degree adverb.
CORE_ADJ: dict[str, tuple[str, ...]] = {
    "neutral": ("calm", "neutral", "composed", "even", "unemotional", "matter-of-fact", "flat", "plain"),
    "angry": ("angry", "mad", "cross", "irritated", "frustrated", "annoyed"),
    "happy": ("happy", "cheerful", "joyful", "glad", "upbeat", "delighted"),
    "sad": ("sad", "unhappy", "gloomy", "sorrowful", "down", "melancholy"),
    "surprise": ("surprised", "amazed", "astonished", "shocked", "startled"),
}
# Words that carry their own degree and are used bare.
LEVEL_ADJ: dict[str, dict[str, tuple[str, ...]]] = {
    "angry": {"low": ("annoyed", "irritated", "miffed", "grumpy"), "medium": ("angry", "mad", "cross"),
              "high": ("furious", "enraged", "livid", "seething", "outraged")},
    "happy": {"low": ("content", "pleased", "glad"), "medium": ("happy", "cheerful", "joyful"),
              "high": ("ecstatic", "overjoyed", "thrilled", "elated", "euphoric")},
    "sad": {"low": ("wistful", "glum", "a little down"), "medium": ("sad", "unhappy", "gloomy"),
            "high": ("devastated", "heartbroken", "grief-stricken", "miserable")},
    "surprise": {"low": ("taken aback", "mildly startled", "a little puzzled"), "medium": ("surprised", "amazed"),
                 "high": ("astonished", "flabbergasted", "stunned", "dumbfounded")},
}
NOUNS: dict[str, tuple[str, ...]] = {
    "neutral": ("calm", "composure", "neutrality", "detachment"),
    "angry": ("anger", "irritation", "frustration", "annoyance"),
    "happy": ("happiness", "joy", "cheer", "delight", "excitement"),
    "sad": ("sadness", "sorrow", "melancholy", "gloom"),
    "surprise": ("surprise", "amazement", "astonishment", "disbelief"),
}
ADVERBS: dict[str, tuple[str, ...]] = {
    "neutral": ("calmly", "neutrally", "flatly", "evenly", "plainly"),
    "angry": ("angrily", "crossly", "irritably"),
    "happy": ("happily", "cheerfully", "joyfully"),
    "sad": ("sadly", "sorrowfully", "gloomily", "mournfully"),
    "surprise": (),  # no natural adverb: manner slots use "with surprise" / "in amazement"
}
DEGREE_ADVERBS: dict[str, tuple[str, ...]] = {
    "low": ("slightly", "a little", "a bit", "somewhat", "mildly", "a touch", "a tad", "faintly", "kind of"),
    "medium": ("", "", "", "quite", "fairly", "clearly", "noticeably", "genuinely", "pretty"),
    "high": ("very", "extremely", "really", "incredibly", "deeply", "utterly", "intensely", "terribly",
             "completely", "absolutely", "overwhelmingly"),
}
NOUN_DEGREES: dict[str, tuple[str, ...]] = {
    "low": ("a hint of", "a touch of", "a trace of", "a little", "slight", "mild", "a bit of", "faint"),
    "medium": ("", "", "clear", "noticeable", "real", "evident", "some"),
    "high": ("intense", "overwhelming", "deep", "great", "tremendous", "a lot of", "extreme", "utter"),
}
# Mixture clauses appended to the prompt; {n2} = the second emotion's noun, {a2} its adjective.
# Adjective forms ("and a bit surprised") are never used after neutral, where the parser (and
# listeners) would read "calm and a bit surprised" as mildly surprised.
MIX_NOUN_PHRASES: tuple[str, ...] = (
    "with a hint of {n2}", "with a touch of {n2}", "with a little {n2}", "tinged with {n2}",
    "with some {n2} mixed in", "plus a trace of {n2}", "with a dash of {n2}", "and a hint of {n2}",
    "with a bit of {n2}", "with a note of {n2}",
)
MIX_ADJ_PHRASES: tuple[str, ...] = (
    "but also slightly {a2}", "and a bit {a2}", "and a little {a2} too", "though slightly {a2}",
)
HINT_PHRASES: dict[tuple[str, int], tuple[str, ...]] = {
    ("tempo", 1): ("a bit faster", "faster", "at a quicker pace", "more quickly", "speeding up a little",
                   "a little faster", "much faster"),
    ("tempo", -1): ("a bit slower", "slower", "at a slower pace", "more slowly", "slowing down a little",
                    "a little slower", "much slower"),
    ("pitch", 1): ("in a higher voice", "with a higher pitch", "a bit higher-pitched", "in a high voice",
                   "with the pitch raised a little"),
    ("pitch", -1): ("in a lower voice", "with a lower pitch", "a bit lower-pitched", "in a deeper voice",
                    "with a deep voice"),
    ("volume", 1): ("louder", "a bit louder", "loudly", "with more volume", "much louder"),
    ("volume", -1): ("softly", "more quietly", "a bit quieter", "in a soft voice", "quietly"),
}

# Held-out bank: disjoint frames, mixture and hint phrases; a few synonyms never used in training.
HELDOUT_LEVEL_ADJ: dict[str, dict[str, tuple[str, ...]]] = {
    "angry": {"low": ("vexed", "testy"), "medium": ("indignant", "heated"), "high": ("irate", "fuming", "incensed")},
    "happy": {"low": ("chipper", "satisfied"), "medium": ("jolly", "merry"), "high": ("jubilant", "blissful")},
    "sad": {"low": ("downcast", "a tad blue"), "medium": ("dejected", "forlorn"), "high": ("crestfallen", "despairing")},
    "surprise": {"low": ("caught off guard", "bemused"), "medium": ("astounded", "incredulous"),
                 "high": ("thunderstruck", "gobsmacked")},
}
HELDOUT_DEGREE_ADVERBS: dict[str, tuple[str, ...]] = {
    "low": ("a wee bit", "marginally", "ever so slightly", "just a tad"),
    "medium": ("", "reasonably", "properly"),
    "high": ("tremendously", "awfully", "insanely", "profoundly"),
}
HELDOUT_MIX_NOUN_PHRASES: tuple[str, ...] = (
    "with an undercurrent of {n2}", "laced with {n2}", "and a dash of {n2} too", "with a sprinkle of {n2}",
)
HELDOUT_MIX_ADJ_PHRASES: tuple[str, ...] = ("yet faintly {a2}", "while a wee bit {a2}")
HELDOUT_HINT_PHRASES: dict[tuple[str, int], tuple[str, ...]] = {
    ("tempo", 1): ("picking up the pace", "a touch quicker", "in a hurry"),
    ("tempo", -1): ("taking your time", "in an unhurried way", "a touch slower"),
    ("pitch", 1): ("pitched up a bit", "in a squeaky voice"),
    ("pitch", -1): ("pitched down a bit", "in a low-pitched voice"),
    ("volume", 1): ("projecting your voice", "at full volume"),
    ("volume", -1): ("in a hushed voice", "almost whispering"),
}

# ------------------------------------------------------------------------------------ frames
# {adj}: adjective phrase. 80 frames.
ADJ_FRAMES: tuple[str, ...] = (
    "{adj}", "{adj}.", "{adj}, please.", "Sound {adj}.", "Make it sound {adj}.", "Make the voice sound {adj}.",
    "Make this recording sound {adj}.", "Make me sound {adj}.", "Make the speaker sound {adj}.",
    "The speaker should sound {adj}.", "I want it to sound {adj}.", "I'd like this to sound {adj}.",
    "Can you make it sound {adj}?", "Could you make the voice sound {adj}?", "Please make it {adj}.",
    "Turn this into a {adj} voice.", "A {adj} voice.", "A {adj} tone.", "A {adj} delivery.",
    "In a {adj} voice.", "In a {adj} tone.", "In a {adj} way.", "In a {adj} manner.", "With a {adj} voice.",
    "Speak in a {adj} voice.", "Read it in a {adj} tone.", "Say it in a {adj} way.",
    "Deliver the line in a {adj} voice.", "Read this like someone {adj}.", "Speak like a {adj} person.",
    "Say this as if you were {adj}.", "Read this as if you are {adj}.", "Pretend you are {adj}.",
    "Act {adj}.", "You are {adj}.", "You feel {adj}.", "Feeling {adj}.", "The mood is {adj}.",
    "Mood: {adj}.", "Emotion: {adj}.", "Tone: {adj}.", "Style: {adj}.", "Voice: {adj}.",
    "Target emotion: {adj}.", "Convert to a {adj} voice.", "Convert this to sound {adj}.",
    "Change the emotion to {adj}.", "Change the tone to {adj}.", "Re-voice it as {adj}.",
    "The voice should be {adj}.", "It should come across as {adj}.", "Let it come across {adj}.",
    "Let the speaker seem {adj}.", "Make the speaker seem {adj}.", "Sounding {adj}.", "Sound really like you're {adj}.",
    "Like someone who is {adj}.", "Like a person feeling {adj}.", "As though the speaker is {adj}.",
    "As if {adj}.", "Give it a {adj} feel.", "Give the voice a {adj} quality.", "Give me a {adj} reading.",
    "Render it {adj}.", "Render this sentence in a {adj} voice.", "Express this {adj}.",
    "Perform this line {adj}.", "Perform it as a {adj} character.", "A {adj} speaker.",
    "The speaker is {adj}.", "Someone {adj} saying this.", "How would a {adj} person say this?",
    "Say it like you're {adj}.", "Say it like you feel {adj}.", "Read it {adj}.", "Just {adj}.",
    "Keep it {adj}.", "Go for {adj}.", "Aim for a {adj} sound.", "I need a {adj} version of this.",
)
# {manner}: how to speak ("very angrily", "with a hint of sadness"). 65 frames.
MANNER_FRAMES: tuple[str, ...] = (
    "Speak {manner}.", "Say it {manner}.", "Say this {manner}.", "Read it {manner}.", "Read this {manner}.",
    "Read the sentence {manner}.", "Read the line {manner}.", "Deliver it {manner}.", "Deliver the line {manner}.",
    "Talk {manner}.", "Please speak {manner}.", "Please say it {manner}.", "Could you say it {manner}?",
    "Can you read it {manner}?", "Say it {manner}, please.", "Read it {manner}, please.",
    "I want this read {manner}.", "I'd like it spoken {manner}.", "It should be spoken {manner}.",
    "This should be said {manner}.", "Have the speaker talk {manner}.", "Make the speaker talk {manner}.",
    "Make the speaker say it {manner}.", "Let them speak {manner}.", "Respond {manner}.", "Answer {manner}.",
    "Reply {manner}.", "Announce it {manner}.", "Narrate this {manner}.", "Tell it {manner}.",
    "Pronounce it {manner}.", "Voice this {manner}.", "Perform the line {manner}.", "Utter it {manner}.",
    "Express it {manner}.", "Convert it so it is spoken {manner}.", "Re-speak it {manner}.",
    "Say the words {manner}.", "Speak the words {manner}.", "Read my words {manner}.",
    "Speak {manner}, as if on the phone.", "Say it {manner}, like in a conversation.",
    "Talk to me {manner}.", "Say it to a friend {manner}.", "Tell the story {manner}.",
    "Read the message {manner}.", "Read the news {manner}.", "Speak it out {manner}.",
    "Just say it {manner}.", "Simply read it {manner}.", "Go ahead and say it {manner}.",
    "Try saying it {manner}.", "Say it once more, {manner}.", "Repeat it {manner}.",
    "Read the text aloud {manner}.", "Speak up {manner}.", "Recite it {manner}.",
    "Make the voice speak {manner}.", "Let the voice speak {manner}.", "Have it read {manner}.",
    "The line is delivered {manner}.", "Delivered {manner}.", "Spoken {manner}.", "Said {manner}.",
    "Read {manner}.",
)
# {noun}: noun phrase ("a hint of sadness", "overwhelming joy"). 55 frames.
NOUN_FRAMES: tuple[str, ...] = (
    "With {noun}.", "Full of {noun}.", "Filled with {noun}.", "Speak with {noun}.", "Say it with {noun}.",
    "Read it with {noun}.", "Talk with {noun}.", "Deliver it with {noun}.", "Express {noun}.",
    "Show {noun}.", "Show {noun} in the voice.", "Convey {noun}.", "Convey {noun} in your voice.",
    "Put {noun} into the voice.", "Put {noun} in it.", "Add {noun}.", "Add {noun} to the voice.",
    "Add {noun} to this recording.", "Bring out {noun}.", "Let {noun} come through.",
    "Let me hear {noun}.", "I want to hear {noun}.", "I want {noun} in this.", "The voice carries {noun}.",
    "A voice with {noun}.", "A tone of {noun}.", "A reading with {noun}.", "A delivery full of {noun}.",
    "Use {noun}.", "Emotion: {noun}.", "Feeling: {noun}.", "Expressing {noun}.", "Conveying {noun}.",
    "Voice with {noun}.", "Sound with {noun}.", "Make it sound like {noun}.", "Infuse it with {noun}.",
    "Colour the voice with {noun}.", "Give it {noun}.", "Give the voice {noun}.",
    "Speak as if overcome by {noun}.", "As if feeling {noun}.", "The emotion is {noun}.",
    "Render {noun}.", "Perform with {noun}.", "Recite with {noun}.", "Answer with {noun}.",
    "Respond with {noun}.", "Read the line with {noun}.", "Say the sentence with {noun}.",
    "Make the speaker express {noun}.", "Make the speaker show {noun}.", "There should be {noun} in the voice.",
    "Let the words carry {noun}.", "Tell it with {noun}.",
)
NEUTRAL_FRAMES: tuple[str, ...] = (
    "Read it normally.", "No particular emotion.", "Just a plain reading.", "Speak normally.",
    "Keep the emotion neutral.", "No emotion, just the words.", "Like a news reader.", "Say it without emotion.",
    "Read it like a weather report.", "An ordinary, even reading.",
)
# Held-out frames (disjoint wording).
HELDOUT_ADJ_FRAMES: tuple[str, ...] = (
    "Imagine you're {adj} and say this.", "Picture yourself {adj} while talking.", "Channel someone {adj}.",
    "Portray a {adj} narrator.", "We need the narrator {adj} here.", "Get into a {adj} mood for this line.",
    "This character is {adj}; voice them.", "Could the narrator be {adj}?", "Imagine a {adj} friend reading this.",
    "Be {adj} when you read it.", "Put on a {adj} voice for me.", "Sound as {adj} as the scene needs.",
)
HELDOUT_MANNER_FRAMES: tuple[str, ...] = (
    "Speak this part {manner} for the audiobook.", "Whisper-free, just talk {manner}.",
    "For the scene, the line is read {manner}.", "Do the voiceover {manner}.", "Give the reply {manner}.",
    "Voice the character {manner}.", "Let the narrator tell it {manner}.", "Dub this {manner}.",
)
HELDOUT_NOUN_FRAMES: tuple[str, ...] = (
    "The scene calls for {noun}.", "Drench the line in {noun}.", "Voice overflowing with {noun}.",
    "Lace the reading with {noun}.", "Let the listener feel {noun}.", "Tint the performance with {noun}.",
    "Make {noun} audible.", "Your voice betrays {noun}.",
)
HELDOUT_NEUTRAL_FRAMES: tuple[str, ...] = (
    "Narrate it straight, no feelings.", "Read it the way a clerk reads a form.", "An impassive reading, please.",
)
HELDOUT_SURPRISE_IN: tuple[str, ...] = ("in bewilderment", "in utter shock")
SURPRISE_IN: dict[str, tuple[str, ...]] = {
    "low": ("with mild surprise", "a little in surprise", "with a hint of amazement"),
    "medium": ("in surprise", "in amazement", "in disbelief"),
    "high": ("in utter astonishment", "in total disbelief", "in complete amazement"),
}


def train_frames() -> list[str]:
    """All training frames (for counting and tests)."""
    return list(ADJ_FRAMES + MANNER_FRAMES + NOUN_FRAMES + NEUTRAL_FRAMES)


def heldout_frames() -> list[str]:
    return list(HELDOUT_ADJ_FRAMES + HELDOUT_MANNER_FRAMES + HELDOUT_NOUN_FRAMES + HELDOUT_NEUTRAL_FRAMES)


# ------------------------------------------------------------------------------------ generation
def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _adj_phrase(emotion: str, bucket: str, rng: random.Random, heldout: bool) -> str:
    if emotion == "neutral":
        return rng.choice(CORE_ADJ["neutral"])
    levels = (HELDOUT_LEVEL_ADJ if heldout else LEVEL_ADJ)[emotion][bucket]
    if heldout or rng.random() < 0.4:
        if heldout and rng.random() < 0.5:
            return _join(rng.choice(HELDOUT_DEGREE_ADVERBS[bucket]), rng.choice(CORE_ADJ[emotion]))
        return rng.choice(levels)
    return _join(rng.choice(DEGREE_ADVERBS[bucket]), rng.choice(CORE_ADJ[emotion]))


def _noun_phrase(emotion: str, bucket: str, rng: random.Random) -> str:
    noun = rng.choice(NOUNS[emotion])
    return noun if emotion == "neutral" else _join(rng.choice(NOUN_DEGREES[bucket]), noun)


def _manner_phrase(emotion: str, bucket: str, rng: random.Random, heldout: bool) -> str:
    if emotion == "neutral":
        return rng.choice(ADVERBS["neutral"])
    if emotion == "surprise":
        if heldout and rng.random() < 0.5:
            return rng.choice(HELDOUT_SURPRISE_IN)
        return rng.choice(SURPRISE_IN[bucket])
    if rng.random() < 0.3:
        return "with " + _noun_phrase(emotion, bucket, rng)
    degrees = HELDOUT_DEGREE_ADVERBS if heldout else DEGREE_ADVERBS
    return _join(rng.choice(degrees[bucket]), rng.choice(ADVERBS[emotion]))


def _fix_articles(text: str) -> str:
    """'a extremely' -> 'an extremely'; 'a unhappy' -> 'an unhappy'."""
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", lambda m: m.group(1) + "n ", text)


def generate_prompt(
    emotion: str,
    bucket: str = "medium",
    rng: random.Random | None = None,
    second_emotion: str | None = None,
    hint: tuple[str, int] | None = None,
    split: str = "train",
) -> str:
    """One prompt for ``emotion`` at intensity ``bucket`` ("low" | "medium" | "high").

    ``second_emotion``: a minor admixture ("... with a hint of surprise"). ``hint``: ``(field,
    sign)`` with field in tempo/pitch/volume and sign +1 or -1. ``split``: "train" or "heldout"
    (disjoint wording). Deterministic given ``rng``.
    """
    emotion = normalise_label(emotion)
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}, got {bucket!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if second_emotion is not None:
        second_emotion = normalise_label(second_emotion)
        if second_emotion == emotion:
            raise ValueError(f"second_emotion must differ from emotion ({emotion!r})")
    if hint is not None:
        field_name, sign = hint
        if field_name not in HINT_FIELDS or sign not in (-1, 1):
            raise ValueError(f"hint must be (tempo|pitch|volume, +1|-1), got {hint!r}")
    rng = rng if rng is not None else random.Random()
    heldout = split == "heldout"

    if emotion == "neutral" and second_emotion is None and rng.random() < 0.2:
        text = rng.choice(HELDOUT_NEUTRAL_FRAMES if heldout else NEUTRAL_FRAMES)
    else:
        kinds = [("adj", HELDOUT_ADJ_FRAMES if heldout else ADJ_FRAMES),
                 ("manner", HELDOUT_MANNER_FRAMES if heldout else MANNER_FRAMES),
                 ("noun", HELDOUT_NOUN_FRAMES if heldout else NOUN_FRAMES)]
        # Pick a frame uniformly over all frames so every frame is equally likely.
        kind, frame = rng.choice([(k, f) for k, frames in kinds for f in frames])
        if kind == "adj":
            slot = _adj_phrase(emotion, bucket, rng, heldout)
        elif kind == "manner":
            slot = _manner_phrase(emotion, bucket, rng, heldout)
        else:
            slot = _noun_phrase(emotion, bucket, rng)
        text = frame.format(adj=slot, manner=slot, noun=slot)
    clauses = []
    if second_emotion is not None:
        nouns = HELDOUT_MIX_NOUN_PHRASES if heldout else MIX_NOUN_PHRASES
        adjs = HELDOUT_MIX_ADJ_PHRASES if heldout else MIX_ADJ_PHRASES
        mix = rng.choice(nouns if emotion == "neutral" else nouns + adjs)
        clauses.append(mix.format(n2=rng.choice(NOUNS[second_emotion]), a2=CORE_ADJ[second_emotion][0]))
    if hint is not None:
        clauses.append(rng.choice((HELDOUT_HINT_PHRASES if heldout else HINT_PHRASES)[hint]))
    if clauses:
        end = text[-1] if text[-1] in ".?!" else ""
        text = ", ".join([text.rstrip(".?!")] + clauses) + end
    text = _fix_articles(text)
    return text[0].upper() + text[1:]


# ------------------------------------------------------------------------------------ membership
def _normalise(text: str) -> str:
    return text.strip().rstrip(".?!").lower()


def _slots(kind: str, emotion: str, bucket: str) -> set[str]:
    """Every slot filling the training generator can draw for (kind, emotion, bucket)."""
    if kind == "adj":
        if emotion == "neutral":
            return set(CORE_ADJ["neutral"])
        return set(LEVEL_ADJ[emotion][bucket]) | {_join(d, a) for d in DEGREE_ADVERBS[bucket] for a in CORE_ADJ[emotion]}
    if kind == "noun":
        if emotion == "neutral":
            return set(NOUNS["neutral"])
        return {_join(d, n) for d in NOUN_DEGREES[bucket] for n in NOUNS[emotion]}
    if emotion == "neutral":
        return set(ADVERBS["neutral"])
    if emotion == "surprise":
        return set(SURPRISE_IN[bucket])
    return {"with " + n for n in _slots("noun", emotion, bucket)} | {
        _join(d, a) for d in DEGREE_ADVERBS[bucket] for a in ADVERBS[emotion]}


def training_phrasings() -> frozenset[str]:
    """Every training-split prompt *body* (a frame with its slot filled, before any mixture or hint
    clause), lower-cased without final punctuation: the training prompt set, enumerated."""
    global _TRAINING_PHRASINGS
    if _TRAINING_PHRASINGS is None:
        out = {_normalise(f) for f in NEUTRAL_FRAMES}
        for kind, frames in (("adj", ADJ_FRAMES), ("manner", MANNER_FRAMES), ("noun", NOUN_FRAMES)):
            slots = {s for e in CORE_ADJ for b in BUCKETS for s in _slots(kind, e, b)}
            out |= {_normalise(_fix_articles(f.format(adj=s, manner=s, noun=s))) for f in frames for s in slots}
        _TRAINING_PHRASINGS = frozenset(out)
    return _TRAINING_PHRASINGS


_TRAINING_PHRASINGS: frozenset[str] | None = None


def _training_clauses() -> frozenset[str]:
    mix = {m.format(n2=n, a2=CORE_ADJ[e][0]) for m in MIX_NOUN_PHRASES + MIX_ADJ_PHRASES for e in NOUNS for n in NOUNS[e]}
    hints = {h for phrases in HINT_PHRASES.values() for h in phrases}
    return frozenset(_normalise(_fix_articles(c)) for c in mix | hints)


def occurs_in_training(prompt: str) -> bool:
    """True when the training split of :func:`generate_prompt` can produce ``prompt`` (any emotion,
    bucket, mixture or hint), compared case-insensitively without final punctuation."""
    text = _normalise(prompt)
    bodies, clauses = training_phrasings(), _training_clauses()
    if text in bodies:
        return True
    start = 0
    while (i := text.find(", ", start)) >= 0:
        tail = text[i + 2:].split(", ")
        if text[:i] in bodies and len(tail) <= 2 and all(c in clauses for c in tail):
            return True
        start = i + 1
    return False
