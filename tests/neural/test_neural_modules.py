"""Every part of the acoustic model: shapes, finiteness, padding invariance, documented properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from promptevc.models.config import (
    ContentEncoderConfig,
    DecoderConfig,
    DurationConfig,
    PromptMapperConfig,
    ProsodyConfig,
    RendererConfig,
)
from promptevc.models.layers import sequence_mask

G = 6  # global condition size used below


def _padded(x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    """Zero everything past each length (B, L, ...)."""
    mask = sequence_mask(lens, x.shape[1])
    while mask.dim() < x.dim():
        mask = mask.unsqueeze(-1)
    return x * mask


def _check_padding_invariance(fn, x_full: torch.Tensor, lens: torch.Tensor, cond: torch.Tensor) -> None:
    """Item 1 (shorter) computed inside a padded batch equals it computed alone."""
    torch.manual_seed(0)
    out_batch = fn(x_full, sequence_mask(lens, x_full.shape[1]), cond)
    n = int(lens[1])
    out_alone = fn(x_full[1:2, :n], sequence_mask(lens[1:2], n), cond[1:2])
    assert torch.isfinite(out_batch).all()
    torch.testing.assert_close(out_batch[1:2, :n], out_alone, atol=1e-5, rtol=1e-4)
    # padded positions are exactly zero
    assert out_batch[1, n:].abs().max().item() == 0.0


def test_unit_encoder_and_duration_predictor_padding():
    from promptevc.models.duration import DurationPredictor, UnitEncoder

    enc = UnitEncoder(ContentEncoderConfig(num_units=10, dim=8, layers=2, dropout=0.0), G).eval()
    dur = DurationPredictor(DurationConfig(layers=6, channels=8, dropout=0.0), 8, G).eval()
    assert sum(isinstance(m, torch.nn.Conv1d) for m in dur.modules()) == 6  # six conv layers (paper)
    units = torch.randint(0, 10, (2, 9))
    lens = torch.tensor([9, 5])
    cond = torch.randn(2, G)
    _check_padding_invariance(lambda u, m, c: enc(u, m, c), units, lens, cond)
    h = _padded(torch.randn(2, 9, 8), lens)
    _check_padding_invariance(lambda x, m, c: dur(x, m, c), h, lens, cond)
    assert dur(h, sequence_mask(lens), cond).shape == (2, 9)


def test_length_regulator_expands_runs():
    from promptevc.models.duration import durations_from_log, length_regulate

    h = torch.arange(6, dtype=torch.float32).reshape(2, 3, 1)
    durations = torch.tensor([[2, 1, 3], [1, 2, 0]])
    frames, lens = length_regulate(h, durations)
    assert lens.tolist() == [6, 3]
    assert frames[0, :, 0].tolist() == [0, 0, 1, 2, 2, 2]
    assert frames[1, :, 0].tolist() == [3, 4, 4, 0, 0, 0]  # padding is zero
    mask = torch.tensor([[True, True, True], [True, True, False]])
    d = durations_from_log(torch.log1p(torch.tensor([[3.0, 0.2, 1.0], [2.0, 4.0, 9.0]])), mask, 2.0)
    assert d.tolist() == [[6, 1, 2], [4, 8, 0]]  # x2 slower, at least 1 frame, padding 0
    # Cumulative rounding: a 12 % slower tempo on 1.4-frame units lengthens the utterance by 12 %
    # (rounding each unit alone would keep every unit at 1 frame: no change at all).
    runs = torch.log1p(torch.full((1, 50), 1.4))
    plain, slower = (durations_from_log(runs, torch.ones(1, 50, dtype=torch.bool), s) for s in (1.0, 1.12))
    assert int(plain.sum()) == 70 and int(slower.sum()) == round(70 * 1.12) and int(slower.min()) >= 1


def test_prosody_renderer_decoder_shapes_and_padding():
    from promptevc.models.decoder import MelDecoder
    from promptevc.models.prosody import ProsodyPredictor
    from promptevc.models.renderer import EmotionRenderer

    lens = torch.tensor([20, 13])
    frames = _padded(torch.randn(2, 20, 8), lens)
    cond = torch.randn(2, G)
    pros = ProsodyPredictor(ProsodyConfig(layers=2, channels=8, dropout=0.0), 8, G).eval()
    out = pros(frames, sequence_mask(lens), cond)
    assert set(out) == {"lf0", "voicing_logit", "energy"}
    assert all(v.shape == (2, 20) and torch.isfinite(v).all() for v in out.values())
    _check_padding_invariance(lambda x, m, c: torch.stack(list(pros(x, m, c).values()), -1), frames, lens, cond)

    ren = EmotionRenderer(RendererConfig(layers=2, channels=12, dropout=0.0), 8, G).eval()
    prosody = _padded(torch.randn(2, 20, 3), lens)
    _check_padding_invariance(lambda x, m, c: ren(x, prosody[: x.shape[0], : x.shape[1]] if x.shape[0] == 2
                                                  else prosody[1:2, : x.shape[1]], m, c), frames, lens, cond)
    dec = MelDecoder(DecoderConfig(layers=2, channels=8, dropout=0.0, postnet_layers=3, postnet_channels=8),
                     12, G, n_mels=10).eval()
    h = _padded(torch.randn(2, 20, 12), lens)
    mel, post = dec(h, sequence_mask(lens), cond)
    assert mel.shape == post.shape == (2, 20, 10)
    _check_padding_invariance(lambda x, m, c: dec(x, m, c)[1], h, lens, cond)
    source = _padded(torch.randn(2, 20, 20), lens)
    _check_padding_invariance(lambda x, m, c: dec(x, m, c, source[: x.shape[0], : x.shape[1]] if x.shape[0] == 2
                                                  else source[1:2, : x.shape[1]])[1], h, lens, cond)


def _mel_centres(audio) -> np.ndarray:
    from promptevc.features.mel import mel_filterbank

    fb = mel_filterbank(audio)
    freqs = np.arange(fb.shape[1]) * audio.sample_rate / audio.n_fft
    return (fb * freqs).sum(1) / fb.sum(1)


@pytest.mark.parametrize("f0", [95.0, 140.0, 210.0])
def test_harmonic_excitation_peaks_on_the_harmonics(f0):
    from promptevc.config import AudioConfig
    from promptevc.models.decoder import HarmonicExcitation

    audio = AudioConfig()
    exc = HarmonicExcitation(audio)(torch.tensor([[f0, 0.0]]))
    assert exc.shape == (1, 2, audio.n_mels) and torch.isfinite(exc).all()
    assert exc[0, 1].abs().max().item() == 0.0  # unvoiced frame: no excitation
    centres = _mel_centres(audio)
    low = centres < 700.0  # narrow bins: harmonics resolved
    e = exc[0, 0].numpy()[low]
    # distance of each bin centre to the nearest harmonic, in units of F0 (0 = on a harmonic, 0.5 = between)
    h = centres[low] / f0
    dist = np.abs(h - np.maximum(np.round(h), 1.0))
    on, off = e[dist < 0.15].mean(), e[dist > 0.35].mean()
    assert on > off + 0.3, (on, off)
    # wide high bins average many harmonics: close to a flat spectrum
    assert abs(float(exc[0, 0, centres > 4000].mean())) < 0.3


def test_decoder_source_path_is_the_log_domain_sum():
    """With the conv path silenced, the decoder's mel is exactly excitation + energy (gains start at 1)."""
    from promptevc.models.decoder import MelDecoder

    dec = MelDecoder(DecoderConfig(layers=1, channels=8, dropout=0.0, postnet_layers=2, postnet_channels=8),
                     6, G, n_mels=10).eval()
    torch.nn.init.zeros_(dec.out.weight)
    torch.nn.init.zeros_(dec.out.bias)
    lens = torch.tensor([12, 12])
    exc, energy = torch.randn(2, 12, 10), torch.randn(2, 12, 1).expand(2, 12, 10)
    mel, _ = dec(torch.randn(2, 12, 6), sequence_mask(lens), torch.randn(2, G), torch.cat([exc, energy], -1))
    torch.testing.assert_close(mel, exc + energy)


def test_intensity_mapper_zero_is_neutral_and_change_is_monotone():
    from promptevc.models.intensity import IntensityMapper

    torch.manual_seed(0)
    im = IntensityMapper(n_emotions=5, emb_dim=4, dim=6)
    probs = torch.softmax(torch.randn(7, 5), -1)
    emb = torch.randn(7, 4)
    neutral = im(probs, torch.zeros(7), emb)
    torch.testing.assert_close(neutral, im.neutral.expand(7, -1))  # whatever the emotion / embedding
    dists = [float((im(probs, torch.full((7,), s), emb) - neutral).detach().norm(dim=-1).min()) for s in
             (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(b > a for a, b in zip(dists, dists[1:], strict=False)), dists
    # linear: half intensity is exactly half the change
    full = im(probs, torch.ones(7), emb) - neutral
    half = im(probs, torch.full((7,), 0.5), emb) - neutral
    torch.testing.assert_close(half * 2, full)


def test_intensity_mapper_neutral_category_is_the_origin():
    """A neutral prompt renders the neutral point at any intensity; a neutral mix scales the emotion down."""
    from promptevc.models.intensity import IntensityMapper

    torch.manual_seed(0)
    im = IntensityMapper(n_emotions=5, emb_dim=4, dim=6, neutral_index=0)
    emb = torch.randn(3, 4)
    neutral_probs = torch.nn.functional.one_hot(torch.zeros(3, dtype=torch.long), 5).float()
    for s in (0.3, 0.6, 1.0):
        torch.testing.assert_close(im(neutral_probs, torch.full((3,), s), emb), im.neutral.expand(3, -1))
    happy = torch.nn.functional.one_hot(torch.full((3,), 2), 5).float()
    mix = 0.5 * happy + 0.5 * neutral_probs
    with torch.no_grad():
        full = im(happy, torch.ones(3), emb) - im.neutral
        half = im(mix, torch.ones(3), emb) - im.neutral
    # the mix keeps half of the emotion's strength (its direction is the mix's, so compare norms)
    assert float((half.norm(dim=-1) / full.norm(dim=-1)).max()) < 0.8
    assert float(half.norm(dim=-1).min()) > 0.0


def test_prompt_mapper_loss_and_seeded_sampler():
    from promptevc.models.prompt_mapper import PromptMapper, make_alpha_bars

    cfg = PromptMapperConfig(dim=8, layers=1, heads=2, dropout=0.0, sample_steps=4, diffusion_steps=50)
    ab = make_alpha_bars(cfg)
    assert ab.shape == (50,) and bool((ab[1:] < ab[:-1]).all()) and 0 < float(ab[-1]) < float(ab[0]) < 1
    pm = PromptMapper(cfg, emb_dim=5, txt_dim=3)
    loss = pm.loss(torch.randn(4, 5), torch.randn(4, 3))
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert pm.in_txt.weight.grad is not None and pm.in_txt.weight.grad.abs().sum() > 0
    pm.eval()
    e_txt = torch.randn(3, 3)
    a = pm.sample(e_txt, generator=torch.Generator().manual_seed(1))
    b = pm.sample(e_txt, generator=torch.Generator().manual_seed(1))
    c = pm.sample(e_txt, generator=torch.Generator().manual_seed(2))
    assert a.shape == (3, 5) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_prompt_mapper_learns_a_text_to_embedding_map():
    """A few hundred steps on 3 (text, target) pairs: samples land nearest their own target."""
    from promptevc.models.prompt_mapper import PromptMapper

    torch.manual_seed(0)
    cfg = PromptMapperConfig(dim=32, layers=2, heads=2, dropout=0.0, sample_steps=8, cond_dropout=0.0)
    pm = PromptMapper(cfg, emb_dim=4, txt_dim=4)
    targets = torch.tensor([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, -2.0, 1.0]])
    texts = torch.eye(3, 4)
    opt = torch.optim.AdamW(pm.parameters(), lr=1e-2)
    for _ in range(300):
        idx = torch.randint(0, 3, (12,))
        loss = pm.loss(targets[idx], texts[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    pm.eval()
    samples = pm.sample(texts.repeat(3, 1), generator=torch.Generator().manual_seed(0))
    nearest = torch.cdist(samples, targets).argmin(-1)
    assert (nearest == torch.arange(3).repeat(3)).float().mean() >= 0.8


def test_descriptor_pools_projects_and_caches(tiny_text_encoder):
    from promptevc.models.config import DescriptorConfig
    from promptevc.models.descriptor import EmotionDescriptor

    tok, enc = tiny_text_encoder
    desc = EmotionDescriptor(DescriptorConfig(dim=6, hidden=4), tok, enc)
    assert not any(k.startswith("encoder") for k in desc.state_dict())  # frozen encoder not in weights
    out = desc(["very happy", "a little sad, please", "very happy"])
    assert out["e_txt"].shape == (3, 6) and out["logits"].shape == (3, 5)
    assert bool(((out["intensity"] > 0) & (out["intensity"] < 1)).all())
    torch.testing.assert_close(out["e_txt"][0], out["e_txt"][2])
    assert not torch.allclose(out["e_txt"][0], out["e_txt"][1])
    assert len(desc._cache) == 2
    out["e_txt"].sum().backward()  # the projection trains, the frozen encoder does not
    assert desc.proj.weight.grad is not None
    assert all(p.grad is None for p in desc.text_encoder.parameters())
    tuned = EmotionDescriptor(DescriptorConfig(dim=6, hidden=4, freeze_encoder=False), tok, enc)
    assert any(k.startswith("encoder.") for k in tuned.state_dict())


def test_prosody_normalisation_roundtrip():
    from promptevc.models.prosody import ProsodyStats, denormalise_f0, normalise_prosody, prosody_stats

    rng = np.random.default_rng(0)
    f0 = np.exp(rng.normal(np.log(140.0), 0.12, 4000)).astype(np.float32)
    f0[rng.random(4000) < 0.3] = 0.0
    f0[:40] = 2 * 140.0  # octave errors: a robust centre and spread ignore them
    energy = np.where(f0 > 0, rng.normal(-20, 3, 4000), -60).astype(np.float32)
    stats = prosody_stats(f0, energy)
    lf0_true = np.log(f0[40:][f0[40:] > 0])
    assert stats[0] == pytest.approx(np.median(lf0_true), abs=0.006)
    assert stats[1] == pytest.approx(0.12, abs=0.01)
    assert stats[2] == pytest.approx(np.median(energy[f0 > 0]), abs=0.15)
    # accumulating blocks (the engine's pass 1) gives exactly the pooled result (the dataset's)
    acc = ProsodyStats()
    for lo in range(0, 4000, 700):
        acc.add(f0[lo:lo + 700], energy[lo:lo + 700])
    np.testing.assert_array_equal(acc.result(), stats)
    assert ProsodyStats().add(np.zeros(10), np.full(10, -30.0)).result()[:2] == pytest.approx([np.log(150), 0.15])
    lf0, voiced, en = normalise_prosody(f0, energy, stats, 10.0)
    assert (voiced == (f0 > 0)).all() and (lf0[f0 == 0] == 0).all()
    back = denormalise_f0(torch.from_numpy(lf0)[None], torch.from_numpy(voiced)[None], torch.from_numpy(stats)[None])
    np.testing.assert_allclose(back[0].numpy(), f0, rtol=1e-4)


def _batch(cfg, b_lens=((7, 30), (4, 17))):
    """A padded training batch for the tiny model."""
    from promptevc.data.dataset import collate

    rng = np.random.default_rng(0)
    items = []
    for i, (n, f) in enumerate(b_lens):
        runs = np.full(n, f // n)
        runs[-1] += f - runs.sum()
        items.append({
            "utt": f"u{i}", "units": rng.integers(0, 12, n), "durations": runs,
            "mel": rng.normal(-4, 1, (cfg.audio.n_mels, f)).astype(np.float32),
            "lf0": rng.normal(0, 1, f).astype(np.float32), "voiced": (rng.random(f) > 0.3).astype(np.float32),
            "energy": rng.normal(0, 1, f).astype(np.float32), "spk_emb": rng.normal(0, 1, 12).astype(np.float32),
            "spk_f0_stats": np.array([5.0, 0.2], np.float32), "emotion": [0, 2][i % 2],
            "intensity": [0.0, 0.7][i % 2], "prompt": ["neutral", "very happy"][i % 2],
        })
    return collate(items)


def test_full_model_forward_losses_and_infer(tiny_cfg, tiny_text_encoder):
    from promptevc.models.config import LossWeights
    from promptevc.models.evc import build_model, count_parameters
    from promptevc.train.losses import acoustic_losses

    cfg = tiny_cfg()
    model = build_model(cfg, text_encoder=tiny_text_encoder)
    batch = _batch(cfg)
    out = model(batch)
    assert out["mel_post"].shape == (2, 30, cfg.audio.n_mels)
    total, terms = acoustic_losses(out, batch, LossWeights())
    assert set(terms) >= {"mel", "postnet", "duration", "f0", "voicing", "energy", "diffusion", "speaker_f0",
                          "descriptor_intensity", "descriptor_emotion"}
    assert torch.isfinite(total) and all(np.isfinite(v) for v in terms.values())
    total.backward()
    # Conditional layer norms start as the identity (zero-initialised), so the condition gets its
    # first gradient after one update: take a step, then every trainable parameter must get one.
    torch.optim.SGD(model.parameters(), lr=0.01).step()
    model.zero_grad()
    acoustic_losses(model(batch), batch, LossWeights())[0].backward()
    dead = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert not dead, dead
    counts = count_parameters(model)
    assert counts["total"] > counts["decoder"] > 0

    model.eval()
    e = model.embed_prompts(["very happy", "sad"], generator=torch.Generator().manual_seed(0))
    res = model.infer(batch["units"], batch["unit_lens"], batch["spk_emb"], torch.tensor([[5.0, 0.2, -20.0]] * 2),
                      torch.eye(5)[[2, 3]], torch.tensor([0.8, 0.4]), e["e_pm"], tempo=torch.tensor([1.0, 0.5]))
    assert res["mel"].shape[:2] == (2, cfg.audio.n_mels) and torch.isfinite(res["mel"]).all()
    assert (res["durations"][1, 4:] == 0).all() and (res["durations"][0] >= 1).all()
    assert res["mel_lens"].tolist() == res["durations"].sum(1).tolist()
    # tempo 0.5 (twice as slow) doubles the predicted durations before rounding
    res2 = model.infer(batch["units"], batch["unit_lens"], batch["spk_emb"], torch.tensor([[5.0, 0.2, -20.0]] * 2),
                       torch.eye(5)[[2, 3]], torch.tensor([0.8, 0.4]), e["e_pm"], tempo=1.0)
    assert int(res["mel_lens"][1]) >= 2 * int(res2["mel_lens"][1]) - 4
    # a pitch hint of +12 semitones doubles every voiced F0
    res3 = model.infer(batch["units"], batch["unit_lens"], batch["spk_emb"], torch.tensor([[5.0, 0.2, -20.0]] * 2),
                       torch.eye(5)[[2, 3]], torch.tensor([0.8, 0.4]), e["e_pm"], pitch_semitones=12.0)
    v = res2["f0_hz"] > 0
    torch.testing.assert_close(res3["f0_hz"][v], 2 * res2["f0_hz"][v], rtol=1e-4, atol=1e-3)
