"""One training vocabulary: packaged configs, older key names, derived fields, release contents."""

from __future__ import annotations

import pytest
import yaml

from promptevc.cli import main
from promptevc.errors import ConfigError
from promptevc.train.acoustic import AcousticExperimentConfig
from promptevc.train.config import CONFIG_DIR, TrainConfig, derive, load_train_config, resolve_config_path
from promptevc.train.evaluator import EvaluatorExperimentConfig
from promptevc.train.vocoder import VocoderExperimentConfig

CLASSES = {"acoustic": AcousticExperimentConfig, "evaluator": EvaluatorExperimentConfig,
           "vocoder": VocoderExperimentConfig}


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_packaged_config_loads_with_one_train_vocabulary(path):
    cfg = load_train_config(CLASSES[path.stem.split("_")[0]], path)
    assert isinstance(cfg.train, TrainConfig)
    raw = yaml.safe_load(path.read_text())
    assert set(raw["train"]) <= {f.name for f in TrainConfig.__dataclass_fields__.values()}


@pytest.mark.parametrize("old,new", [
    ("train.lr", "train.learning_rate"),
    ("train.log_every_steps", "train.log_every"),
    ("optim.learning_rate", "train.learning_rate"),
    ("train.amp", "train.precision"),
    ("data.batch_size", "train.batch_size"),
])
def test_old_key_names_name_the_new_key(tmp_path, old, new):
    section, key = old.split(".")
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump({section: {key: 1}}))
    with pytest.raises(ConfigError, match=rf"{old} is no longer a config key; use {new}"):
        load_train_config(VocoderExperimentConfig, path)
    with pytest.raises(ConfigError, match=rf"--set: {old} is no longer a config key; use {new}"):
        load_train_config(VocoderExperimentConfig, resolve_config_path("vocoder_tiny", "vocoder"), [f"{old}=1"])


def test_old_key_on_the_command_line_is_one_line(tmp_path, capsys):
    rc = main(["train-evaluator", "--config", "tiny", "--data", str(tmp_path), "--exp", str(tmp_path / "e"),
               "--set", "train.lr=0.1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "use train.learning_rate" in err[0]
    assert not (tmp_path / "e").exists()


def test_unknown_keys_and_wrong_types_stay_errors():
    path = resolve_config_path("tiny", "evaluator")
    with pytest.raises(ConfigError, match="unknown key train.learning_rat"):
        load_train_config(EvaluatorExperimentConfig, path, ["train.learning_rat=1"])
    with pytest.raises(ConfigError, match="train.max_steps: expected an integer"):
        load_train_config(EvaluatorExperimentConfig, path, ["train.max_steps=many"])
    with pytest.raises(ConfigError, match="precision"):
        load_train_config(EvaluatorExperimentConfig, path, ["train.precision=half"])
    with pytest.raises(ConfigError, match="unknown key generator.channels"):
        load_train_config(VocoderExperimentConfig, resolve_config_path("vocoder_tiny", "vocoder"),
                          ["generator.channels=3"])
    with pytest.raises(ConfigError, match="no such config file.*evaluator_tiny"):
        resolve_config_path("tinyy", "evaluator")


def test_data_dependent_fields_are_derived_and_conflicts_refused():
    assert derive(100, 100, 8, "model.content.num_units", "units") == 8  # unset: the data's value
    assert derive(8, 100, 8, "model.content.num_units", "units") == 8
    with pytest.raises(ConfigError, match="num_units is 64 in the config but 8 in units; remove"):
        derive(64, 100, 8, "model.content.num_units", "units")
    raw = yaml.safe_load((CONFIG_DIR / "acoustic_tiny.yaml").read_text())
    assert "num_units" not in raw["model"]["content"] and "in_dim" not in raw["model"]["speaker"]
    assert "audio" not in raw and "audio" not in yaml.safe_load((CONFIG_DIR / "evaluator_tiny.yaml").read_text())


def test_a_release_holds_no_training_section(tmp_path):
    from promptevc.release import write_release

    with pytest.raises(ValueError, match="no training settings"):
        write_release(tmp_path / "r", kind="acoustic", config={"model": {}, "train": {"max_steps": 1}}, tensors={})
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    rc = main(["train-evaluator", "--config", "tiny", "--data", str(tmp_path), "--exp", str(tmp_path / "e"),
               "--device", "cuda"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "no CUDA GPU" in err[0] and "--device cpu" in err[0]
