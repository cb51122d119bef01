"""The neural engine through the Converter: the shared front and back, and its release edge cases.

A tiny random release (1-layer text encoder, tiny acoustic config, Griffin-Lim) is enough: what
is checked is the Converter's work (chunking, resampling back to the input's rate, one-line
errors), not the model's quality. Building the release and the transformers import take ~10 s,
so the module runs in the slow group; ``tests/test_api.py`` covers the same chunking of an
engine without sessions with a stand-in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "neural"))
from neural_corpus import TINY_CONFIG, make_random_release, make_tiny_text_encoder  # noqa: E402
from safety_support import fresh_logging  # noqa: E402, F401

from promptevc.cli import main  # noqa: E402
from promptevc.utils.synth import synth_speech  # noqa: E402

pytestmark = pytest.mark.slow


def _release(root: Path, encoder_dir: Path) -> Path:
    from promptevc.config import load_yaml
    from promptevc.models.descriptor import load_text_encoder
    from promptevc.train.acoustic import AcousticExperimentConfig

    cfg = load_yaml(AcousticExperimentConfig, TINY_CONFIG, [f"model.descriptor.encoder={encoder_dir}",
                                                    "model.content.num_units=12", "model.speaker.in_dim=256"])
    return make_random_release(cfg, load_text_encoder(str(encoder_dir)), root, k=12)[0]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("neural_release")
    return _release(root, make_tiny_text_encoder(root / "encoder"))


def test_neural_output_at_the_inputs_rate_and_long_input_chunked(release, tmp_path, capsys, monkeypatch):
    """The neural engine used to convert 600 s as one batch at 16 kHz; now chunks, native rate back."""
    from promptevc.engines.neural import NeuralSession

    lengths: list[int] = []
    real = NeuralSession.convert

    def spy(self, chunk):
        lengths.append(len(chunk))
        return real(self, chunk)

    monkeypatch.setattr(NeuralSession, "convert", spy)
    src = tmp_path / "in.wav"
    sf.write(src, np.stack([synth_speech(150.0, 2.0, 22050)] * 2, axis=1), 22050, subtype="PCM_24")
    out = tmp_path / "out.flac"
    assert main(["convert", str(src), "-o", str(out), "--engine", "neural", "--model", str(release),
                 "--vocoder", "griffin-lim", "--emotion", "sad", "--seed", "4294967295"]) == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (22050, 2, "PCM_24")
    assert "output at 16000 Hz is resampled to 22050 Hz" in capsys.readouterr().err

    from promptevc.api import Converter
    from promptevc.config import InputConfig

    lengths.clear()
    conv = Converter.load(engine="neural", model=str(release), vocoder="griffin-lim", device="cpu",
                          policy=InputConfig(chunk_seconds=4.0))
    y, sr = conv.convert(synth_speech(150.0, 12.0, 44100), 44100, emotion="happy", seed=1)
    assert sr == 44100 and y.ndim == 1 and np.all(np.isfinite(y))
    assert len(lengths) >= 3 and max(lengths) <= 4 * 16000 + 320  # chunks at the model's 16 kHz


def test_huge_seed_with_the_neural_engine_is_one_line(release, tmp_path, capsys):
    from promptevc.api import Converter
    from promptevc.errors import ConfigError

    src = tmp_path / "in.wav"
    sf.write(src, synth_speech(150.0, 1.0, 16000), 16000)
    assert main(["convert", str(src), "-o", str(tmp_path / "o.wav"), "--engine", "neural", "--model", str(release),
                 "--vocoder", "griffin-lim", "--emotion", "sad", "--seed", str(2**64)]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err
    conv = Converter.load(engine="neural", model=str(release), vocoder="griffin-lim", device="cpu")
    with pytest.raises(ConfigError, match="seed"):
        conv.convert(synth_speech(150.0, 1.0, 16000), 16000, emotion="sad", seed=2**64)


def test_pickle_only_text_encoder_loads_safely_or_fails_in_one_line(tmp_path, capsys):
    """A text encoder folder with only pytorch_model.bin: loaded with weights_only, or one clear line."""
    from safetensors.torch import load_file

    enc = make_tiny_text_encoder(tmp_path / "encoder")
    torch.save(load_file(str(enc / "model.safetensors")), enc / "pytorch_model.bin")
    (enc / "model.safetensors").unlink()
    rel = _release(tmp_path / "r", enc)
    src = tmp_path / "in.wav"
    sf.write(src, synth_speech(150.0, 1.0, 16000), 16000)
    rc = main(["convert", str(src), "-o", str(tmp_path / "o.wav"), "--engine", "neural", "--model", str(rel),
               "--vocoder", "griffin-lim", "--emotion", "sad"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert rc == 0 or (rc == 2 and len([x for x in err.splitlines() if ": error: " in x]) == 1)


def test_malformed_meta_fields_are_one_line(release, tmp_path, capsys):
    """meta.json of the right kind but with fields of the wrong type: a release problem, one line."""
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(release, bad)
    meta = json.loads((bad / "meta.json").read_text())
    meta["content"] = ["not", "a", "mapping"]
    (bad / "meta.json").write_text(json.dumps(meta))
    src = tmp_path / "in.wav"
    sf.write(src, synth_speech(150.0, 1.0, 16000), 16000)
    assert main(["convert", str(src), "-o", str(tmp_path / "o.wav"), "--engine", "neural", "--model", str(bad),
                 "--vocoder", "griffin-lim", "--emotion", "sad"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len([x for x in err.splitlines() if ": error: " in x]) == 1


def test_recipe_batch_uses_the_same_checks(release, tmp_path):
    """recipes/utils/convert_batch.py goes through convert_many: bad ids stop it before any write."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "recipes" / "utils" / "convert_batch.py"
    spec = importlib.util.spec_from_file_location("convert_batch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wav = tmp_path / "a.wav"
    sf.write(wav, synth_speech(150.0, 1.0, 16000), 16000)
    prompts = tmp_path / "prompts.tsv"
    prompts.write_text("sad\t0.5\thigh\tPortray a tremendously crestfallen narrator.\n")
    out = tmp_path / "out"
    common = ["--prompts", str(prompts), "--out-dir", str(out), "--model", str(release), "--vocoder", "griffin-lim",
              "--device", "cpu"]
    bad = tmp_path / "bad.scp"
    bad.write_text(f"u1 {wav}\n../../escape {wav}\n")
    assert module.main(["--src", str(bad), *common]) == 2
    assert not out.exists() or not any(out.rglob("*.wav"))
    good = tmp_path / "src.scp"
    good.write_text(f"u1 {wav}\nu2 {wav}\n")
    assert module.main(["--src", str(good), *common]) == 0
    assert sorted(p.name for p in (out / "sad_high").iterdir()) == ["u1.wav", "u2.wav"]
    # The other systems of stage 8 convert the same prompts (the prosody engine needs no release).
    for system in ("neural_parser", "neural_projection", "prosody"):
        assert module.main(["--src", str(good), "--prompts", str(prompts), "--out-dir", str(tmp_path / system),
                            "--model", str(release), "--vocoder", "griffin-lim", "--device", "cpu",
                            "--system", system]) == 0
        assert sorted(p.name for p in (tmp_path / system / "sad_high").iterdir()) == ["u1.wav", "u2.wav"]
    # A training phrasing is refused before anything is loaded.
    prompts.write_text("sad\t0.5\thigh\tvery sad\n")
    with pytest.raises(SystemExit, match="phrasing of the training prompt generator"):
        module.main(["--src", str(good), *common])
