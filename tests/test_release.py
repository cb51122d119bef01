import json

import pytest
import torch

from promptevc.errors import ModelLoadError
from promptevc.release import load_state_strict, read_release, write_release


def test_release_round_trip_and_strict(tmp_path):
    model = torch.nn.Linear(4, 3)
    out = write_release(tmp_path / "rel", kind="toy", config={"dim": 4}, tensors=model.state_dict(), meta={"labels": ["a"]})
    rel = read_release(out, kind="toy")
    assert rel.config == {"dim": 4} and rel.meta["labels"] == ["a"] and rel.meta["kind"] == "toy"
    other = torch.nn.Linear(4, 3)
    load_state_strict(other, rel.state_dict)
    x = torch.randn(2, 4)
    torch.testing.assert_close(other(x), model(x))
    with pytest.raises(ModelLoadError, match="missing 1 key"):
        load_state_strict(torch.nn.Linear(4, 3), {"weight": rel.state_dict["weight"]})
    with pytest.raises(ModelLoadError, match="unexpected 1 key"):
        load_state_strict(torch.nn.Linear(4, 3), {**rel.state_dict, "extra": torch.zeros(1)})
    with pytest.raises(ModelLoadError, match="has shape"):
        load_state_strict(torch.nn.Linear(5, 3), rel.state_dict)
    with pytest.raises(ModelLoadError, match="is a 'toy' release, expected a 'vocoder'"):
        read_release(out, kind="vocoder")


def test_release_version_mismatch(tmp_path):
    out = write_release(tmp_path / "rel", kind="toy", config={}, tensors={"w": torch.zeros(1)})
    meta = json.loads((out / "meta.json").read_text())
    meta["format_version"] = 99
    meta["toolkit_version"] = "9.9.9"
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"format version 99 \(written by promptevc 9.9.9\)"):
        read_release(out, kind="toy")


def test_missing_release_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE=1 is set"):
        read_release("nobody/no-such-model", kind="acoustic")
    with pytest.raises(ModelLoadError, match="no such file or folder"):
        read_release(str(tmp_path / "nothing" / "here"), kind="acoustic")
