"""Word lists the zero-shot parser uses: anchor descriptions, emotion lexicon, degree and hint words.

Everything here is data; :mod:`promptevc.prompt.parser` holds the logic. Changing an anchor
changes the hash of the on-disk anchor-embedding cache, so stale caches are never reused.

Intensity convention (also for neutral): a bare emotion word means 0.6; degree adverbs shift it
(:data:`DEGREE_SHIFTS`), and words that carry their own degree ("annoyed" < "angry" <
"furious") start from their own level (:data:`EMOTION_WORDS`). For *neutral*, intensity is the
strength of neutrality: how far the delivery is flattened towards a calm, even reading
("slightly calm" 0.3 < "calm" 0.6 < "completely flat" 0.9+).
"""

from __future__ import annotations

# Default intensity of a bare emotion word ("sad", "happy").
BASE_INTENSITY = 0.6
# Intensity when a prompt has no emotional content and falls back to neutral.
FALLBACK_INTENSITY = 0.5

# Several short descriptions per emotion; the prompt is compared with each by cosine similarity.
ANCHORS: dict[str, tuple[str, ...]] = {
    "neutral": (
        "neutral",
        "a calm, neutral tone of voice",
        "flat and unemotional, matter-of-fact",
        "speak plainly without any emotion",
        "monotone, even and composed",
        "relaxed and calm",
        "like a news reader, objective and detached",
        "indifferent and emotionless",
    ),
    "angry": (
        "angry",
        "an angry, furious voice",
        "irritated and annoyed",
        "shouting in rage",
        "hostile, aggressive and mad",
        "frustrated and fed up",
        "outraged and seething with anger",
        "losing my temper",
    ),
    "happy": (
        "happy",
        "a happy, cheerful voice",
        "joyful and delighted",
        "excited and enthusiastic",
        "glad and pleased, smiling",
        "overjoyed and ecstatic",
        "upbeat, bright and positive",
        "celebrating good news",
    ),
    "sad": (
        "sad",
        "a sad, sorrowful voice",
        "unhappy and depressed",
        "heartbroken and grieving",
        "gloomy, melancholy and down",
        "disappointed and miserable",
        "tearful, about to cry",
        "lonely and hopeless",
    ),
    "surprise": (
        "surprised",
        "a surprised, astonished voice",
        "amazed and shocked",
        "in disbelief, I can't believe it",
        "startled and taken aback",
        "stunned with wonder",
        "wow, that was unexpected",
        "jaw-dropping astonishment",
    ),
    "fear": (
        "scared",
        "a scared, frightened voice",
        "nervous, anxious and worried",
        "terrified and panicking",
        "afraid something terrible will happen",
        "trembling with fear",
        "uneasy and on edge",
        "horrified and in dread",
    ),
    "disgust": (
        "disgusted",
        "a disgusted, revolted voice",
        "grossed out and repulsed",
        "sickened and nauseated",
        "full of contempt and disdain",
        "yuck, that is revolting",
        "appalled and repelled",
        "looking down on something vile",
    ),
    "boredom": (
        "bored",
        "a bored, weary voice",
        "tired, drained and exhausted",
        "sleepy and listless",
        "uninterested and apathetic",
        "worn out and fatigued",
        "can't be bothered, dull and lifeless",
        "yawning with boredom",
    ),
    "tenderness": (
        "tender",
        "a tender, gentle voice",
        "loving and affectionate",
        "soothing and comforting",
        "warm and caring, like a lullaby",
        "speaking softly to a baby",
        "compassionate and kind",
        "reassuring someone you love",
    ),
    "elation": (
        "elated",
        "an ecstatic, euphoric voice",
        "wildly excited and thrilled",
        "jumping for joy",
        "overjoyed and exhilarated",
        "screaming with excitement",
        "on top of the world, triumphant",
        "bursting with excitement",
    ),
}

# Prompts that ask for a conversion but name no emotion; close to these -> neutral with a warning.
INSTRUCTION_ANCHORS: tuple[str, ...] = (
    "read this sentence",
    "say this",
    "convert my voice",
    "please process this recording",
    "speak the text",
    "do it",
    "hello world",
    "the weather report for tomorrow",
)

# Degree anchors: the parser compares the prompt with "<low> <emotion>" vs "<high> <emotion>"
# descriptions to nudge intensity when no degree word is found (MiniLM separates degree weakly,
# so the nudge is small; explicit words dominate).
DEGREE_ANCHORS_LOW: tuple[str, ...] = ("a little {}", "mildly {}", "a hint of {}")
DEGREE_ANCHORS_HIGH: tuple[str, ...] = ("extremely {}", "overwhelmingly {}", "intensely {}")
DEGREE_WORD: dict[str, str] = {
    "neutral": "calm", "angry": "angry", "happy": "happy", "sad": "sad", "surprise": "surprised",
    "fear": "scared", "disgust": "disgusted", "boredom": "bored", "tenderness": "tender", "elation": "excited",
}

# Emotion words and idioms -> (emotion, own intensity level). Multi-word entries are matched as
# phrases (after typo correction and lower-casing). Levels: bare core word = BASE_INTENSITY.
EMOTION_WORDS: dict[str, tuple[str, float]] = {
    # neutral
    "neutral": ("neutral", 0.6), "neutrally": ("neutral", 0.6), "calm": ("neutral", 0.6),
    "calmly": ("neutral", 0.6), "flat": ("neutral", 0.7), "flatly": ("neutral", 0.7),
    "monotone": ("neutral", 0.85), "monotonous": ("neutral", 0.85), "plain": ("neutral", 0.5),
    "plainly": ("neutral", 0.5), "matter-of-fact": ("neutral", 0.65), "matter of fact": ("neutral", 0.65),
    "unemotional": ("neutral", 0.8), "emotionless": ("neutral", 0.85), "without emotion": ("neutral", 0.8),
    "no emotion": ("neutral", 0.8), "deadpan": ("neutral", 0.8), "composed": ("neutral", 0.55),
    "relaxed": ("neutral", 0.5), "normal": ("neutral", 0.5),
    "normally": ("neutral", 0.5), "indifferent": ("neutral", 0.6), "detached": ("neutral", 0.65),
    "objective": ("neutral", 0.55), "robotic": ("neutral", 0.9), "serene": ("neutral", 0.55),
    "tranquil": ("neutral", 0.55), "peaceful": ("neutral", 0.5), "placid": ("neutral", 0.55),
    "impassive": ("neutral", 0.8), "poker face": ("neutral", 0.8),
    "poker-faced": ("neutral", 0.8), "businesslike": ("neutral", 0.55), "cool-headed": ("neutral", 0.6),
    "composure": ("neutral", 0.6), "detachment": ("neutral", 0.65), "neutrality": ("neutral", 0.6),
    "calmness": ("neutral", 0.6), "evenness": ("neutral", 0.55), "stillness": ("neutral", 0.55),
    "cool and collected": ("neutral", 0.6), "calm and collected": ("neutral", 0.65), "collected": ("neutral", 0.55),
    "steady": ("neutral", 0.5), "evenly": ("neutral", 0.55), "informative": ("neutral", 0.5),
    "informational": ("neutral", 0.5), "factual": ("neutral", 0.55),
    "dispassionate": ("neutral", 0.75), "dull": ("neutral", 0.6), "bored": ("boredom", 0.6),
    "no feelings": ("neutral", 0.75), "no feeling": ("neutral", 0.75), "straight": ("neutral", 0.5),
    "straight-faced": ("neutral", 0.7), "steadily": ("neutral", 0.5),
    "news reader": ("neutral", 0.6), "newsreader": ("neutral", 0.6), "natural": ("neutral", 0.4),
    # angry
    "angry": ("angry", 0.6), "angrily": ("angry", 0.6), "angrier": ("angry", 0.65), "anger": ("angry", 0.6), "mad": ("angry", 0.6),
    "annoyed": ("angry", 0.35), "annoyance": ("angry", 0.35), "irritated": ("angry", 0.35),
    "irritation": ("angry", 0.35), "irked": ("angry", 0.3), "miffed": ("angry", 0.3),
    "cross": ("angry", 0.45), "grumpy": ("angry", 0.4), "cranky": ("angry", 0.4), "testy": ("angry", 0.4),
    "frustrated": ("angry", 0.5), "frustration": ("angry", 0.5), "bitter": ("angry", 0.5),
    "resentful": ("angry", 0.5), "indignant": ("angry", 0.6), "hostile": ("angry", 0.65),
    "aggressive": ("angry", 0.7), "irate": ("angry", 0.8), "furious": ("angry", 0.9),
    "furiously": ("angry", 0.9), "fury": ("angry", 0.9), "enraged": ("angry", 0.95), "rage": ("angry", 0.9),
    "raging": ("angry", 0.9), "livid": ("angry", 0.9), "outraged": ("angry", 0.9), "seething": ("angry", 0.85),
    "fuming": ("angry", 0.85), "incensed": ("angry", 0.9), "infuriated": ("angry", 0.9), "pissed": ("angry", 0.7),
    "pissed off": ("angry", 0.7), "ticked off": ("angry", 0.55), "fed up": ("angry", 0.55),
    "up in arms": ("angry", 0.7), "seeing red": ("angry", 0.85), "see red": ("angry", 0.85),
    "blow a fuse": ("angry", 0.85), "blew a fuse": ("angry", 0.85), "flip out": ("angry", 0.8),
    "lose your temper": ("angry", 0.8), "losing his temper": ("angry", 0.8), "losing her temper": ("angry", 0.8),
    "losing my temper": ("angry", 0.8), "lost his temper": ("angry", 0.8), "lost her temper": ("angry", 0.8),
    "hopping mad": ("angry", 0.85), "hot under the collar": ("angry", 0.6), "at the end of my rope": ("angry", 0.6),
    "fit to be tied": ("angry", 0.85), "blood boiling": ("angry", 0.9), "blood boil": ("angry", 0.9),
    "raging bull": ("angry", 0.9), "outrage": ("angry", 0.85), "wrathful": ("angry", 0.9), "wrath": ("angry", 0.9),
    "heated": ("angry", 0.55), "snappy": ("angry", 0.4), "exasperated": ("angry", 0.6), "vexed": ("angry", 0.45),
    "displeased": ("angry", 0.4), "scolding": ("angry", 0.6),
    "rant": ("angry", 0.7), "ranting": ("angry", 0.7), "hateful": ("angry", 0.75),
    "disgusted": ("disgust", 0.6), "irritably": ("angry", 0.35), "crossly": ("angry", 0.45),
    "grumpily": ("angry", 0.4), "indignantly": ("angry", 0.6), "hostilely": ("angry", 0.65),
    "aggressively": ("angry", 0.7), "bitterly": ("angry", 0.5), "heatedly": ("angry", 0.55), "sick and tired": ("angry", 0.65), "had it up to here": ("angry", 0.7),
    "last straw": ("angry", 0.7), "teeth clenched": ("angry", 0.7), "through gritted teeth": ("angry", 0.7),
    # happy
    "happy": ("happy", 0.6), "happily": ("happy", 0.6), "happiness": ("happy", 0.6), "happier": ("happy", 0.65),
    "content": ("happy", 0.3), "contented": ("happy", 0.3), "pleased": ("happy", 0.4), "glad": ("happy", 0.45),
    "cheerful": ("happy", 0.55), "cheerfully": ("happy", 0.55), "cheery": ("happy", 0.55), "merry": ("happy", 0.6),
    "jolly": ("happy", 0.6), "joy": ("happy", 0.7), "joyful": ("happy", 0.7), "joyous": ("happy", 0.7),
    "joyfully": ("happy", 0.7), "delighted": ("happy", 0.75), "delight": ("happy", 0.7), "excited": ("elation", 0.65),
    "excitement": ("elation", 0.65), "enthusiastic": ("happy", 0.7), "upbeat": ("happy", 0.55),
    "bright": ("happy", 0.5), "sunny": ("happy", 0.5), "positive": ("happy", 0.45), "smiling": ("happy", 0.5),
    "grinning": ("happy", 0.6), "laughing": ("happy", 0.7), "playful": ("happy", 0.5), "bubbly": ("happy", 0.6),
    "thrilled": ("elation", 0.8), "elated": ("elation", 0.8), "ecstatic": ("elation", 0.9), "overjoyed": ("happy", 0.95),
    "euphoric": ("elation", 0.9), "jubilant": ("elation", 0.85), "blissful": ("happy", 0.8), "gleeful": ("happy", 0.75),
    "over the moon": ("happy", 0.9), "on cloud nine": ("happy", 0.9), "walking on air": ("happy", 0.85),
    "on top of the world": ("happy", 0.85), "tickled pink": ("happy", 0.75), "in high spirits": ("happy", 0.7),
    "good mood": ("happy", 0.5), "great mood": ("happy", 0.65), "best day": ("happy", 0.8),
    "grin from ear to ear": ("happy", 0.8), "grinning from ear to ear": ("happy", 0.8),
    "pumped": ("elation", 0.7), "stoked": ("elation", 0.75), "giddy": ("happy", 0.7), "cheer": ("happy", 0.55),
    "glee": ("happy", 0.75), "celebrating": ("happy", 0.7), "celebratory": ("happy", 0.7), "lively": ("happy", 0.55),
    "chipper": ("happy", 0.55), "sparkling": ("happy", 0.55), "buoyant": ("happy", 0.6), "radiant": ("happy", 0.7),
    "grateful": ("happy", 0.45), "proud": ("happy", 0.5), "amused": ("happy", 0.45), "satisfied": ("happy", 0.35),
    "won the lottery": ("happy", 0.9), "thrilled to bits": ("elation", 0.85), "happy camper": ("happy", 0.6),
    "gleefully": ("happy", 0.75), "merrily": ("happy", 0.6), "delightedly": ("happy", 0.75),
    "excitedly": ("elation", 0.65), "enthusiastically": ("happy", 0.7), "brightly": ("happy", 0.5),
    "warm": ("happy", 0.35), "friendly": ("happy", 0.4), "fun": ("happy", 0.5),
    # sad
    "sad": ("sad", 0.6), "sadly": ("sad", 0.6), "sadness": ("sad", 0.6), "sadder": ("sad", 0.65),
    "unhappy": ("sad", 0.55), "blue": ("sad", 0.45), "down": ("sad", 0.45), "low": ("sad", 0.45),
    "wistful": ("sad", 0.35), "glum": ("sad", 0.45), "gloomy": ("sad", 0.5), "gloom": ("sad", 0.5), "melancholy": ("sad", 0.5),
    "melancholic": ("sad", 0.5), "somber": ("sad", 0.5), "sombre": ("sad", 0.5), "mournful": ("sad", 0.75),
    "sorrow": ("sad", 0.7), "sorrowful": ("sad", 0.7), "sorrowfully": ("sad", 0.7), "grief": ("sad", 0.85),
    "grieving": ("sad", 0.85), "grief-stricken": ("sad", 0.95), "miserable": ("sad", 0.8), "misery": ("sad", 0.8),
    "depressed": ("sad", 0.8), "depressing": ("sad", 0.65), "dejected": ("sad", 0.7), "despondent": ("sad", 0.8),
    "downcast": ("sad", 0.6), "downhearted": ("sad", 0.6), "crestfallen": ("sad", 0.65), "forlorn": ("sad", 0.7),
    "heartbroken": ("sad", 0.9), "heartbreak": ("sad", 0.9), "broken-hearted": ("sad", 0.9),
    "brokenhearted": ("sad", 0.9), "devastated": ("sad", 0.95), "despair": ("sad", 0.9), "despairing": ("sad", 0.9),
    "hopeless": ("sad", 0.8), "disappointed": ("sad", 0.45), "disappointment": ("sad", 0.45), "lonely": ("sad", 0.6),
    "tearful": ("sad", 0.75), "crying": ("sad", 0.8), "in tears": ("sad", 0.8), "weeping": ("sad", 0.85),
    "sobbing": ("sad", 0.9), "teary": ("sad", 0.65), "upset": ("sad", 0.5), "hurt": ("sad", 0.55),
    "down in the dumps": ("sad", 0.7), "feeling down": ("sad", 0.5), "feeling low": ("sad", 0.5),
    "feeling blue": ("sad", 0.5), "low spirits": ("sad", 0.55), "heavy heart": ("sad", 0.7),
    "heavy-hearted": ("sad", 0.7), "lump in the throat": ("sad", 0.7), "broken heart": ("sad", 0.9),
    "mourning": ("sad", 0.85), "grieve": ("sad", 0.85), "dismal": ("sad", 0.6), "woeful": ("sad", 0.7),
    "pitiful": ("sad", 0.6), "regretful": ("sad", 0.5), "nostalgic": ("sad", 0.35), "defeated": ("sad", 0.65),
    "mournfully": ("sad", 0.75), "gloomily": ("sad", 0.5), "miserably": ("sad", 0.8), "glumly": ("sad", 0.45),
    "wistfully": ("sad", 0.35), "unhappily": ("sad", 0.55), "dejectedly": ("sad", 0.7), "tearfully": ("sad", 0.75),
    "tragic": ("sad", 0.8), "funeral": ("sad", 0.8), "bad news": ("sad", 0.6), "dreary": ("sad", 0.5),
    # surprise
    "surprise": ("surprise", 0.6), "surprised": ("surprise", 0.6), "surprising": ("surprise", 0.55),
    "surprisingly": ("surprise", 0.5), "startled": ("surprise", 0.6), "amazed": ("surprise", 0.75),
    "amazement": ("surprise", 0.75), "astonished": ("surprise", 0.85), "astonishment": ("surprise", 0.85),
    "astounded": ("surprise", 0.9), "stunned": ("surprise", 0.85), "shocked": ("surprise", 0.85),
    "shock": ("surprise", 0.8), "flabbergasted": ("surprise", 0.95), "dumbfounded": ("surprise", 0.9),
    "gobsmacked": ("surprise", 0.95), "speechless": ("surprise", 0.8), "taken aback": ("surprise", 0.5),
    "caught off guard": ("surprise", 0.55), "in disbelief": ("surprise", 0.7), "disbelief": ("surprise", 0.7),
    "incredulous": ("surprise", 0.7), "unexpected": ("surprise", 0.55), "wow": ("surprise", 0.65),
    "whoa": ("surprise", 0.65), "can't believe": ("surprise", 0.7), "cannot believe": ("surprise", 0.7),
    "can not believe": ("surprise", 0.7), "couldn't believe": ("surprise", 0.7), "jaw dropped": ("surprise", 0.85),
    "jaw-dropping": ("surprise", 0.85), "jaw drop": ("surprise", 0.85), "jaw on the floor": ("surprise", 0.9),
    "bowled over": ("surprise", 0.8), "blown away": ("surprise", 0.85), "mind blown": ("surprise", 0.9),
    "mind-blown": ("surprise", 0.9), "out of the blue": ("surprise", 0.6), "bolt from the blue": ("surprise", 0.7),
    "wide-eyed": ("surprise", 0.6), "wide eyed": ("surprise", 0.6), "awestruck": ("surprise", 0.8),
    "in awe": ("surprise", 0.7), "awe": ("surprise", 0.7), "wonder": ("surprise", 0.5), "wonderstruck": ("surprise", 0.75),
    "staggered": ("surprise", 0.8), "thunderstruck": ("surprise", 0.9), "bewildered": ("surprise", 0.6),
    "perplexed": ("surprise", 0.45), "puzzled": ("surprise", 0.4), "curious": ("surprise", 0.35),
    "who knew": ("surprise", 0.6), "no way": ("surprise", 0.7), "oh my god": ("surprise", 0.75),
    "oh my gosh": ("surprise", 0.7), "omg": ("surprise", 0.75), "unbelievable": ("surprise", 0.7),
    "didn't see that coming": ("surprise", 0.75), "did not see that coming": ("surprise", 0.75),
    "caught by surprise": ("surprise", 0.65), "bemused": ("surprise", 0.45), "amazedly": ("surprise", 0.75),
    "in amazement": ("surprise", 0.75), "in astonishment": ("surprise", 0.85), "in shock": ("surprise", 0.8), "took by surprise": ("surprise", 0.65), "startling": ("surprise", 0.6),
    # evaluative news ("could you make it sound like they got some terrible news?")
    "terrible news": ("sad", 0.7), "awful news": ("sad", 0.7), "horrible news": ("sad", 0.7),
    "tragic news": ("sad", 0.8), "sad news": ("sad", 0.65), "devastating news": ("sad", 0.85),
    "heartbreaking news": ("sad", 0.85), "upsetting news": ("sad", 0.6), "lost someone": ("sad", 0.8),
    "good news": ("happy", 0.6), "great news": ("happy", 0.7), "wonderful news": ("happy", 0.7),
    "fantastic news": ("happy", 0.75), "amazing news": ("happy", 0.75), "brilliant news": ("happy", 0.7),
    "shocking news": ("surprise", 0.8), "unexpected news": ("surprise", 0.6),
    # outside ESD's five: fear / anxiety
    "fear": ("fear", 0.6), "fearful": ("fear", 0.6), "fearfully": ("fear", 0.6), "afraid": ("fear", 0.6),
    "scared": ("fear", 0.6), "scary": ("fear", 0.55), "frightened": ("fear", 0.65), "fright": ("fear", 0.65),
    "nervous": ("fear", 0.45), "nervously": ("fear", 0.45), "anxious": ("fear", 0.5), "anxiously": ("fear", 0.5),
    "anxiety": ("fear", 0.5), "worried": ("fear", 0.45), "worry": ("fear", 0.45), "uneasy": ("fear", 0.35),
    "apprehensive": ("fear", 0.4), "tense": ("fear", 0.4), "jittery": ("fear", 0.45), "jumpy": ("fear", 0.45),
    "on edge": ("fear", 0.45), "panicked": ("fear", 0.85), "panicky": ("fear", 0.8), "panic": ("fear", 0.85),
    "panicking": ("fear", 0.85), "terrified": ("fear", 0.9), "terror": ("fear", 0.9), "petrified": ("fear", 0.9),
    "horrified": ("fear", 0.85), "dread": ("fear", 0.7), "dreading": ("fear", 0.7), "alarmed": ("fear", 0.6),
    "timid": ("fear", 0.35), "shaky": ("fear", 0.45), "trembling": ("fear", 0.6), "spooked": ("fear", 0.6),
    "freaked out": ("fear", 0.75), "scared stiff": ("fear", 0.9), "scared to death": ("fear", 0.95),
    "shaking like a leaf": ("fear", 0.8), "stressed": ("fear", 0.45), "stressed out": ("fear", 0.55),
    "in a cold sweat": ("fear", 0.75), "heart in my mouth": ("fear", 0.75), "fearfulness": ("fear", 0.6),
    # disgust / contempt
    "disgust": ("disgust", 0.6), "disgusting": ("disgust", 0.6), "disgustedly": ("disgust", 0.6),
    "revolted": ("disgust", 0.75), "revolting": ("disgust", 0.7), "repulsed": ("disgust", 0.75),
    "repulsive": ("disgust", 0.7), "grossed out": ("disgust", 0.65), "gross": ("disgust", 0.55),
    "sickened": ("disgust", 0.7), "nauseated": ("disgust", 0.75), "nauseous": ("disgust", 0.65),
    "appalled": ("disgust", 0.75), "contempt": ("disgust", 0.6), "contemptuous": ("disgust", 0.6),
    "disdain": ("disgust", 0.55), "disdainful": ("disgust", 0.55), "scornful": ("disgust", 0.55),
    "scorn": ("disgust", 0.55), "sneering": ("disgust", 0.55), "yuck": ("disgust", 0.6), "eww": ("disgust", 0.6),
    "ew": ("disgust", 0.55), "ugh": ("disgust", 0.45), "vile": ("disgust", 0.7), "loathing": ("disgust", 0.8),
    "repelled": ("disgust", 0.7), "sarcastic": ("disgust", 0.35), "sarcastically": ("disgust", 0.35),
    # boredom / tiredness
    "boredom": ("boredom", 0.6), "boring": ("boredom", 0.5), "bored stiff": ("boredom", 0.85),
    "bored to death": ("boredom", 0.9), "bored to tears": ("boredom", 0.9), "tired": ("boredom", 0.5),
    "tiredly": ("boredom", 0.5), "weary": ("boredom", 0.6), "wearily": ("boredom", 0.6),
    "exhausted": ("boredom", 0.8), "drained": ("boredom", 0.7), "worn out": ("boredom", 0.7),
    "fatigued": ("boredom", 0.7), "sleepy": ("boredom", 0.55), "drowsy": ("boredom", 0.55),
    "listless": ("boredom", 0.6), "lethargic": ("boredom", 0.65), "sluggish": ("boredom", 0.55),
    "uninterested": ("boredom", 0.55), "disinterested": ("boredom", 0.55), "apathetic": ("boredom", 0.6),
    "unenthusiastic": ("boredom", 0.5), "half asleep": ("boredom", 0.65), "yawning": ("boredom", 0.6),
    "can't be bothered": ("boredom", 0.6), "couldn't care less": ("boredom", 0.65), "dead tired": ("boredom", 0.85),
    "burnt out": ("boredom", 0.75), "burned out": ("boredom", 0.75), "jaded": ("boredom", 0.5),
    # tenderness / gentle calm
    "tender": ("tenderness", 0.6), "tenderly": ("tenderness", 0.6), "tenderness": ("tenderness", 0.6),
    "gentle": ("tenderness", 0.5), "loving": ("tenderness", 0.65), "lovingly": ("tenderness", 0.65),
    "affectionate": ("tenderness", 0.6), "affectionately": ("tenderness", 0.6), "caring": ("tenderness", 0.5),
    "soothing": ("tenderness", 0.6), "soothingly": ("tenderness", 0.6), "comforting": ("tenderness", 0.55),
    "reassuring": ("tenderness", 0.5), "reassuringly": ("tenderness", 0.5), "sweetly": ("tenderness", 0.5),
    "compassionate": ("tenderness", 0.55), "warmly": ("tenderness", 0.45), "lullaby": ("tenderness", 0.7),
    "intimate": ("tenderness", 0.55), "fondly": ("tenderness", 0.5), "kindly": ("tenderness", 0.45),
    "like a lullaby": ("tenderness", 0.7), "to a baby": ("tenderness", 0.65), "to a child": ("tenderness", 0.5),
    # elation / excitement (high-arousal joy)
    "elation": ("elation", 0.8), "exhilarated": ("elation", 0.85), "exhilaration": ("elation", 0.85),
    "overexcited": ("elation", 0.9), "hyped": ("elation", 0.75), "hyper": ("elation", 0.7),
    "jumping for joy": ("elation", 0.9), "beside myself with joy": ("elation", 0.95), "triumphant": ("elation", 0.8),
    "rapturous": ("elation", 0.9), "in raptures": ("elation", 0.9), "wildly excited": ("elation", 0.95),
    "bursting with excitement": ("elation", 0.9), "fired up": ("elation", 0.75),
    # others people name, read as the nearest of the ten (low levels: mild)
    "ashamed": ("sad", 0.45), "embarrassed": ("sad", 0.35), "guilty": ("sad", 0.4), "regret": ("sad", 0.5),
    "jealous": ("angry", 0.4), "envious": ("angry", 0.35), "hopeful": ("happy", 0.4), "relieved": ("happy", 0.45),
    "confused": ("surprise", 0.4), "gutted": ("sad", 0.8),
}

# Degree adverbs -> shift added to the emotion word's level. Multi-word first (longest match wins).
DEGREE_SHIFTS: dict[str, float] = {
    "a tiny bit": -0.4, "the tiniest bit": -0.45, "a little bit": -0.3, "a wee bit": -0.35, "just a bit": -0.3,
    "a bit": -0.25, "a little": -0.3, "a touch": -0.3, "a tad": -0.3, "slightly": -0.3, "mildly": -0.3,
    "faintly": -0.35, "barely": -0.45, "hardly": -0.45, "marginally": -0.35, "subtly": -0.3, "lightly": -0.25,
    "gently": -0.2, "somewhat": -0.15, "kind of": -0.15, "kinda": -0.15, "sort of": -0.15, "sorta": -0.15,
    "moderately": -0.1, "a bit more": -0.1, "fairly": -0.05, "quite": 0.1, "rather": 0.0, "pretty": 0.1,
    "really": 0.2, "very": 0.2, "so": 0.2, "truly": 0.2, "genuinely": 0.15, "seriously": 0.25, "super": 0.25,
    "deeply": 0.25, "highly": 0.25, "terribly": 0.3, "awfully": 0.3, "profoundly": 0.3, "intensely": 0.3,
    "very very": 0.3, "really really": 0.3, "so so": 0.3, "extremely": 0.35, "incredibly": 0.35,
    "immensely": 0.35, "tremendously": 0.35, "enormously": 0.35, "hugely": 0.3, "insanely": 0.35,
    "unbelievably": 0.35, "extraordinarily": 0.35, "exceedingly": 0.35, "wildly": 0.35, "madly": 0.35,
    "utterly": 0.35, "totally": 0.3, "completely": 0.35, "absolutely": 0.35, "thoroughly": 0.3,
    "overwhelmingly": 0.4, "beyond": 0.35, "as as possible": 0.4, "to the max": 0.4,
    "more": 0.1, "much more": 0.25, "less": -0.25, "a lot": 0.25,
}

# Words that make the following emotion a minor part of a mixture. Noun markers ("a hint of
# surprise") make it minor next to any main emotion, neutral included ("neutral with a hint of
# sadness"); adverb markers ("happy and slightly surprised") only next to a non-neutral one, since
# "calm but slightly sad" asks for a mild sadness.
MINOR_NOUN_MARKERS: tuple[str, ...] = (
    "a hint of", "hint of", "a touch of", "touch of", "a tinge of", "tinge of", "a trace of", "trace of",
    "a dash of", "dash of", "a bit of", "bit of", "a little bit of", "a note of", "note of", "a shade of",
    "a whiff of", "a pinch of", "a splash of", "a sprinkle of", "a twinge of", "some", "slight", "tinged with",
    "undertone of", "undertones of", "a hint", "hints of", "touches of", "a little of", "laced with",
    "with a little", "with a bit of", "with some", "with a hint of", "with a touch of", "a wee bit of",
    "an undercurrent of", "undercurrent of", "a sprinkling of", "a smattering of", "a flicker of", "a glimmer of",
)
# Words that make the following emotion the main one even after others ("mostly sad, a bit angry").
MAIN_MARKERS: tuple[str, ...] = ("mostly", "mainly", "primarily", "predominantly", "above all", "chiefly")
MINOR_ADVERB_MARKERS: tuple[str, ...] = (
    "slightly", "a little", "a bit", "mildly", "somewhat", "a tad", "a touch", "faintly", "a little bit",
    "kind of", "sort of", "barely", "a wee bit", "just a tad", "ever so slightly", "marginally",
)
# Weight of an emotion introduced by a minor marker after a main emotion.
MINOR_WEIGHT = 0.35

# Words that negate an emotion word within the next few tokens.
NEGATORS: tuple[str, ...] = (
    "not", "no", "never", "without", "nor", "n't", "isn't", "aren't", "wasn't", "don't", "doesn't", "didn't",
    "no longer", "stop being", "instead of", "rather than", "zero", "none", "free of", "lacking",
    "anything but", "far from",
)
# Words that end the reach of a negation ("not sad, but cheerful").
NEGATION_BREAKERS: tuple[str, ...] = (
    "but", "rather", "instead", "though", "although", "yet", "however", "and", "with", ".", ",", ";", "!", "?",
)

# Prosody hints: phrase -> (field, direction). A preceding degree word sets the size.
HINT_PHRASES: dict[str, tuple[str, int]] = {
    # tempo
    "faster": ("tempo", 1), "quicker": ("tempo", 1), "quickly": ("tempo", 1), "fast": ("tempo", 1),
    "speed up": ("tempo", 1), "sped up": ("tempo", 1), "hurried": ("tempo", 1), "hurriedly": ("tempo", 1),
    "rushed": ("tempo", 1), "rapid": ("tempo", 1), "rapidly": ("tempo", 1), "higher tempo": ("tempo", 1),
    "faster pace": ("tempo", 1), "quicker pace": ("tempo", 1), "brisk": ("tempo", 1), "briskly": ("tempo", 1),
    "speedier": ("tempo", 1), "speeding up": ("tempo", 1), "speed it up": ("tempo", 1), "in a hurry": ("tempo", 1),
    "slowing down": ("tempo", -1), "slow it down": ("tempo", -1), "slowing": ("tempo", -1), "pick up the pace": ("tempo", 1), "more quickly": ("tempo", 1),
    "slower": ("tempo", -1), "slowly": ("tempo", -1), "slow": ("tempo", -1), "slow down": ("tempo", -1),
    "slowed down": ("tempo", -1), "unhurried": ("tempo", -1), "leisurely": ("tempo", -1),
    "drawn out": ("tempo", -1), "drawn-out": ("tempo", -1), "drawl": ("tempo", -1), "lower tempo": ("tempo", -1),
    "slower pace": ("tempo", -1), "more slowly": ("tempo", -1), "take your time": ("tempo", -1),
    # pitch
    "higher pitch": ("pitch", 1), "higher-pitched": ("pitch", 1), "high-pitched": ("pitch", 1),
    "high pitched": ("pitch", 1), "higher voice": ("pitch", 1), "high voice": ("pitch", 1),
    "raise the pitch": ("pitch", 1), "raised pitch": ("pitch", 1), "pitch up": ("pitch", 1), "squeaky": ("pitch", 1),
    "lower pitch": ("pitch", -1), "lower-pitched": ("pitch", -1), "low-pitched": ("pitch", -1),
    "low pitched": ("pitch", -1), "lower voice": ("pitch", -1), "low voice": ("pitch", -1),
    "deeper voice": ("pitch", -1), "deep voice": ("pitch", -1), "deeper": ("pitch", -1),
    "lower the pitch": ("pitch", -1), "pitched down": ("pitch", -1), "pitched up": ("pitch", 1),
    "pitch it down": ("pitch", -1), "pitch it up": ("pitch", 1), "pitched lower": ("pitch", -1),
    "pitched higher": ("pitch", 1), "pitch down": ("pitch", -1), "higher": ("pitch", 1), "lower": ("pitch", -1),
    # volume
    "louder": ("volume", 1), "loud": ("volume", 1), "loudly": ("volume", 1), "more loudly": ("volume", 1),
    "raised voice": ("volume", 1), "at the top of": ("volume", 1), "booming": ("volume", 1),
    "more volume": ("volume", 1), "projecting": ("volume", 1),
    "softly": ("volume", -1), "softer": ("volume", -1), "quieter": ("volume", -1), "quietly": ("volume", -1),
    "quiet": ("volume", -1),
    "hushed": ("volume", -1), "under your breath": ("volume", -1), "under his breath": ("volume", -1),
    "under her breath": ("volume", -1), "less loud": ("volume", -1), "more softly": ("volume", -1),
    "more quietly": ("volume", -1), "soft voice": ("volume", -1), "softer voice": ("volume", -1),
    "lower volume": ("volume", -1), "less volume": ("volume", -1), "turn it down": ("volume", -1),
    "turn it up": ("volume", 1), "higher volume": ("volume", 1),
    # vocal effort: shouting raises level, F0 and tension; whispering lowers level and adds breath
    "shout": ("effort", 1), "shouting": ("effort", 1), "shouted": ("effort", 1), "shout it": ("effort", 1),
    "scream": ("effort", 1), "screaming": ("effort", 1), "screamed": ("effort", 1), "scream it": ("effort", 1),
    "yell": ("effort", 1), "yelling": ("effort", 1), "yelled": ("effort", 1), "bellow": ("effort", 1),
    "bellowing": ("effort", 1), "at the top of your lungs": ("effort", 1), "at the top of his lungs": ("effort", 1),
    "at the top of her lungs": ("effort", 1), "whisper": ("effort", -1), "whispering": ("effort", -1),
    "whispered": ("effort", -1), "in a whisper": ("effort", -1), "whisper it": ("effort", -1),
    "breathy": ("effort", -1),
}
# Size of a hint: bare word, then degree words before it (ProsodyHints: 0.5 "a bit", 1 "much").
HINT_BASE = 0.6
HINT_DEGREES: dict[str, float] = {
    "a tiny bit": 0.2, "a touch": 0.3, "a tad": 0.3, "slightly": 0.3, "a little": 0.4, "a little bit": 0.4,
    "a bit": 0.5, "somewhat": 0.5, "a little more": 0.4, "a bit more": 0.5, "kind of": 0.5, "more": 0.6,
    "noticeably": 0.7, "quite": 0.7, "rather": 0.6, "really": 0.9, "very": 0.9, "a lot": 1.0, "much": 1.0,
    "much more": 1.0, "way": 1.0, "far": 1.0, "a lot more": 1.0, "significantly": 0.9, "extremely": 1.0,
    "very much": 1.0, "super": 1.0, "dramatically": 1.0, "considerably": 0.9,
}

# Common misspellings seen in prompts; anything else is fuzzily matched against the lexicons.
TYPOS: dict[str, str] = {
    "verry": "very", "vey": "very", "realy": "really", "reallly": "really", "extremly": "extremely",
    "extreamly": "extremely", "slighty": "slightly", "sligthly": "slightly", "abit": "a bit", "alittle": "a little",
    "hapy": "happy", "happpy": "happy", "hppy": "happy", "happi": "happy", "angery": "angry", "angy": "angry",
    "agnry": "angry", "sadd": "sad", "saad": "sad", "suprised": "surprised", "surprized": "surprised",
    "suprise": "surprise", "surprize": "surprise", "suprized": "surprised", "nuetral": "neutral",
    "netural": "neutral", "neutal": "neutral", "furius": "furious", "fuirous": "furious", "exstatic": "ecstatic",
    "estatic": "ecstatic", "astonised": "astonished", "releaved": "relieved", "cheerfull": "cheerful",
    "joyfull": "joyful", "miserible": "miserable", "depresed": "depressed", "iritated": "irritated",
    "irritaed": "irritated", "anoyed": "annoyed", "annoied": "annoyed", "fustrated": "frustrated",
    "slowley": "slowly", "quiter": "quieter", "louder.": "louder", "amazd": "amazed", "shoked": "shocked",
    "thrilld": "thrilled", "delited": "delighted", "dissapointed": "disappointed", "disapointed": "disappointed",
    "greif": "grief", "calmm": "calm", "clam": "calm", "exited": "excited", "excitd": "excited",
    "gratefull": "grateful", "wisper": "whisper", "wispering": "whispering",
}

# Phrases that frame a request ("could you make this sound ..."): dropped before the prompt is
# embedded, so the sentence encoder compares what is asked for, not the asking.
REQUEST_FRAMES: tuple[str, ...] = (
    "could you", "can you", "would you", "will you", "please", "make this sound", "make it sound",
    "make the voice sound", "make the speaker sound", "make me sound", "make them sound", "make him sound",
    "make her sound", "make this", "make it", "sound like", "sounds like", "say this", "say it", "read this",
    "read it", "i want", "i'd like", "i would like", "it to sound", "this to sound", "the speaker",
    "the voice", "as if", "as though", "like", "just", "got", "some", "someone", "somebody", "who",
)

# Mandarin (ESD's other language): words -> the English lexicon tokens they stand for, so that
# degree words, negation, mixtures and hints work exactly as in English. Longest match first
# when a run of Chinese characters is segmented. Degree words: 有点/有一点/稍微/略微 lower,
# 很/挺/比较 a little higher, 非常/特别/十分/太 higher, 极其/极度/超级/无比 highest.
ZH_WORDS: dict[str, str] = {
    # degree
    "有点儿": "a bit", "有点": "a bit", "有一点": "a little", "一点点": "a tiny bit", "一点": "a little",
    "稍微": "slightly", "稍稍": "slightly", "略微": "slightly", "略": "slightly", "有些": "somewhat",
    "有些许": "slightly", "比较": "quite", "挺": "quite", "很": "really", "真": "really", "好": "really",
    "非常": "very", "特别": "very", "十分": "very", "太": "very", "相当": "very", "格外": "very",
    "极其": "extremely", "极度": "extremely", "极为": "extremely", "超级": "extremely", "无比": "extremely",
    "万分": "extremely", "极": "extremely", "超": "extremely", "死了": "extremely", "得要命": "extremely",
    # negation
    "一点也不": "not at all", "一点都不": "not at all", "不是": "not", "不": "not", "没有": "not", "没": "not",
    "别": "not", "不要": "not", "并不": "not", "不再": "no longer",
    # mixtures / clause words
    "但是": "but", "但": "but", "可是": "but", "而且": "and", "又": "and", "和": "and", "带着": "with",
    "带点": "with a hint of", "带一点": "with a hint of", "一丝": "a hint of", "些许": "a hint of",
    "主要是": "mostly",
    # neutral
    "中性": "neutral", "平静": "calm", "冷静": "calm", "平淡": "flat", "平稳": "steady", "正常": "normal",
    "没有感情": "emotionless", "面无表情": "deadpan", "淡定": "calm", "客观": "objective",
    # angry
    "生气": "angry", "愤怒": "angry", "恼火": "irritated", "气愤": "angry", "发火": "angry", "火大": "angry",
    "暴怒": "furious", "震怒": "furious", "大怒": "furious", "怒": "angry", "烦躁": "irritated", "不耐烦": "annoyed",
    "恼怒": "angry", "愤慨": "indignant", "气死": "furious", "抓狂": "furious", "不满": "displeased", "烦": "annoyed",
    # happy
    "开心": "happy", "高兴": "happy", "快乐": "happy", "愉快": "cheerful", "欢乐": "joyful", "喜悦": "joyful",
    "幸福": "happy", "满意": "pleased", "欣喜": "delighted", "乐": "happy", "愉悦": "cheerful", "欢快": "cheerful",
    # sad
    "难过": "sad", "伤心": "sad", "悲伤": "sad", "忧伤": "melancholy", "沮丧": "dejected", "失望": "disappointed",
    "痛苦": "miserable", "悲痛": "grief", "心碎": "heartbroken", "哀伤": "sorrowful", "郁闷": "gloomy",
    "难受": "upset", "委屈": "hurt", "不开心": "unhappy", "不高兴": "unhappy", "哭": "crying", "绝望": "despair",
    # surprise
    "惊讶": "surprised", "吃惊": "surprised", "震惊": "shocked", "意外": "surprised", "惊奇": "amazed",
    "惊喜": "surprised", "诧异": "surprised", "目瞪口呆": "dumbfounded", "不敢相信": "can't believe",
    # extended
    "害怕": "scared", "恐惧": "terrified", "紧张": "nervous", "焦虑": "anxious", "担心": "worried",
    "惊恐": "terrified", "惶恐": "frightened", "胆怯": "timid", "厌恶": "disgusted", "恶心": "disgusted",
    "讨厌": "disgusted", "鄙视": "contempt", "嫌弃": "disgusted", "无聊": "bored", "疲惫": "exhausted",
    "累": "tired", "疲倦": "tired", "厌倦": "bored", "困": "sleepy", "乏味": "bored", "温柔": "tender",
    "温和": "gentle", "亲切": "warm", "慈爱": "loving", "深情": "loving", "柔和": "gentle", "兴奋": "excited",
    "激动": "excited", "狂喜": "ecstatic", "欣喜若狂": "ecstatic",
    # hints
    "快一点": "a bit faster", "快点": "a bit faster", "快些": "a bit faster", "更快": "faster", "快": "faster",
    "慢一点": "a bit slower", "慢点": "a bit slower", "慢些": "a bit slower", "更慢": "slower", "慢": "slower",
    "大声": "louder", "响亮": "louder", "小声": "quietly", "轻声": "softly", "低声": "quietly",
    "高一点": "a bit higher", "高音": "higher pitch", "低沉": "deeper voice", "低一点": "a bit lower",
    "喊": "shout", "大喊": "shout", "吼": "shout", "尖叫": "scream", "耳语": "whisper", "悄悄": "whisper",
    # fillers that carry no emotion
    "的": "", "地": "", "得": "", "了": "", "我": "", "你": "", "他": "", "她": "", "说": "", "地说": "",
    "语气": "", "声音": "", "一些": "", "感觉": "", "请": "please", "用": "", "是": "", "觉得": "", "一下": "",
}

# Emoji for the five ESD emotions (and a few others) -> lexicon words. A repeated emoji ("😢😢")
# reads as "very".
EMOJI: dict[str, str] = {
    "😀": "happy", "😃": "happy", "😄": "happy", "😁": "happy", "😊": "happy", "🙂": "content", "☺": "happy",
    "😆": "laughing", "😂": "laughing", "🤣": "laughing", "😍": "delighted", "😸": "happy", "😺": "happy",
    "😢": "sad", "😭": "sobbing", "😞": "disappointed", "😔": "sad", "☹": "sad", "🙁": "sad", "😿": "sad",
    "💔": "heartbroken", "😥": "sad", "😟": "worried", "😪": "sad",
    "😠": "angry", "😡": "furious", "🤬": "furious", "👿": "angry", "💢": "angry", "😤": "annoyed", "😾": "angry",
    "😮": "surprised", "😯": "surprised", "😲": "astonished", "😳": "surprised", "🤯": "mind blown", "🙀": "shocked",
    "😐": "neutral", "😑": "deadpan", "😶": "neutral",
    "😨": "scared", "😰": "anxious", "😧": "scared", "😱": "terrified",
    "🤢": "disgusted", "🤮": "disgusted", "😒": "bored", "😴": "bored", "🥱": "bored", "😩": "exhausted",
    "🥰": "loving", "😌": "tender", "🤗": "warm", "❤": "loving",
    "🥳": "ecstatic", "🤩": "thrilled",
}

# Degree words of other languages, used with the multilingual encoder (the encoder separates
# emotions across languages but, like MiniLM, not degree).
FOREIGN_DEGREE_SHIFTS: dict[str, float] = {
    # French, Spanish, Italian, Portuguese, German, Dutch, Russian (transliterated and Cyrillic)
    "un peu": -0.25, "légèrement": -0.3, "legerement": -0.3, "très": 0.2, "tres": 0.2, "extrêmement": 0.35,
    "un poco": -0.25, "ligeramente": -0.3, "muy": 0.2, "extremadamente": 0.35, "sumamente": 0.35,
    "un po": -0.25, "leggermente": -0.3, "molto": 0.2, "estremamente": 0.35,
    "um pouco": -0.25, "levemente": -0.3, "muito": 0.2, "extremamente": 0.35,
    "ein bisschen": -0.25, "ein wenig": -0.25, "etwas": -0.15, "leicht": -0.3, "sehr": 0.2, "extrem": 0.35,
    "äußerst": 0.35, "een beetje": -0.25, "erg": 0.2, "heel": 0.2,
    "немного": -0.25, "слегка": -0.3, "очень": 0.2, "крайне": 0.35,
    "少し": -0.25, "ちょっと": -0.25, "とても": 0.2, "すごく": 0.25, "非常に": 0.3,
    "조금": -0.25, "약간": -0.3, "매우": 0.2, "아주": 0.2, "너무": 0.25,
}
