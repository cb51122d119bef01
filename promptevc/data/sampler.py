"""Batch samplers for training: deterministic, resumable, and sharded over DDP processes.

Every sampler here yields batches of ``(index, seed)`` pairs. The dataset takes each random
choice of an item (crop position, prompt phrasing, augmentation) from that ``seed`` alone, so
what a batch holds depends only on ``(train.seed, epoch, position)``: not on DataLoader workers,
not on the process count, and not on whether the run was interrupted. ``set_epoch(e)``
reshuffles (as torch's DistributedSampler does) and ``set_start(k)`` skips the first ``k``
batches of this process in the current epoch, which is how a resumed run continues at the next
unseen batch.

- :class:`BucketBatchSampler` — length-bucketed batches under a padded-frames budget (acoustic
  model, evaluator), stratified by label (and optionally class-balanced). The batch list of an epoch is the same on every
  process; process ``r`` of ``W`` takes batches ``r, r + W, ...``. Hence ``W`` processes with
  ``grad_accum_steps = 1`` consume exactly the batches one process consumes with
  ``grad_accum_steps = W``.
- :class:`ShuffledBatches` — fixed-size batches of equal-length examples (vocoder segments)
  over torch's :class:`~torch.utils.data.DistributedSampler`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

log = logging.getLogger(__name__)

Batch = list[tuple[int, int]]


def _epoch_seeds(seed: int, epoch: int, n: int) -> np.ndarray:
    """One item seed per epoch position, the same on every process."""
    return np.random.default_rng([seed, epoch, 1]).integers(0, 2**31 - 1, max(n, 1))


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of similar length whose padded size stays within ``max_batch_frames``.

    ``lengths[i]``: frames item ``i`` has *in a batch* (after any crop). Each epoch the items
    are shuffled, cut into pools of about ``pool_batches * max_batch_size`` items, each pool
    sorted by length and cut greedily into batches of at most ``max_batch_size`` items and at
    most ``max_batch_frames`` padded frames (longest x count; 0 = no frame budget); then the
    batches are shuffled. An item longer than the budget gets a batch of its own.

    ``labels`` (optional, e.g. emotions): stratified batches. Lengths often follow the label
    (sad speech is slower), and plain length sorting would then fill whole batches with one
    class. Instead each class's share of a pool is sorted by length on its own and the classes
    are interleaved by length rank, so every batch mixes the classes in proportion and its
    items are of similar length *within their class*. ``balance=True`` also repeats the smaller
    classes (in shuffled rounds) up to the size of the largest: every class equally likely.

    ``shuffle=False`` (validation): items sorted by length, no balancing, no shuffling.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        *,
        max_batch_size: int,
        max_batch_frames: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        labels: Sequence[int] | None = None,
        balance: bool = False,
        rank: int = 0,
        world_size: int = 1,
        pool_batches: int = 64,
    ) -> None:
        if not len(lengths):
            raise ValueError("no items to batch")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.max_batch_size = max_batch_size
        self.max_batch_frames = max_batch_frames
        self.seed, self.shuffle = seed, shuffle
        self.labels = None if labels is None else np.asarray(labels)
        self.balance = balance
        self.rank, self.world_size = rank, world_size
        self.pool = max(1, pool_batches * max_batch_size)
        self.epoch, self.start = 0, 0
        too_long = int((self.lengths > max_batch_frames).sum()) if max_batch_frames else 0
        if too_long:
            log.warning("%d item(s) are longer than max_batch_frames %d; each gets a batch of its own",
                        too_long, max_batch_frames)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start(self, batches: int) -> None:
        self.start = batches

    def _by_length(self, items: np.ndarray) -> np.ndarray:
        return items[np.argsort(self.lengths[items], kind="stable")]

    def _pooled_order(self, rng: np.random.Generator) -> np.ndarray:
        """The epoch's item order: pools sorted by length (stratified by label when given)."""
        n = len(self.lengths)
        if self.labels is None:
            order = rng.permutation(n)
            return np.concatenate([self._by_length(order[s : s + self.pool]) for s in range(0, n, self.pool)])
        groups = [rng.permutation(np.flatnonzero(self.labels == c)) for c in np.unique(self.labels)]
        if self.balance:
            target = max(len(g) for g in groups)
            groups = [np.concatenate([g] + [rng.permutation(g) for _ in range(math.ceil(target / len(g)) - 1)])[:target]
                      for g in groups]
        n_pools = max(1, round(sum(len(g) for g in groups) / self.pool))
        pieces = []
        for p in range(n_pools):
            parts = [self._by_length(np.array_split(g, n_pools)[p]) for g in groups]
            # Interleave the classes by length rank (rank / class share), classes in a fixed order.
            rank = np.concatenate([(np.arange(len(q)) + 0.5) / max(len(q), 1) for q in parts])
            pieces.append(np.concatenate(parts)[np.argsort(rank, kind="stable")])
        return np.concatenate(pieces)

    def _cut(self, order: np.ndarray) -> list[list[int]]:
        """Greedy batches of consecutive epoch positions under the size and frame budgets."""
        batches, current, longest = [], [], 0
        for p, item in enumerate(order):
            length = int(self.lengths[item])
            grown = max(longest, length)
            full = len(current) >= self.max_batch_size or (
                self.max_batch_frames and grown * (len(current) + 1) > self.max_batch_frames)
            if current and full:
                batches.append(current)
                current, grown = [], length
            current.append(p)
            longest = grown
        if current:
            batches.append(current)
        return batches

    def global_batches(self, epoch: int) -> tuple[list[list[int]], np.ndarray]:
        """(batches of epoch positions, the epoch's order of item indices): the same on every process."""
        rng = np.random.default_rng([self.seed, epoch])
        order = self._pooled_order(rng) if self.shuffle else np.argsort(self.lengths, kind="stable")
        batches = self._cut(order)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches, order

    def _rank_batches(self, epoch: int) -> tuple[list[list[int]], np.ndarray]:
        batches, order = self.global_batches(epoch)
        if self.world_size > 1:  # the same number of batches on every process: wrap around
            need = math.ceil(len(batches) / self.world_size) * self.world_size
            batches = (batches * math.ceil(need / len(batches)))[:need]
        return batches[self.rank :: self.world_size], order

    def __len__(self) -> int:
        return len(self._rank_batches(self.epoch)[0])

    def __iter__(self) -> Iterator[Batch]:
        batches, order = self._rank_batches(self.epoch)
        seeds = _epoch_seeds(self.seed, self.epoch, len(order))
        for batch in batches[self.start :]:
            yield [(int(order[p]), int(seeds[p])) for p in batch]

class ShuffledBatches(torch.utils.data.Sampler):
    """``batch_size`` examples per batch from torch's DistributedSampler (shuffled, sharded)."""

    def __init__(self, num_items: int, *, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 drop_last: bool = True) -> None:
        self.sampler = torch.utils.data.DistributedSampler(
            range(num_items), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        # Dropping the last partial batch only when a full one exists on this process.
        self.drop_last = drop_last and len(self.sampler) >= batch_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.sampler.set_epoch(epoch)

    def set_start(self, batches: int) -> None:
        self.start = batches

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        seeds = _epoch_seeds(self.seed, self.epoch, self.num_items)
        indices = list(self.sampler)
        for k in range(self.start, len(self)):
            chunk = indices[k * self.batch_size : (k + 1) * self.batch_size]
            yield [(i, int(seeds[i])) for i in chunk]


def split_item(item: int | tuple[int, int]) -> tuple[int, int]:
    """``(index, seed)`` of a sampler item; a plain index (validation, tests) is its own seed."""
    if isinstance(item, tuple):
        return int(item[0]), int(item[1])
    return int(item), int(item)
