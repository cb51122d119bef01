"""Text normalisation for WER/CER, applied to the reference and the hypothesis alike.

Recognisers and transcripts write the same words differently ("10" / "ten", "Mr." / "mister",
"cold-hearted" / "cold hearted", "don't" / "do not"); counting those as errors measures spelling
conventions, not content. :func:`normalize_text` maps both sides to one written form, following
the conventions of the English normaliser published with Whisper (Radford et al. 2022, "Robust
Speech Recognition via Large-Scale Weak Supervision", appendix C): lower case; bracketed
annotations and hesitation fillers removed; contractions expanded; titles spelled out; spelled
numbers written as digits (with ordinals, decimals, years and amounts); symbols and punctuation
turned into spaces; diacritics removed; some British spellings made American.

English (``language="en"``) gets all of that. Other languages get the basic form: Unicode NFKC
(full-width digits and letters become ASCII), lower case, bracketed text and punctuation
removed, whitespace collapsed; for languages written without spaces (``zh``, ``ja``, ``th``...)
CER is the meaningful measure and spaces are dropped.

The number reader handles what read speech contains: cardinals up to the trillions ("two hundred
and five" -> 205, "a thousand" -> 1000), ordinals ("twenty first" -> 21st), decimals ("three
point five" -> 3.5), years said in pairs ("nineteen ninety nine" -> 1999, "twenty twenty" ->
2020), digit strings with thousands separators ("1,000" -> 1000) and currency or percent signs,
which are spelled out ("$5" -> "5 dollars", "5%" -> "5 percent").
Single number words in a row stay separate numbers ("five five" -> "5 5").
"""

from __future__ import annotations

import re
import unicodedata

# Languages written without spaces between words: normalised for CER, spaces removed.
UNSPACED_LANGUAGES = ("zh", "ja", "th", "lo", "km", "my", "yue", "bo")

FILLERS = frozenset({"hmm", "hm", "mm", "mmm", "mhm", "uh", "um", "umm", "uhm", "er", "erm", "ah"})

# Abbreviated titles, spelled out (with or without a trailing full stop).
TITLES = {
    "mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "prof": "professor", "st": "saint",
    "capt": "captain", "gov": "governor", "gen": "general", "sen": "senator", "rep": "representative",
    "pres": "president", "rev": "reverend", "hon": "honorable", "lt": "lieutenant", "col": "colonel",
    "sgt": "sergeant", "jr": "junior", "sr": "senior", "esq": "esquire", "mt": "mount", "vs": "versus",
}

# Whole-word contractions first, then the general suffix rules.
CONTRACTIONS = {
    "won't": "will not", "can't": "can not", "cannot": "can not", "shan't": "shall not", "ain't": "is not",
    "let's": "let us", "y'all": "you all", "ma'am": "madam", "gonna": "going to", "wanna": "want to",
    "gotta": "got to", "gimme": "give me", "lemme": "let me", "o'clock": "oclock",
}
_SUFFIXES = [
    (re.compile(r"\b(\w+)'s been\b"), r"\1 has been"),
    (re.compile(r"\b(\w+)'d been\b"), r"\1 had been"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'d\b"), " would"),
]

# A short list of British spellings that recognisers trained on American text write differently.
SPELLINGS = {
    "colour": "color", "colours": "colors", "coloured": "colored", "favour": "favor", "favourite": "favorite",
    "honour": "honor", "honoured": "honored", "labour": "labor", "neighbour": "neighbor",
    "neighbours": "neighbors", "neighbourhood": "neighborhood", "behaviour": "behavior", "harbour": "harbor",
    "humour": "humor", "rumour": "rumor", "flavour": "flavor", "savour": "savor", "vapour": "vapor",
    "centre": "center", "centres": "centers", "theatre": "theater", "metre": "meter", "metres": "meters",
    "litre": "liter", "fibre": "fiber", "realise": "realize", "realised": "realized", "recognise": "recognize",
    "recognised": "recognized", "organise": "organize", "organised": "organized", "apologise": "apologize",
    "analyse": "analyze", "travelled": "traveled", "travelling": "traveling", "cancelled": "canceled",
    "grey": "gray", "cheque": "check", "programme": "program", "catalogue": "catalog", "dialogue": "dialog",
    "defence": "defense", "offence": "offense", "licence": "license", "jewellery": "jewelry", "plough": "plow",
    "mum": "mom", "whilst": "while", "amongst": "among", "towards": "toward", "ageing": "aging",
}

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
          "trillion": 1_000_000_000_000}
ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}
ORDINAL_TENS = {w[:-1] + "ieth": v for w, v in TENS.items()}  # twentieth, thirtieth, ...
ORDINAL_SCALES = {w + "th": v for w, v in SCALES.items()}  # hundredth, thousandth, ...
PLURAL_TENS = {w[:-1] + "ies": v for w, v in TENS.items()}  # twenties, thirties: "the 90s"
CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros", "¥": "yen", "¢": "cents"}


def _ordinal_suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _remove_brackets(text: str) -> str:
    """Drop ``[laughs]``, ``(inaudible)``, ``<noise>`` annotations."""
    return re.sub(r"[<\[][^>\]]*[>\]]|\([^)]*\)", " ", text)


class _Cardinal:
    """Accumulates number words left to right: ``total`` (completed scales) + ``current``."""

    def __init__(self) -> None:
        self.total = 0
        self.current = 0
        self.words = 0  # how many number words were read
        self.last = ""  # "unit", "teen", "tens", "hundred", "scale"
        self.last_scale = float("inf")  # the smallest of thousand/million/... used so far

    @property
    def value(self) -> int:
        return self.total + self.current

    def accepts(self, word: str) -> bool:
        """Whether ``word`` continues this number in standard English ("twenty" "one" yes, "five" "five" no)."""
        if self.words == 0:
            return word in UNITS or word in TENS or word in SCALES
        if word in UNITS:
            unit_ok = UNITS[word] < 10 and self.last == "tens"
            return unit_ok or self.last in ("hundred", "scale")
        if word in TENS:
            return self.last in ("hundred", "scale")
        if word == "hundred":
            return self.last in ("unit", "teen", "tens") and self.current < 100
        if word in SCALES:  # "two million three hundred thousand", not "a thousand thousand"
            return self.current > 0 and SCALES[word] < self.last_scale
        return False

    def add(self, word: str) -> None:
        if word in UNITS:
            self.current += UNITS[word]
            self.last = "unit" if UNITS[word] < 10 else "teen"
        elif word in TENS:
            self.current += TENS[word]
            self.last = "tens"
        elif word == "hundred":
            self.current = max(self.current, 1) * 100
            self.last = "hundred"
        else:
            self.total += max(self.current, 1) * SCALES[word]
            self.current = 0
            self.last_scale = SCALES[word]
            self.last = "scale"
        self.words += 1


def _read_numbers(words: list[str]) -> list[str]:
    """Replace runs of number words by digits (see the module docstring)."""
    out: list[str] = []
    # spoken_pair[i]: out[i] is a number said as a two-digit group that can start a year (10-29)
    spoken_pair: list[bool] = []
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        if w == "a" and i + 1 < n and words[i + 1] in ("hundred", "thousand", "million", "billion"):
            w = "one"
        if w in ORDINAL_UNITS or w in ORDINAL_TENS or w in ORDINAL_SCALES:
            value = ORDINAL_UNITS.get(w) or ORDINAL_TENS.get(w) or 1
            if w in ORDINAL_SCALES:
                value = ORDINAL_SCALES[w]
            out.append(f"{value}{_ordinal_suffix(value)}")
            spoken_pair.append(False)
            i += 1
            continue
        if w in PLURAL_TENS:
            out.append(f"{PLURAL_TENS[w]}s")
            spoken_pair.append(False)
            i += 1
            continue
        if w not in UNITS and w not in TENS and w not in SCALES:
            out.append(w)
            spoken_pair.append(False)
            i += 1
            continue
        number = _Cardinal()
        j = i
        while j < n:
            word = words[j]
            if word == "a" and j == i and j + 1 < n and words[j + 1] in SCALES:
                word = "one"
            if word == "and" and number.last in ("hundred", "scale") and j + 1 < n and \
                    (words[j + 1] in UNITS or words[j + 1] in TENS):
                j += 1
                continue
            # "twenty first": a cardinal followed by an ordinal unit ends the number as an ordinal
            if word in ORDINAL_UNITS and number.last == "tens" and ORDINAL_UNITS[word] < 10:
                value = number.value + ORDINAL_UNITS[word]
                number = None
                j += 1
                out.append(f"{value}{_ordinal_suffix(value)}")
                spoken_pair.append(False)
                break
            if not number.accepts(word):
                break
            number.add(word)
            j += 1
        if number is None:
            i = j
            continue
        value = number.value
        # "point five": decimals are read digit by digit
        if j + 1 < n and words[j] == "point" and words[j + 1] in UNITS and UNITS[words[j + 1]] < 10:
            digits = []
            j += 1
            while j < n and words[j] in UNITS and UNITS[words[j]] < 10:
                digits.append(str(UNITS[words[j]]))
                j += 1
            text = f"{value}.{''.join(digits)}"
            pair = False
        else:
            text = str(value)
            pair = 10 <= value <= 99 and number.total == 0 and number.last in ("teen", "tens", "unit")
        # Years and similar said in two-digit groups: "nineteen ninety nine" -> 1999,
        # "nineteen oh five" -> 1905, "twenty twenty" -> 2020.
        if out and spoken_pair[-1] and pair:
            out[-1] = out[-1] + text
            spoken_pair[-1] = False
        elif pair and j + 1 < n and words[j] == "oh" and words[j + 1] in UNITS and 0 < UNITS[words[j + 1]] < 10:
            text = f"{value}0{UNITS[words[j + 1]]}"
            j += 2
            out.append(text)
            spoken_pair.append(False)
        else:
            out.append(text)
            spoken_pair.append(pair and value <= 29)
        i = j
    return out


def _symbols_to_words(text: str) -> str:
    """Currency, percent and digit grouping before punctuation is removed."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    for sign, word in CURRENCIES.items():
        text = re.sub(re.escape(sign) + r"\s*(\d+(?:\.\d+)?)", rf"\1 {word}", text)
    text = re.sub(r"(\d)\s*%", r"\1 percent", text)
    text = re.sub(r"(\d)\s*&\s*(\d)", r"\1 and \2", text)
    return text.replace("&", " and ")


def normalize_english(text: str) -> str:
    """The English normal form described in the module docstring."""
    text = _strip_diacritics(text).lower().replace("’", "'").replace("‘", "'")
    text = _remove_brackets(text)
    text = _symbols_to_words(text)
    text = re.sub(r"\s+'", "'", text)  # "he 's" -> "he's"
    for word, spelled in CONTRACTIONS.items():
        text = re.sub(rf"\b{re.escape(word)}\b", spelled, text)
    for pattern, repl in _SUFFIXES:
        text = pattern.sub(repl, text)
    # Titles: "mr." / "mr" as whole words
    text = re.sub(r"\b(" + "|".join(TITLES) + r")\b\.?", lambda m: TITLES[m.group(1)], text)
    # Keep decimal points and ordinal suffixes inside numbers; everything else non-word is a space.
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^\w\s.']", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    words = [SPELLINGS.get(w, w) for w in text.split() if w not in FILLERS]
    words = _read_numbers(words)
    return " ".join(words)


def normalize_basic(text: str, language: str = "") -> str:
    """NFKC, lower case, brackets and punctuation removed; no spaces for unspaced languages."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _remove_brackets(text)
    # Letters, marks and digits stay; punctuation and symbols of every script become spaces.
    text = "".join(c if unicodedata.category(c)[0] in "LMN" or c.isspace() else " " for c in text)
    if language.split("-")[0] in UNSPACED_LANGUAGES:
        return "".join(text.split())
    return " ".join(text.split())


def normalize_text(text: str, language: str = "en") -> str:
    """One written form for WER/CER: :func:`normalize_english` for ``en``, else :func:`normalize_basic`."""
    if (language or "en").split("-")[0].lower() == "en":
        return normalize_english(text)
    return normalize_basic(text, language.lower())
