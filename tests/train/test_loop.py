"""The shared training loop on a toy task: resume equivalence, non-finite steps, cadence, export."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from promptevc.data.sampler import BucketBatchSampler, split_item
from promptevc.errors import ModelLoadError, TrainingError
from promptevc.train import loop
from promptevc.train.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from promptevc.train.config import TrainConfig
from promptevc.train.experiment import read_metrics


@dataclasses.dataclass
class ToyConfig:
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    dim: int = 3


class ToyData(torch.utils.data.Dataset):
    """y = x . w_true + noise; x and the noise drawn from the item's seed; lengths 1..5."""

    def __init__(self, n: int = 23) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, item):
        index, seed = split_item(item)
        g = np.random.default_rng(seed)
        x = g.normal(size=3).astype(np.float32) + index * 0.01
        return torch.from_numpy(x), torch.tensor(float(x @ np.array([1.0, -2.0, 0.5]) + 0.1 * g.normal()))


class ToyTask(loop.Task):
    kind = "toy"
    config_class = ToyConfig
    best_metric = ("mse", "min")
    nan_calls: set[int] = set()  # train_step calls (counted over the process) that return a NaN loss
    crash_at_call: int | None = None  # raise KeyboardInterrupt at this call (a killed run)

    def __init__(self, config: ToyConfig) -> None:
        self.config = config
        self.calls = 0

    def build(self, env):
        self.model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))
        self.data = ToyData()
        tc = self.config.train
        sampler = BucketBatchSampler([1 + i % 5 for i in range(len(self.data))], max_batch_size=tc.batch_size,
                                     seed=tc.seed, rank=env.dist.rank, world_size=env.dist.world_size)
        return loop.Parts(models={"model": self.model}, groups={"model": list(self.model.parameters())},
                          train_set=self.data, sampler=sampler)

    def train_step(self, batch, ctx):
        self.calls += 1
        if self.calls == self.crash_at_call:
            raise KeyboardInterrupt
        x, y = batch
        # Dropout and an RNG-dependent term: both must replay identically after a resume.
        loss = ((ctx.wrapped["model"](x).squeeze(-1) - y) ** 2).mean() + 1e-3 * torch.rand(()).item()
        if self.calls in self.nan_calls:
            loss = loss * float("nan")
        ctx.backward("model", loss)
        return {"loss": loss.detach()}

    def validate(self, env, step):
        x, y = zip(*(self.data[i] for i in range(8)), strict=True)
        return {"mse": float(((self.model(torch.stack(x)).squeeze(-1) - torch.stack(y)) ** 2).mean())}

    @classmethod
    def release(cls, config, payload, exp_dir):
        return loop.ReleaseContents(config={"dim": config.dim}, tensors=payload["models"]["model"], meta={})


@pytest.fixture(autouse=True)
def _toy_registered(monkeypatch):
    monkeypatch.setitem(loop.TASKS, "toy", f"{__name__}:ToyTask")
    monkeypatch.setattr(ToyTask, "nan_calls", set())
    monkeypatch.setattr(ToyTask, "crash_at_call", None)


def _fit(exp: Path, **train) -> ToyTask:
    cfg = ToyConfig(train=TrainConfig(**{"max_steps": 8, "batch_size": 4, "learning_rate": 0.05, "log_every": 2,
                                         "valid_every": 4, "save_every": 3, "keep_checkpoints": 1, **train}))
    task = ToyTask(cfg)
    loop.fit(task, exp, device="cpu", progress=False)
    return task


def _weights(exp: Path, step: int) -> dict[str, torch.Tensor]:
    return read_checkpoint(checkpoint_path(exp, step))["models"]["model"]


@pytest.mark.parametrize("accum", [1, 2])
def test_resume_after_a_kill_is_bit_for_bit_the_uninterrupted_run(tmp_path, accum, monkeypatch):
    straight = tmp_path / "straight"
    _fit(straight, grad_accum_steps=accum)
    killed = tmp_path / "killed"
    # Killed in step 6, after the checkpoint of step 4 (the best so far; mid-epoch: 23 items make
    # 6 batches).
    ToyTask.crash_at_call = 6 * accum
    with pytest.raises(KeyboardInterrupt):
        _fit(killed, grad_accum_steps=accum)
    assert [p.name for p in list_checkpoints(killed)] == ["step_00000004.pt"]
    ToyTask.crash_at_call = None
    reads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: reads.append(k.get("map_location")) or real_load(*a, **k))
    _fit(killed, grad_accum_steps=accum)  # resumes at step 4, at the next unseen batch
    assert reads and set(reads) == {"cpu"}  # read on the CPU, then placed
    a, b = _weights(straight, 8), _weights(killed, 8)
    assert all(torch.equal(a[k], b[k]) for k in a)  # replaying the epoch from its start would differ
    payload = read_checkpoint(checkpoint_path(killed, 8))
    assert payload["extra"]["loop"]["epoch"] >= 1 and payload["step"] == 8
    assert (killed / "release" / "model.safetensors").is_file()


def test_nonfinite_step_is_skipped_and_counted(tmp_path):
    ToyTask.nan_calls = {3}
    task = _fit(tmp_path / "exp", max_steps=6, save_every=100)
    metrics = {(int(r["step"]), r["name"]): float(r["value"]) for r in read_metrics(tmp_path / "exp")
               if r["split"] == "train"}
    assert metrics[(2, "nonfinite_steps")] == 0 and metrics[(4, "nonfinite_steps")] == 1
    assert metrics[(6, "nonfinite_steps")] == 1  # one skipped step; training went on to the end
    payload = read_checkpoint(checkpoint_path(tmp_path / "exp", 6))
    assert payload["extra"]["loop"]["nonfinite_total"] == 1
    assert all(torch.isfinite(v).all() for v in payload["models"]["model"].values())
    assert payload["schedulers"]["model"]["last_epoch"] == 5  # the skipped step did not advance the schedule
    assert task.calls == 6


def test_consecutive_nonfinite_steps_stop_with_an_error(tmp_path):
    ToyTask.nan_calls = set(range(3, 100))
    with pytest.raises(TrainingError, match="3 steps in a row.*learning_rate"):
        _fit(tmp_path / "exp", max_steps=20, max_nonfinite_steps=3)


def test_cadence_best_checkpoint_and_export(tmp_path):
    exp = tmp_path / "exp"
    _fit(exp)
    rows = read_metrics(exp)
    assert sorted({int(r["step"]) for r in rows if r["split"] == "train"}) == [2, 4, 6, 8]
    assert sorted({int(r["step"]) for r in rows if r["split"] == "valid"}) == [4, 8]
    mse = {int(r["step"]): float(r["value"]) for r in rows if r["name"] == "mse"}
    best = min(mse, key=mse.get)
    kept = {p.name for p in list_checkpoints(exp)}
    assert "step_00000008.pt" in kept and f"step_{best:08d}.pt" in kept  # keep_checkpoints 1 + the best
    out = loop.export_release(exp, tmp_path / "best", "best")
    assert json.loads((out / "meta.json").read_text())["step"] == best
    # Re-running a finished experiment trains nothing and re-exports the same weights.
    _fit(exp)
    assert sorted({int(r["step"]) for r in read_metrics(exp) if r["split"] == "train"}) == [2, 4, 6, 8]


def test_precision_resolution():
    cpu = torch.device("cpu")
    assert loop.resolve_precision("auto", cpu) == "fp32"
    assert loop.resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(Exception, match="fp16"):
        loop.resolve_precision("half", cpu)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cpu(tmp_path, precision):
    cfg = ToyConfig(train=TrainConfig(max_steps=4, batch_size=4, learning_rate=0.05, log_every=2, valid_every=4,
                                      save_every=4, precision=precision))
    loop.fit(ToyTask(cfg), tmp_path / "exp", device="cpu", progress=False)
    payload = read_checkpoint(checkpoint_path(tmp_path / "exp", 4))
    assert (payload["scaler"] is not None) == (precision == "fp16")
    assert all(torch.isfinite(v).all() for v in payload["models"]["model"].values())


@pytest.mark.filterwarnings("ignore:.*meta parameter")
def test_checkpoint_is_read_on_the_cpu_whatever_the_model_device(tmp_path, monkeypatch):
    """The CUDA resume crash: RNG state mapped to the model's device, then .numpy()'d there."""
    model = torch.nn.Linear(3, 2)
    random.seed(5)
    path = save_checkpoint(checkpoint_path(tmp_path, 1), step=1, models={"m": model})
    expected = random.random()
    seen = []
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    with torch.device("meta"):  # stands in for a GPU: no tensor there can be .numpy()'d
        on_device = torch.nn.Linear(3, 2)
    step, _ = load_checkpoint(path, models={"m": on_device})
    assert step == 1 and seen == ["cpu"] and on_device.weight.device.type == "meta"
    assert random.random() == expected  # RNG restored from the CPU copy
    state = rng_state()
    state["numpy"]["state"] = state["numpy"]["state"].to("meta")
    with pytest.raises(ModelLoadError, match="CPU"):
        set_rng_state(state)
