"""HiFi-GAN training on CPU: loss goes down, resume continues, export gives a loadable release."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from vocoder_support import synthetic_data_dir

from promptevc.cli import main
from promptevc.errors import ConfigError
from promptevc.models.discriminators import DiscriminatorConfig, MultiPeriodDiscriminator, MultiScaleDiscriminator
from promptevc.train.config import load_train_config, resolve_config_path
from promptevc.train.experiment import read_metrics
from promptevc.train.loop import export_release
from promptevc.train.losses import discriminator_loss, feature_matching_loss, generator_adversarial_loss
from promptevc.train.vocoder import VocoderExperimentConfig


def load_training_config(name, overrides=()):
    return load_train_config(VocoderExperimentConfig, resolve_config_path(name, "vocoder"), overrides)


@pytest.fixture
def data_dir(tmp_path):
    """Three 1.5 s synthetic utterances (one held out for validation)."""
    return synthetic_data_dir(tmp_path, (120.0, 160.0, 200.0))


def _valid(exp) -> dict[int, float]:
    return {int(r["step"]): float(r["value"]) for r in read_metrics(exp) if r["split"] == "valid"}


def train(args: list[str]) -> int:
    return main(["-q", "train-vocoder", "--config", "vocoder_tiny", "--device", "cpu", "--no-progress", *args])


def test_losses_follow_lsgan_definitions():
    real, fake = [torch.ones(2, 3)], [torch.zeros(2, 3)]
    assert float(discriminator_loss(real, fake)) == 0.0  # a perfect discriminator
    assert float(generator_adversarial_loss(fake)) == 1.0
    assert float(feature_matching_loss([[torch.ones(4)]], [[torch.zeros(4)]])) == 1.0


def test_discriminators_score_every_period_and_scale():
    cfg = DiscriminatorConfig(periods=[2, 3], mpd_channels=[4, 8], msd_channels=[4, 8, 8, 8, 8, 8, 8],
                              msd_groups=[1, 2, 2, 2, 2, 2, 1], msd_scales=3)
    wav = torch.randn(2, 1, 1001)  # not a multiple of either period
    scores, feats = MultiPeriodDiscriminator(cfg)(wav)
    assert len(scores) == 2 and all(s.shape[0] == 2 for s in scores) and len(feats[0]) == 3
    scores, feats = MultiScaleDiscriminator(cfg)(wav)
    assert len(scores) == 3 and len(feats[1]) == 8
    with pytest.raises(ValueError, match="group"):
        DiscriminatorConfig(msd_channels=[3, 8, 8, 8, 8, 8, 8], msd_groups=[1, 2, 2, 2, 2, 2, 1])


def test_training_lowers_mel_loss_resumes_and_exports(tmp_path, data_dir):
    from promptevc.models.vocoder import load_vocoder

    exp = tmp_path / "exp"
    assert train(["--data", str(data_dir), "--exp", str(exp), "--set", "train.max_steps=4",
                  "--set", "train.valid_every=4", "--set", "train.save_every=2"]) == 0
    valid = _valid(exp)
    assert set(valid) == {0, 4}
    assert valid[4] < 0.85 * valid[0], valid  # the held-out mel L1 drops clearly in 4 steps
    assert sorted(p.name for p in (exp / "checkpoints").iterdir()) == ["step_00000002.pt", "step_00000004.pt"]

    # Resume: the step continues from 4 (no second step-0 validation), to 5.
    assert train(["--data", str(data_dir), "--exp", str(exp), "--set", "train.max_steps=5",
                  "--set", "train.valid_every=100", "--set", "train.log_every=1"]) == 0
    train_steps = sorted({int(r["step"]) for r in read_metrics(exp) if r["split"] == "train"})
    assert train_steps == [4, 5], train_steps  # step 4 logged by the first run (its last step)
    assert sorted(_valid(exp)) == [0, 4, 5]

    # EXP/release is generator-only, without weight norm, and loads as a vocoder.
    vocoder = load_vocoder(exp / "release")
    assert not any("parametrizations" in k or "weight_g" in k for k in vocoder.state_dict())
    mel = torch.randn(1, 80, 5) - 5
    assert vocoder(mel).shape == (1, 5 * 256)
    # export_release from an earlier checkpoint gives a different generator.
    early = export_release(exp, tmp_path / "early", exp / "checkpoints" / "step_00000004.pt")
    assert (load_vocoder(early)(mel) - vocoder(mel)).abs().max() > 0


def test_fine_tune_from_release_on_model_mels(tmp_path, data_dir):
    from promptevc.config import AudioConfig
    from promptevc.features.mel import extract_mel
    from promptevc.models.vocoder.hifigan import HiFiGANConfig, HiFiGANGenerator
    from promptevc.models.vocoder.registry import write_vocoder_release

    torch.manual_seed(0)
    pretrained = HiFiGANGenerator(HiFiGANConfig(resblock="2", upsample_rates=[8, 8, 4],
                                                upsample_kernel_sizes=[16, 16, 8], upsample_initial_channel=8,
                                                resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]]))
    write_vocoder_release(tmp_path / "pre", pretrained, AudioConfig())
    # "Model" mels: the ground truth, smoothed over time as an acoustic model's would be.
    mels = tmp_path / "mels"
    mels.mkdir()
    for line in (data_dir / "wav.scp").read_text().splitlines():
        utt, path = line.split()
        mel = extract_mel(sf.read(path)[0].astype(np.float32))
        np.save(mels / f"{utt}.npy", (mel + np.roll(mel, 1, axis=1)) / 2)
    exp = tmp_path / "ft"
    assert train(["--data", str(data_dir), "--exp", str(exp), "--init", str(tmp_path / "pre"),
                  "--mels-from", str(mels), "--set", "train.max_steps=2", "--set", "train.valid_every=2"]) == 0
    config = load_training_config(exp / "config.yaml")
    assert config.generator_config.upsample_initial_channel == 8  # shape taken from --init
    assert config.data.mels_from == str(mels)
    assert (exp / "release" / "model.safetensors").exists()
    # Resuming without --init keeps the fine-tuned generator's shape (not vocoder_tiny's).
    assert train(["--data", str(data_dir), "--exp", str(exp), "--set", "train.max_steps=3"]) == 0
    resumed = load_training_config(exp / "config.yaml")
    assert resumed.generator_config.upsample_initial_channel == 8 and resumed.init == str(tmp_path / "pre")
    assert (exp / "checkpoints" / "step_00000003.pt").exists()


def test_bad_data_is_one_line_before_training(tmp_path, data_dir, capsys):
    assert train(["--data", str(tmp_path / "nope"), "--exp", str(tmp_path / "exp")]) == 2
    err = capsys.readouterr().err.strip()
    assert "wav.scp" in err and len(err.splitlines()) == 1
    (tmp_path / "mels").mkdir()
    assert train(["--data", str(data_dir), "--exp", str(tmp_path / "exp"), "--mels-from", str(tmp_path / "mels")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no mel for 3 of 3 utterances" in err and "utt0.npy" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "exp").exists()  # nothing written


def test_packaged_configs_are_strict():
    assert load_training_config("vocoder_v1").generator_config.upsample_initial_channel == 512
    with pytest.raises(ConfigError, match="unknown"):
        load_training_config("vocoder_tiny", ["generator.channels=3"])


def _generator(exp) -> dict[str, torch.Tensor]:
    from promptevc.models.vocoder import load_vocoder

    return load_vocoder(exp / "release").state_dict()


def test_stopped_and_resumed_training_equals_one_run(tmp_path, data_dir):
    """Segments, both optimisers and their schedules continue exactly after a resume."""
    assert train(["--data", str(data_dir), "--exp", str(tmp_path / "a"), "--set", "train.max_steps=4"]) == 0
    assert train(["--data", str(data_dir), "--exp", str(tmp_path / "b"), "--set", "train.max_steps=2"]) == 0
    assert train(["--data", str(data_dir), "--exp", str(tmp_path / "b"), "--set", "train.max_steps=4"]) == 0
    a, b = _generator(tmp_path / "a"), _generator(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_two_process_ddp_matches_one_process(tmp_path, data_dir, torchrun):
    """2 processes (gloo) x 1 segment per step = 1 process x a batch of 2.

    The discriminators match to float precision. The generator matches to a few percent of its
    update only: a freshly initialised generator is nearly silent, its log-mel loss sits at the
    log floor where rounding differences between batch shapes are amplified, and Adam's first
    steps (update ~ lr * sign(gradient)) turn them into +-lr. A run that loses the other
    process's batch is 20-40 % away.
    """
    from promptevc.train.checkpoint import checkpoint_path, read_checkpoint

    torchrun(["train-vocoder", "--config", "vocoder_tiny", "--data", str(data_dir), "--exp", str(tmp_path / "ddp"),
              "--device", "cpu", "--no-progress", "--set", "train.max_steps=3", "--set", "train.batch_size=1"])
    assert train(["--data", str(data_dir), "--exp", str(tmp_path / "one"), "--set", "train.max_steps=3"]) == 0
    assert train(["--data", str(data_dir), "--exp", str(tmp_path / "init"), "--set", "train.max_steps=0"]) == 0
    a, b = (read_checkpoint(checkpoint_path(tmp_path / e, 3))["models"] for e in ("ddp", "one"))
    for name in ("mpd", "msd"):
        for k in a[name]:
            torch.testing.assert_close(a[name][k], b[name][k], atol=1e-5, rtol=1e-4)
    init = read_checkpoint(checkpoint_path(tmp_path / "init", 0))["models"]["generator"]
    flat = {e: torch.cat([v.flatten() for v in m["generator"].values()]) for e, m in (("ddp", a), ("one", b))}
    start = torch.cat([v.flatten() for v in init.values()])
    assert (flat["ddp"] - flat["one"]).norm() < 0.1 * (flat["one"] - start).norm()
    assert [p.name for p in (tmp_path / "ddp" / "checkpoints").iterdir()] == ["step_00000003.pt"]
