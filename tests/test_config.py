import dataclasses

import pytest

from promptevc.config import (
    AudioConfig,
    InputConfig,
    apply_overrides,
    check_audio_compatible,
    from_dict,
    load_yaml,
    save_yaml,
    to_dict,
)
from promptevc.errors import ConfigError


@dataclasses.dataclass
class Inner:
    channels: int = 8
    dropout: float = 0.1
    kinds: list[str] = dataclasses.field(default_factory=lambda: ["a"])


@dataclasses.dataclass
class Outer:
    name: str = "x"
    flag: bool = False
    inner: Inner = dataclasses.field(default_factory=Inner)
    audio: AudioConfig = dataclasses.field(default_factory=AudioConfig)
    maybe: int | None = None


def test_yaml_round_trip(tmp_path):
    cfg = Outer(name="y", flag=True, inner=Inner(channels=4, kinds=["b", "c"]), maybe=3)
    save_yaml(cfg, tmp_path / "c.yaml")
    assert load_yaml(Outer, tmp_path / "c.yaml") == cfg


def test_unknown_key_rejected():
    with pytest.raises(ConfigError, match="unknown config key inner.chanels"):
        from_dict(Outer, {"inner": {"chanels": 3}})


@pytest.mark.parametrize(
    "data, msg",
    [
        ({"inner": {"channels": "8"}}, "inner.channels: expected an integer"),
        ({"inner": {"channels": 8.5}}, "inner.channels: expected an integer"),
        ({"flag": "False"}, "flag: expected true or false"),
        ({"inner": {"kinds": "a"}}, "inner.kinds: expected a list"),
        ({"audio": {"log": "log2"}}, "audio.log"),
    ],
)
def test_wrong_types_rejected(data, msg):
    with pytest.raises(ConfigError, match=msg):
        from_dict(Outer, data)


def test_int_accepted_for_float_and_optional():
    cfg = from_dict(Outer, {"inner": {"dropout": 0}, "maybe": None})
    assert cfg.inner.dropout == 0.0 and isinstance(cfg.inner.dropout, float)


def test_dotted_overrides():
    cfg = apply_overrides(Outer(), ["inner.channels=64", "flag=true", "inner.kinds=[p, q]", "audio.n_mels=100"])
    assert cfg.inner.channels == 64 and cfg.flag is True and cfg.inner.kinds == ["p", "q"]
    assert cfg.audio.n_mels == 100
    with pytest.raises(ConfigError, match="unknown key inner.nope"):
        apply_overrides(Outer(), ["inner.nope=1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides(Outer(), ["inner.channels"])
    with pytest.raises(ConfigError, match="expected an integer"):
        apply_overrides(Outer(), ["inner.channels=abc"])


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("inner: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml(Outer, p)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_yaml(Outer, tmp_path / "missing.yaml")


def test_audio_presets_and_validation():
    st5 = AudioConfig.preset("speecht5")
    assert (st5.sample_rate, st5.n_fft, st5.hop_length, st5.n_mels, st5.fmin, st5.fmax) == (16000, 1024, 256, 80, 80.0, 7600.0)
    assert st5.log == "log10" and st5.log_floor == 1e-10
    hifi = AudioConfig.preset("hifigan")
    assert hifi.log == "ln" and hifi.fmin == 0.0 and hifi.log_floor == 1e-5 and not hifi.center
    assert st5.num_frames(16000) == 63 and hifi.num_frames(16000) == 62
    with pytest.raises(ConfigError):
        from_dict(AudioConfig, {"fmax": 9000.0})  # above Nyquist
    with pytest.raises(ConfigError, match="unknown audio preset"):
        AudioConfig.preset("nope")


def test_audio_mismatch_names_both_sides():
    with pytest.raises(ConfigError, match=r"acoustic model and vocoder.*log log10 vs ln"):
        check_audio_compatible(AudioConfig(), AudioConfig.preset("hifigan"), "acoustic model", "vocoder")
    check_audio_compatible(AudioConfig(), AudioConfig())


def test_to_dict_is_plain():
    d = to_dict(InputConfig())
    assert d["min_seconds"] == 0.3 and isinstance(d, dict)
