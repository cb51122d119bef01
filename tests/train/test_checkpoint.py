import random

import numpy as np
import torch

from promptevc.config import InputConfig
from promptevc.train.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from promptevc.train.experiment import Experiment, read_experiment_kind, read_metrics


def _setup():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)
    return model, opt, sched


def test_resume_continues_identically(tmp_path):
    torch.manual_seed(0)
    model, opt, sched = _setup()

    def step():
        x = torch.randn(4, 3)
        loss = model(x).pow(2).mean() + random.random() * 0 + float(np.random.rand()) * 0
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        return torch.randn(1).item(), random.random(), float(np.random.rand())

    for _ in range(3):
        step()
    save_checkpoint(checkpoint_path(tmp_path, 3), step=3, models={"m": model}, optimizers={"o": opt},
                    schedulers={"s": sched}, extra={"note": "x"})
    expected = [step() for _ in range(2)]
    w_expected = model.weight.detach().clone()

    model2, opt2, sched2 = _setup()
    ckpt = latest_checkpoint(tmp_path)
    step_no, extra = load_checkpoint(ckpt, models={"m": model2}, optimizers={"o": opt2}, schedulers={"s": sched2})
    assert step_no == 3 and extra == {"note": "x"}
    model, opt, sched = model2, opt2, sched2
    got = [step() for _ in range(2)]
    assert got == expected
    torch.testing.assert_close(model.weight, w_expected)


def test_prune_and_latest(tmp_path):
    model, _, _ = _setup()
    for s in (1, 20, 300, 4000):
        save_checkpoint(checkpoint_path(tmp_path, s), step=s, models={"m": model})
    assert latest_checkpoint(tmp_path).name == "step_00004000.pt"
    prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000300.pt", "step_00004000.pt"]


def test_experiment_dir(tmp_path):
    exp = Experiment(tmp_path / "exp", "toy", InputConfig(), argv=["promptevc", "train"], tensorboard=False)
    exp.log_metrics(1, {"loss": 2.0})
    exp.log_metrics(2, {"loss": 1.0}, split="valid")
    exp.close()
    assert read_experiment_kind(tmp_path / "exp") == "toy"
    rows = read_metrics(tmp_path / "exp")
    assert [(r["step"], r["split"], float(r["value"])) for r in rows] == [("1", "train", 2.0), ("2", "valid", 1.0)]
    for f in ("config.yaml", "command.txt", "git_commit.txt", "train.log"):
        assert (tmp_path / "exp" / f).exists()
