"""Vocoders: HiFi-GAN (official + release formats), SpeechT5HifiGan, Hub-cache loading, CLI.

Every model here is tiny and saved by the test itself into tmp_path; nothing touches the network.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import soundfile as sf
import torch

from promptevc.cli import main
from promptevc.config import AudioConfig
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.vocoder import check_vocoder_compatible, detect_vocoder_kind, load_vocoder
from promptevc.models.vocoder.hifigan import (
    HiFiGANConfig,
    HiFiGANGenerator,
    fold_weight_norm,
    hifigan_preset,
    official_config_to_configs,
)
from promptevc.models.vocoder.registry import write_vocoder_release
from promptevc.models.vocoder.speecht5 import speecht5_to_hifigan

# hop 8 * 8 * 4 = 256 like AudioConfig(); 8 channels so the whole file runs in seconds.
TINY = {
    "resblock": "1",
    "upsample_rates": [8, 8, 4],
    "upsample_kernel_sizes": [16, 16, 8],
    "upsample_initial_channel": 8,
    "resblock_kernel_sizes": [3, 5],
    "resblock_dilation_sizes": [[1, 3], [1, 2]],
}
OFFICIAL_AUDIO = {
    "num_mels": 80, "num_freq": 513, "n_fft": 1024, "hop_size": 256, "win_size": 1024,
    "sampling_rate": 16000, "fmin": 0, "fmax": 8000, "fmax_for_loss": None,
    "segment_size": 8192, "learning_rate": 0.0002, "adam_b1": 0.8, "adam_b2": 0.99, "lr_decay": 0.999,
}


def tiny_generator(seed: int = 0, weight_norm: bool = True, **changes) -> HiFiGANGenerator:
    torch.manual_seed(seed)
    gen = HiFiGANGenerator(HiFiGANConfig(**(TINY | changes)), n_mels=80)
    if weight_norm:
        gen.apply_weight_norm()
    # Training moves g away from ||v||; do the same so folding g and v is really exercised.
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("original0"):
                p.mul_(torch.empty_like(p).uniform_(0.5, 1.5))
    return gen.eval()


def official_state(gen: HiFiGANGenerator) -> dict[str, torch.Tensor]:
    """State dict with the official (old torch.nn.utils.weight_norm) key names."""
    out = {}
    for k, v in gen.state_dict().items():
        k = k.replace(".parametrizations.weight.original0", ".weight_g")
        k = k.replace(".parametrizations.weight.original1", ".weight_v")
        out[k] = v.clone()
    return out


def save_official(folder, gen: HiFiGANGenerator, state=None, name: str = "g_00000100"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(TINY | OFFICIAL_AUDIO | {"resblock": "1"}))
    torch.save({"generator": state if state is not None else official_state(gen)}, folder / name)
    return folder / name


def tiny_speecht5(seed: int = 0):
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    torch.manual_seed(seed)
    config = SpeechT5HifiGanConfig(
        model_in_dim=80, upsample_initial_channel=16, upsample_rates=[4, 4, 4, 4],
        upsample_kernel_sizes=[8, 8, 8, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
    )
    model = SpeechT5HifiGan(config).eval()
    with torch.no_grad():
        # transformers initialises with std 0.01 (near-silent output); use weights large enough
        # that a wrong layout or a second normalisation changes the audio clearly.
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
                module.reset_parameters()  # PyTorch's default (Kaiming-uniform) init
        # Non-trivial normalisation stats, as the real checkpoint has.
        model.mean.copy_(torch.linspace(-6, -3, 80))
        model.scale.copy_(torch.linspace(1.0, 2.0, 80))
    return model


def random_mel(batch: int = 2, frames: int = 7, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 80, frames, generator=g) - 5.0


# ------------------------------------------------------------------------------------------
# HiFi-GAN generator
# ------------------------------------------------------------------------------------------


def test_paper_presets_have_paper_sizes():
    sizes = {n: sum(p.numel() for p in HiFiGANGenerator(hifigan_preset(n)).parameters()) / 1e6
             for n in ("v1", "v2", "v3")}
    # HiFi-GAN paper, Table 1: 13.92 M, 0.92 M, 1.46 M parameters.
    assert sizes["v1"] == pytest.approx(13.92, abs=0.01)
    assert sizes["v2"] == pytest.approx(0.92, abs=0.01)
    assert sizes["v3"] == pytest.approx(1.46, abs=0.01)
    assert {hifigan_preset(n).hop_length for n in ("v1", "v2", "v3")} == {256}


@pytest.mark.parametrize("resblock", ["1", "2"])
def test_output_length_is_frames_times_hop(resblock):
    gen = tiny_generator(resblock=resblock)
    for frames in (1, 7, 13):
        wav = gen(random_mel(2, frames))
        assert wav.shape == (2, 1, frames * 256)
        assert torch.isfinite(wav).all() and wav.abs().max() <= 1.0


def test_weight_norm_removal_keeps_output():
    gen = tiny_generator()
    mel = random_mel()
    with torch.no_grad():
        before = gen(mel)
        plain = fold_weight_norm(gen.state_dict())
        gen.remove_weight_norm()
        after = gen(mel)
    assert not any("parametrizations" in k for k in gen.state_dict())
    assert set(plain) == set(gen.state_dict())
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-6)
    assert before.abs().max() > 1e-4  # a real signal, not an all-zero output


def test_bad_generator_shape_is_a_config_error():
    with pytest.raises(ValueError, match="kernel"):
        HiFiGANConfig(upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 15, 8])


# ------------------------------------------------------------------------------------------
# Official checkpoint format
# ------------------------------------------------------------------------------------------


def test_official_folder_and_file_load_strictly_with_same_output(tmp_path):
    gen = tiny_generator()
    gen_file = save_official(tmp_path / "hifigan", gen)
    mel = random_mel()
    with torch.no_grad():
        expected = gen(mel).squeeze(1)
    for source in (tmp_path / "hifigan", gen_file):
        vocoder = load_vocoder(source)
        assert detect_vocoder_kind(source) == "hifigan"
        wav = vocoder(mel)
        assert wav.shape == (2, 7 * 256)
        torch.testing.assert_close(wav, expected, rtol=1e-4, atol=1e-6)
        # Official mel convention: natural log, clamp 1e-5, reflect padding, fmin 0.
        assert vocoder.audio_config == AudioConfig.preset("hifigan")
        assert not any("weight_g" in k or "parametrizations" in k for k in vocoder.state_dict())


def test_new_parametrization_keys_also_load(tmp_path):
    gen = tiny_generator()
    save_official(tmp_path / "m", gen, state=gen.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(load_vocoder(tmp_path / "m")(random_mel()), gen(random_mel()).squeeze(1),
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("change", ["extra", "missing", "half_pair", "shape"])
def test_official_loading_is_strict(tmp_path, change):
    gen = tiny_generator()
    state = official_state(gen)
    if change == "extra":
        state["conv_post.extra"] = torch.zeros(1)
    elif change == "missing":
        del state["conv_pre.bias"]
    elif change == "half_pair":
        del state["conv_post.weight_g"]
    else:
        state["conv_pre.bias"] = torch.zeros(3)
    save_official(tmp_path / "m", gen, state=state)
    with pytest.raises(ModelLoadError, match="conv_p"):
        load_vocoder(tmp_path / "m")


class NotATensor:  # a pickled object that weights_only loading must refuse
    pass


def test_official_loading_never_unpickles_objects(tmp_path):
    gen = tiny_generator()
    folder = tmp_path / "m"
    save_official(folder, gen)
    torch.save({"generator": official_state(gen), "payload": NotATensor()}, folder / "g_00000100")
    with pytest.raises(ModelLoadError, match="cannot read generator weights"):
        load_vocoder(folder)


def test_official_config_maps_onto_audio_config():
    gen_cfg, audio = official_config_to_configs(
        hifigan_preset("v1").__dict__ | OFFICIAL_AUDIO | {"sampling_rate": 22050, "fmax": None}
    )
    assert gen_cfg == hifigan_preset("v1")
    assert (audio.sample_rate, audio.fmin, audio.fmax, audio.log, audio.log_floor, audio.center) == (
        22050, 0.0, 11025.0, "ln", 1e-5, False)
    with pytest.raises(ModelLoadError, match="hop"):
        official_config_to_configs(hifigan_preset("v1").__dict__ | OFFICIAL_AUDIO | {"hop_size": 200})


# ------------------------------------------------------------------------------------------
# Our release format
# ------------------------------------------------------------------------------------------


def test_release_round_trip(tmp_path):
    gen = tiny_generator(resblock="2")
    write_vocoder_release(tmp_path / "rel", gen, AudioConfig())
    assert detect_vocoder_kind(tmp_path / "rel") == "release"
    meta = json.loads((tmp_path / "rel" / "meta.json").read_text())
    assert meta["kind"] == "vocoder" and meta["audio"]["sample_rate"] == 16000
    vocoder = load_vocoder(tmp_path / "rel")
    assert vocoder.audio_config == AudioConfig()
    mel = random_mel()
    with torch.no_grad():
        torch.testing.assert_close(vocoder(mel), gen(mel).squeeze(1), rtol=1e-4, atol=1e-6)


def test_release_with_extra_weight_is_rejected(tmp_path):
    from safetensors.torch import load_file, save_file

    write_vocoder_release(tmp_path / "rel", tiny_generator(), AudioConfig())
    weights = tmp_path / "rel" / "model.safetensors"
    state = load_file(str(weights))
    state["ups.9.weight"] = torch.zeros(2)
    save_file(state, str(weights))
    with pytest.raises(ModelLoadError, match="unexpected 1 key"):
        load_vocoder(tmp_path / "rel")


# ------------------------------------------------------------------------------------------
# transformers SpeechT5HifiGan
# ------------------------------------------------------------------------------------------


def test_speecht5_save_pretrained_loads_and_normalises_once(tmp_path):
    model = tiny_speecht5()
    model.save_pretrained(tmp_path / "st5")
    vocoder = load_vocoder(tmp_path / "st5")
    assert detect_vocoder_kind(tmp_path / "st5") == "speecht5"
    assert vocoder.audio_config == AudioConfig()  # the speecht5 preset = our default
    mel = random_mel(2, 9)
    wav = vocoder(mel)
    assert wav.shape == (2, 9 * 256)
    with torch.no_grad():
        expected = model(mel.transpose(1, 2))  # transformers layout (B, F, n_mels)
        twice = model((mel.transpose(1, 2) - model.mean) / model.scale)
    torch.testing.assert_close(wav, expected)
    # Normalising again would change the audio by a lot compared with its level.
    assert (wav - twice).abs().max() > 0.3 * wav.std() > 0


def test_speecht5_converts_to_our_generator_for_fine_tuning(tmp_path):
    from promptevc.train.vocoder import load_init_generator

    model = tiny_speecht5()
    gen_cfg, state = speecht5_to_hifigan(model)
    assert gen_cfg.normalize_input and gen_cfg.upsample_rates == [4, 4, 4, 4]
    gen = HiFiGANGenerator(gen_cfg, 80)
    gen.load_state_dict(state, strict=True)
    mel = random_mel()
    with torch.no_grad():
        torch.testing.assert_close(gen(mel).squeeze(1), model(mel.transpose(1, 2)), rtol=1e-4, atol=1e-6)
    # train-vocoder --init on a SpeechT5HifiGan folder takes this path.
    model.save_pretrained(tmp_path / "st5")
    init_arch, init_cfg, init_audio, init_state = load_init_generator(str(tmp_path / "st5"))
    assert init_arch == "hifigan" and init_cfg == gen_cfg and init_audio == AudioConfig()
    assert set(init_state) == set(state)


# ------------------------------------------------------------------------------------------
# Loading by repo id (Hugging Face cache layout), offline behaviour
# ------------------------------------------------------------------------------------------


def _fake_hub_cache(tmp_path, monkeypatch, repo: str, fill) -> str:
    import huggingface_hub.constants as hf_constants

    cache = tmp_path / "hf_cache"
    revision = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / revision
    fill(snapshot)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return revision


def test_repo_id_loads_from_the_hub_cache_offline(tmp_path, monkeypatch):
    model = tiny_speecht5()
    revision = _fake_hub_cache(tmp_path, monkeypatch, "tiny-org/tiny-speecht5-hifigan",
                               lambda snap: model.save_pretrained(snap))
    gen = tiny_generator()
    _fake_hub_cache(tmp_path, monkeypatch, "tiny-org/tiny-hifigan", lambda snap: save_official(snap, gen))
    mel = random_mel()
    for rev in (None, revision):
        vocoder = load_vocoder("tiny-org/tiny-speecht5-hifigan", revision=rev)
        with torch.no_grad():
            torch.testing.assert_close(vocoder(mel), model(mel.transpose(1, 2)))
    with torch.no_grad():
        torch.testing.assert_close(load_vocoder("tiny-org/tiny-hifigan")(mel), gen(mel).squeeze(1),
                                   rtol=1e-4, atol=1e-6)


def test_offline_and_not_cached_is_one_line(tmp_path, monkeypatch):
    _fake_hub_cache(tmp_path, monkeypatch, "tiny-org/other", lambda snap: snap.mkdir(parents=True))
    with pytest.raises(ModelLoadError) as err:
        load_vocoder("nobody/no-such-vocoder")
    message = str(err.value)
    assert "\n" not in message and "nobody/no-such-vocoder" in message and "HF_HUB_OFFLINE" in message


def test_unknown_local_folder_is_explained(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="not a vocoder folder"):
        load_vocoder(tmp_path / "empty")


# ------------------------------------------------------------------------------------------
# Interface, compatibility, Griffin-Lim
# ------------------------------------------------------------------------------------------


def test_vocoder_interface_batches_and_checks_shape(tmp_path):
    write_vocoder_release(tmp_path / "rel", tiny_generator(), AudioConfig())
    vocoder = load_vocoder(tmp_path / "rel")
    mel = random_mel(3, 5)
    batch = vocoder(mel)
    assert batch.shape == (3, 5 * 256) and not batch.requires_grad
    torch.testing.assert_close(vocoder(mel[1]), batch[1], rtol=1e-4, atol=1e-6)  # unbatched (n_mels, F)
    with pytest.raises(ConfigError, match="expected mel of shape"):
        vocoder(torch.zeros(1, 64, 5))


def test_mismatched_audio_config_is_rejected_naming_both(tmp_path):
    save_official(tmp_path / "hifigan", tiny_generator())
    vocoder = load_vocoder(tmp_path / "hifigan")  # official mel: ln, fmin 0
    check_vocoder_compatible(AudioConfig.preset("hifigan"), vocoder)  # matching: fine
    with pytest.raises(ConfigError) as err:
        check_vocoder_compatible(AudioConfig(), vocoder, model_name="acoustic model")
    message = str(err.value)
    assert "acoustic model" in message and "vocoder" in message and "fmin 80.0 vs 0.0" in message
    assert str(tmp_path / "hifigan") in message


def test_griffin_lim_is_explicit_and_labelled(speech_wav, caplog):
    from promptevc.features.mel import extract_mel

    with caplog.at_level(logging.WARNING, logger="promptevc"):
        vocoder = load_vocoder("griffin-lim")
    assert "debugging" in caplog.text
    mel = extract_mel(speech_wav[0])
    wav = vocoder(torch.from_numpy(mel))
    assert wav.shape == (mel.shape[1] * 256,)
    # Phase is estimated, the magnitude is kept: the resynthesis has nearly the same mel.
    remel = extract_mel(wav.numpy())[:, : mel.shape[1]]
    loud = mel > mel.max() - 4  # bins within 40 dB of the peak
    assert np.abs(remel - mel)[loud].mean() < 0.3
    assert np.abs(extract_mel(np.roll(wav.numpy(), 4000))[:, : mel.shape[1]] - mel)[loud].mean() > 0.3
    # No weights: it follows whatever AudioConfig the acoustic model uses.
    hifigan_audio = AudioConfig.preset("hifigan")
    check_vocoder_compatible(hifigan_audio, load_vocoder("griffin-lim", audio_config=hifigan_audio))


# ------------------------------------------------------------------------------------------
# promptevc vocode
# ------------------------------------------------------------------------------------------


def test_vocode_cli_writes_same_length_audio(tmp_path, speech_file, capsys):
    write_vocoder_release(tmp_path / "rel", tiny_generator(), AudioConfig())
    out = tmp_path / "out.wav"
    assert main(["vocode", str(speech_file), "-o", str(out), "--vocoder", str(tmp_path / "rel"),
                 "--device", "cpu"]) == 0
    wav, sr = sf.read(out)
    src, src_sr = sf.read(speech_file)
    assert sr == src_sr == 16000 and len(wav) == len(src) and np.abs(wav).max() > 0
    # No clobbering without --overwrite; one readable line, exit code 2.
    capsys.readouterr()
    assert main(["vocode", str(speech_file), "-o", str(out), "--vocoder", str(tmp_path / "rel")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--overwrite" in err and len(err.splitlines()) == 1
    assert main(["vocode", str(speech_file), "-o", str(out), "--vocoder", str(tmp_path / "rel"),
                 "--overwrite"]) == 0


def test_vocode_cli_with_official_hifigan_keeps_length(tmp_path, speech_file):
    save_official(tmp_path / "hifigan", tiny_generator())  # uncentred mel: T // hop frames
    out = tmp_path / "out.wav"
    assert main(["vocode", str(speech_file), "-o", str(out), "--vocoder", str(tmp_path / "hifigan")]) == 0
    assert sf.info(out).frames == sf.info(speech_file).frames


def test_vocode_cli_offline_missing_vocoder_is_one_line(tmp_path, speech_file, capsys):
    out = tmp_path / "out.wav"
    assert main(["vocode", str(speech_file), "-o", str(out), "--vocoder", "nobody/no-such-vocoder"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nobody/no-such-vocoder" in err and "Traceback" not in err
    assert not out.exists()



def test_griffin_lim_mel_inversion_is_nonnegative_and_fits_better_than_pinv():
    from promptevc.features.mel import MelSpectrogram
    from promptevc.models.vocoder.griffinlim import GriffinLimVocoder
    from promptevc.utils.synth import synth_speech

    wav = torch.from_numpy(synth_speech(f0_hz=94.0, seconds=1.0))[None]
    linear = torch.pow(10.0, MelSpectrogram(AudioConfig())(wav))
    nnls = GriffinLimVocoder(nnls_iter=100)
    clamped = GriffinLimVocoder(nnls_iter=0)
    s_nnls, s_clamped = nnls._mel_to_magnitude(linear), clamped._mel_to_magnitude(linear)
    assert (s_nnls >= 0).all()
    err_nnls = (nnls.basis @ s_nnls - linear).abs().mean()
    err_clamped = (clamped.basis @ s_clamped - linear).abs().mean()
    assert err_nnls < 0.2 * err_clamped
