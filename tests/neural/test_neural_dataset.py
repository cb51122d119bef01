"""The acoustic dataset over a dumped data dir: targets, speaker normalisation, cropping, collate."""

from __future__ import annotations

import numpy as np
import pytest

from promptevc.errors import ConfigError


def test_dataset_items_and_collate(corpus):
    from promptevc.data.dataset import AcousticDataset, collate
    from promptevc.features.content import collapse_runs

    data, _ = corpus
    ds = AcousticDataset(data)
    assert len(ds) == 4
    item = ds[ds.utts.index("spk1_happy_00")]
    units = np.load(ds.units["spk1_happy_00"])
    ids, runs = collapse_runs(units)
    np.testing.assert_array_equal(item["units"], ids)
    np.testing.assert_array_equal(item["durations"], runs)
    assert item["durations"].sum() == item["mel"].shape[1] == len(item["lf0"])
    assert item["emotion"] == 2 and item["intensity"] == pytest.approx(0.8) and item["prompt"].strip()
    # happy speech is ~1.35x the speaker's neutral F0: positive normalised log-F0 on voiced frames
    voiced = item["voiced"] > 0
    assert item["lf0"][voiced].mean() > 0.5
    neutral = ds[ds.utts.index("spk1_neutral_00")]
    assert abs(neutral["lf0"][neutral["voiced"] > 0].mean()) < 0.05
    batch = collate([item, neutral])
    assert batch["mel"].shape[0] == 2 and batch["units"].shape == (2, int(batch["unit_lens"].max()))
    assert (batch["durations"].sum(1) == batch["mel_lens"]).all()


def test_dataset_crops_whole_runs(corpus):
    from promptevc.data.dataset import AcousticDataset

    data, _ = corpus
    ds = AcousticDataset(data, max_frames=20)
    for i in range(len(ds)):
        item = ds[i]
        f = item["mel"].shape[1]
        assert item["durations"].sum() == f == len(item["energy"])
        assert f <= 20 or len(item["durations"]) == 1


def test_dataset_errors_name_the_fix(corpus, tmp_path):
    from promptevc.data.dataset import AcousticDataset
    from promptevc.data.kaldi import read_scp, write_scp

    data, _ = corpus
    with pytest.raises(ConfigError, match="no feats.scp; run promptevc dump-features"):
        AcousticDataset(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("feats.scp", "units.scp", "utt2spk"):
        write_scp(bad / name, read_scp(data / name))
    write_scp(bad / "utt2emo", {u: "furious" for u in read_scp(data / "utt2emo")})
    with pytest.raises(ConfigError, match="utt2emo.*furious"):
        AcousticDataset(bad)
