"""Batch samplers: frame budget, length bucketing, stratification, sharding over processes, resume."""

from __future__ import annotations

import numpy as np

from promptevc.data.sampler import BucketBatchSampler, ShuffledBatches


def _lengths(n: int = 200, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(50, 400, n)


def _padded(sampler: BucketBatchSampler, lengths: np.ndarray) -> list[int]:
    return [len(b) * int(lengths[[i for i, _ in b]].max()) for b in sampler]


def test_budget_bounds_every_batch_and_each_item_is_used_once():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, max_batch_size=16, max_batch_frames=2000, seed=3)
    batches = list(s)
    assert all(len(b) <= 16 for b in batches)
    assert all(p <= 2000 for p in _padded(s, lengths))
    assert sorted(i for b in batches for i, _ in b) == list(range(len(lengths)))
    # Bucketing wastes far less than random batches of the same sizes would.
    waste = sum(_padded(s, lengths)) / lengths.sum()
    rng = np.random.default_rng(0)
    perm, sizes = rng.permutation(len(lengths)), [len(b) for b in batches]
    cuts = np.split(perm, np.cumsum(sizes)[:-1])
    assert waste < 1.05 < sum(len(c) * lengths[c].max() for c in cuts) / lengths.sum()


def test_epochs_reshuffle_deterministically_and_a_resume_skips_used_batches():
    lengths = _lengths()
    a = BucketBatchSampler(lengths, max_batch_size=8, max_batch_frames=1600, seed=1)
    b = BucketBatchSampler(lengths, max_batch_size=8, max_batch_frames=1600, seed=1)
    first = list(a)
    assert first == list(b)  # (seed, epoch) alone decides; seeds included
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    b.set_start(3)
    assert list(b) == list(a)[3:]


def test_stratified_batches_mix_the_classes_whatever_the_lengths():
    # Class 0 is short, class 1 long: plain length sorting would give single-class batches.
    labels = np.repeat([0, 1], 60)
    lengths = np.where(labels == 0, 100, 300) + np.random.default_rng(0).integers(0, 20, 120)
    plain = BucketBatchSampler(lengths, max_batch_size=4, seed=0)
    assert np.mean([len({labels[i] for i, _ in b}) for b in plain]) < 1.2
    mixed = BucketBatchSampler(lengths, max_batch_size=4, seed=0, labels=labels)
    assert all(sorted(labels[[i for i, _ in b]]) == [0, 0, 1, 1] for b in mixed)


def test_balance_repeats_the_smaller_classes():
    labels = np.array([0] * 30 + [1] * 10 + [2] * 5)
    s = BucketBatchSampler(np.full(45, 100), max_batch_size=6, seed=0, labels=labels, balance=True)
    counts = np.bincount([labels[i] for b in s for i, _ in b])
    assert counts.tolist() == [30, 30, 30]
    seeds = [seed for b in s for _, seed in b]
    assert len(set(seeds)) == len(seeds)  # a repeated item gets other crops / augmentation


def test_processes_share_one_batch_list():
    lengths = _lengths(101)
    one = BucketBatchSampler(lengths, max_batch_size=8, max_batch_frames=1600, seed=2)
    ranks = [BucketBatchSampler(lengths, max_batch_size=8, max_batch_frames=1600, seed=2, rank=r, world_size=2)
             for r in range(2)]
    global_batches = list(one)
    per_rank = [list(r) for r in ranks]
    assert len(per_rank[0]) == len(per_rank[1]) == (len(global_batches) + 1) // 2
    # Process r takes batches r, r + 2, ...: 2 processes x 1 batch = 1 process x 2 accumulated batches.
    assert per_rank[0][: len(global_batches) // 2] == global_batches[0::2][: len(global_batches) // 2]
    assert per_rank[1][: len(global_batches) // 2] == global_batches[1::2][: len(global_batches) // 2]


def test_validation_order_is_by_length():
    lengths = _lengths(30)
    s = BucketBatchSampler(lengths, max_batch_size=4, shuffle=False)
    flat = [lengths[i] for b in s for i, _ in b]
    assert flat == sorted(flat)


def test_shuffled_batches_shard_like_a_doubled_batch():
    one = ShuffledBatches(10, batch_size=4, seed=5)
    two = [ShuffledBatches(10, batch_size=2, seed=5, rank=r, world_size=2) for r in range(2)]
    for s in (one, *two):
        s.set_epoch(3)
    halves = [list(s) for s in two]
    for k, batch in enumerate(one):
        assert sorted(batch) == sorted(halves[0][k] + halves[1][k])  # same items, same per-item seeds
    two[0].set_start(1)
    assert len(list(two[0])) == len(two[0]) - 1
