"""Whisper-style text normalisation for WER/CER (numbers, abbreviations, punctuation)."""

from __future__ import annotations

import pytest

from promptevc.eval.normalize import normalize_basic, normalize_text


@pytest.mark.parametrize("text, expected", [
    # punctuation, case, hyphens, whitespace
    ("  Hello,   WORLD!  ", "hello world"),
    ("cold-hearted—and selfish.", "cold hearted and selfish"),
    ("“Quoted” text; (aside) here", "quoted text here"),
    # annotations and hesitations
    ("[laughs] um, hello <noise> uh there", "hello there"),
    # titles and contractions
    ("Mr. John Dashwood and Dr Smith", "mister john dashwood and doctor smith"),
    ("I don't know, we're here, it's been long", "i do not know we are here it has been long"),
    ("You can't and won't; let's go", "you can not and will not let us go"),
    ("John's car", "john's car"),
    # numbers: cardinals, compounds, scales, "and", "a"
    ("ten of clubs", "10 of clubs"),
    ("twenty-one guns", "21 guns"),
    ("two hundred and five", "205"),
    ("a thousand men", "1000 men"),
    ("two million three hundred thousand and one", "2300001"),
    ("five five", "5 5"),
    ("1,000 people", "1000 people"),
    # ordinals, decimals, years, decades
    ("the twenty first of May", "the 21st of may"),
    ("first and third", "1st and 3rd"),
    ("three point five", "3.5"),
    ("in nineteen ninety nine", "in 1999"),
    ("nineteen oh five", "1905"),
    ("twenty twenty", "2020"),
    ("the nineties", "the 90s"),
    # currency and percent are spelled out
    ("$5 and 20%", "5 dollars and 20 percent"),
    ("five dollars and twenty percent", "5 dollars and 20 percent"),
    # spelling and diacritics
    ("The colour of the centre", "the color of the center"),
    ("café naïve", "cafe naive"),
])
def test_english_normalisation(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize("ref, hyp", [
    ("ten of clubs", "10 of clubs."),
    ("And mister John Dashwood", "and Mr. John Dashwood"),
    ("eight of spades four of clubs", "8 of spades, 4 of clubs"),
    ("he was not ill disposed", "He was not ill-disposed."),
    ("in nineteen ninety nine", "In 1999,"),
    ("it is five percent", "It is 5%."),
])
def test_reference_and_hypothesis_meet(ref, hyp):
    assert normalize_text(ref) == normalize_text(hyp)


def test_other_languages_basic_form():
    assert normalize_text("我们今天去公园。", "zh") == "我们今天去公园"
    assert normalize_text("Ｈｅｌｌｏ，世界！１２３", "zh") == "hello世界123"  # NFKC: full width -> ASCII
    assert normalize_text("Où est-il ?", "fr") == "où est il"
    assert normalize_basic("Ten, of clubs") == "ten of clubs"  # no number reading outside English
