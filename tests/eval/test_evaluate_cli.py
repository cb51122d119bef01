"""``promptevc evaluate`` end to end on synthesised pairs with known changes."""

from __future__ import annotations

import csv
import json
import sys
import types

import numpy as np
import pytest
import soundfile as sf

from promptevc.cli import main
from promptevc.eval.metrics import spearman
from promptevc.utils.synth import synth_speech

SR = 16000
REQUIRED = ["utt", "mcd_db", "f0_rmse", "f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db",
            "speaker_sim", "wer", "dnsmos_ovrl"]


@pytest.fixture
def pair_set(tmp_path):
    """src/a (source), conv/same (identical), conv/up2 (+2 st), conv/slow (10 % slower, +6 dB)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "conv").mkdir()
    src = synth_speech(140.0, 1.6, SR, seed=1)
    sf.write(tmp_path / "src/a.wav", src, SR)
    sf.write(tmp_path / "conv/same.wav", src, SR)
    sf.write(tmp_path / "conv/up2.wav", synth_speech(140.0 * 2 ** (2 / 12), 1.6, SR, seed=1), SR)
    slow = synth_speech(140.0, 1.6 * 1.1, SR, syllable_seconds=0.22 * 1.1, pause_seconds=0.15 * 1.1, seed=1)
    sf.write(tmp_path / "conv/slow.wav", slow * 10 ** (6 / 20), SR)
    (tmp_path / "pairs.csv").write_text(
        "converted,source,reference,emotion,intensity\n"
        "conv/same.wav,src/a.wav,src/a.wav,happy,0.2\n"
        "conv/up2.wav,src/a.wav,,happy,0.6\n"
        "conv/slow.wav,src/a.wav,,happy,0.9\n"
        "conv/missing.wav,src/a.wav,,sad,0.5\n",
        encoding="utf-8",
    )
    return tmp_path


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {r["utt"]: r for r in csv.DictReader(f)}


def test_evaluate_pairs_csv(pair_set):
    out = pair_set / "eval"
    rc = main(["-q", "evaluate", "--pairs", str(pair_set / "pairs.csv"), "--out", str(out), "--no-asr", "--no-dnsmos"])
    assert rc == 1  # one pair failed (missing file), the rest evaluated
    rows = _rows(out / "utterances.csv")
    assert set(rows) == {"same", "up2", "slow", "missing"}
    header = next(csv.reader(open(out / "utterances.csv", encoding="utf-8")))
    assert all(c in header for c in REQUIRED)

    same, up2, slow = rows["same"], rows["up2"], rows["slow"]
    assert float(same["mcd_db"]) == pytest.approx(0.0, abs=1e-6)
    assert float(same["f0_rmse"]) == pytest.approx(0.0, abs=1e-6)
    assert float(same["speaker_sim"]) == pytest.approx(1.0, abs=1e-4)
    assert float(same["f0_shift_st"]) == 0.0 and float(same["energy_change_db"]) == pytest.approx(0, abs=1e-6)
    assert float(up2["f0_shift_st"]) == pytest.approx(2.0, abs=0.3)
    assert float(slow["tempo_ratio"]) == pytest.approx(1.1, rel=0.03)
    assert float(slow["energy_change_db"]) == pytest.approx(6.0, abs=0.5)
    assert up2["mcd_db"] == "" and up2["wer"] == "" and up2["dnsmos_ovrl"] == ""  # not computed: empty
    assert rows["missing"]["error"].endswith("no such file") and rows["missing"]["f0_shift_st"] == ""

    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_pairs"] == 4 and summary["n_ok"] == 3 and summary["n_failed"] == 1
    assert summary["failed"][0]["utt"] == "missing"
    happy = summary["per_emotion"]["happy"]
    assert happy["n"] == 3 and happy["f0_shift_st"]["n"] == 3
    assert set(summary["per_emotion_intensity"]["happy"]) == {"0.2", "0.6", "0.9"}
    mono = summary["monotonicity_spearman"]["happy"]
    for key in ("f0_shift_st", "energy_change_db"):
        values = [float(rows[u][key]) for u in ("same", "up2", "slow")]
        assert mono[key] == pytest.approx(spearman([0.2, 0.6, 0.9], values))
    assert "c1..c24" in summary["settings"]["analysis"]

    report = (out / "report.md").read_text()
    assert "## Per emotion and intensity" in report and "| happy | 0.6 | 1 |" in report
    assert "`missing`" in report
    for png in ("f0_contours.png", "distributions.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
        assert f"]({png})" in report


def test_evaluate_dirs_and_overwrite(pair_set, capsys):
    (pair_set / "conv/missing.wav").unlink(missing_ok=True)
    (pair_set / "src2").mkdir()
    for name in ("same", "up2", "slow"):
        (pair_set / "src2" / f"{name}.wav").write_bytes((pair_set / "src/a.wav").read_bytes())
    out = pair_set / "eval2"
    args = ["evaluate", "--conv-dir", str(pair_set / "conv"), "--src-dir", str(pair_set / "src2"),
            "--emotion", "sad", "--intensity", "0.4", "--out", str(out), "--no-asr", "--no-dnsmos",
            "--no-speaker-sim", "--no-plots"]
    assert main(args) == 0
    rows = _rows(out / "utterances.csv")
    assert {r["emotion"] for r in rows.values()} == {"sad"} and rows["up2"]["intensity"] == "0.4"
    assert rows["same"]["speaker_sim"] == ""
    assert not list(out.glob("*.png"))
    capsys.readouterr()
    assert main(args) == 2  # earlier results are kept unless --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "nothing to evaluate"),
        (["--conv-dir", "x", "--pairs", "y"], "not both"),
        (["--pairs", "PAIRS", "--emotion", "furious"], "unknown emotion"),
    ],
)
def test_usage_errors(pair_set, capsys, extra, message):
    extra = [str(pair_set / "pairs.csv") if a == "PAIRS" else a for a in extra]
    assert main(["evaluate", "--out", str(pair_set / "e"), "--no-asr", "--no-dnsmos", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (pair_set / "e").exists()


def test_classifier_release_missing_is_clean(pair_set, capsys):
    rc = main(["evaluate", "--pairs", str(pair_set / "pairs.csv"), "--out", str(pair_set / "e"), "--no-asr",
               "--no-dnsmos", "--no-speaker-sim", "--classifier", str(pair_set / "no_release")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no_release" in err or "evaluator" in err
    assert not (pair_set / "e").exists()  # no partial output


def test_classifier_posteriors_and_accuracy(pair_set, monkeypatch):
    """A stand-in evaluator whose 'happy' logit grows with loudness: accuracy and monotonicity follow."""
    import torch

    from promptevc.prompt.control import EMOTIONS

    class Loudness(torch.nn.Module):
        def forward(self, mel, mel_lens):
            level = mel.mean(dim=(1, 2))  # log-mel mean (B,)
            logits = torch.zeros(mel.shape[0], len(EMOTIONS))
            logits[:, EMOTIONS.index("happy")] = 4.0 * (level + 4.0)
            return {"logits": logits, "embedding": torch.zeros(mel.shape[0], 4)}

    fake = types.ModuleType("promptevc.models.evaluator")
    fake.load_evaluator = lambda path, device="cpu": Loudness()
    monkeypatch.setitem(sys.modules, "promptevc.models.evaluator", fake)
    (pair_set / "conv/missing.wav").unlink(missing_ok=True)
    out = pair_set / "eval3"
    rc = main(["-q", "evaluate", "--pairs", str(pair_set / "pairs.csv"), "--out", str(out), "--no-asr",
               "--no-dnsmos", "--no-speaker-sim", "--no-plots", "--classifier", "fake-release"])
    assert rc == 1
    rows = _rows(out / "utterances.csv")
    for r in (rows["same"], rows["up2"], rows["slow"]):
        post = np.array([float(r[f"p_{e}"]) for e in EMOTIONS])
        assert post.sum() == pytest.approx(1.0, abs=1e-4)
        assert r["pred_emotion"] in EMOTIONS
        assert float(r["emo_posterior"]) == pytest.approx(float(r["p_happy"]))
    assert float(rows["slow"]["p_happy"]) > float(rows["same"]["p_happy"])  # +6 dB is "happier"
    summary = json.loads((out / "summary.json").read_text())
    assert "emo_correct" in summary["per_emotion"]["happy"]
    assert summary["monotonicity_spearman"]["happy"]["emo_posterior"] > 0


def test_classifier_real_release_round_trip(pair_set):
    """A tiny random evaluator release written with the toolkit's own release format loads and runs."""
    evaluator = pytest.importorskip("promptevc.models.evaluator")
    import dataclasses

    import torch

    from promptevc.config import AudioConfig
    from promptevc.release import write_release

    torch.manual_seed(0)
    cfg = evaluator.EvaluatorConfig(channels=8, n_blocks=1, kernel_size=3, attention_dim=4, embed_dim=8)
    config = {"model": dataclasses.asdict(cfg), "audio": dataclasses.asdict(AudioConfig())}
    model = evaluator.build_evaluator(config)
    write_release(pair_set / "release", kind="evaluator", config=config,
                  tensors={k: v.contiguous() for k, v in model.state_dict().items()}, meta={})
    (pair_set / "conv/missing.wav").unlink(missing_ok=True)
    out = pair_set / "eval4"
    rc = main(["-q", "evaluate", "--pairs", str(pair_set / "pairs.csv"), "--out", str(out), "--no-asr",
               "--no-dnsmos", "--no-speaker-sim", "--no-plots", "--classifier", str(pair_set / "release")])
    assert rc == 1  # only the missing file fails
    rows = _rows(out / "utterances.csv")
    assert rows["same"]["pred_emotion"] and float(rows["same"]["emo_posterior"]) > 0


def _many_pairs(tmp_path, n_sources=2, levels=(0.3, 0.6, 0.9), emotions=("happy", "sad")):
    """Sources with several conversions each (louder and higher with intensity for happy, the reverse for sad)."""
    lines = ["converted,source,emotion,intensity,utt"]
    (tmp_path / "src").mkdir()
    (tmp_path / "conv").mkdir()
    for s in range(n_sources):
        f0 = 120.0 + 20 * s
        sf.write(tmp_path / f"src/s{s}.wav", synth_speech(f0, 1.2, SR, seed=s), SR)
        for emo in emotions:
            sign = 1 if emo == "happy" else -1
            for x in levels:
                wav = synth_speech(f0 * 2 ** (sign * 3 * x / 12), 1.2, SR, seed=s) * 10 ** (sign * 4 * x / 20)
                name = f"s{s}_{emo}_{x:g}"
                sf.write(tmp_path / f"conv/{name}.wav", wav, SR)
                lines.append(f"conv/{name}.wav,src/s{s}.wav,{emo},{x:g},{name}")
    (tmp_path / "pairs.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "pairs.csv"


def test_workers_give_the_same_rows_as_one_process(tmp_path):
    pairs = _many_pairs(tmp_path)
    base = ["-q", "evaluate", "--pairs", str(pairs), "--no-asr", "--no-dnsmos", "--no-speaker-sim", "--no-plots",
            "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "one"), "--nj", "1"]) == 0
    assert main([*base, "--out", str(tmp_path / "two"), "--nj", "2"]) == 0
    one, two = _rows(tmp_path / "one/utterances.csv"), _rows(tmp_path / "two/utterances.csv")
    assert list(one) == list(two) and len(one) == 12  # same rows, in the pairs' order
    for utt in one:
        for key in ("f0_shift_st", "energy_change_db", "tempo_ratio", "f0_median_hz", "src_f0_median_hz"):
            assert one[utt][key] == two[utt][key], (utt, key)
    assert json.loads((tmp_path / "two/summary.json").read_text())["settings"]["workers"] == 2


def test_report_directions_monotonicity_plot_and_compare(tmp_path):
    pairs = _many_pairs(tmp_path)
    base = ["-q", "evaluate", "--pairs", str(pairs), "--no-asr", "--no-dnsmos", "--no-speaker-sim", "--nj", "1",
            "--no-progress"]
    control = tmp_path / "control.json"
    control.write_text(json.dumps([{"metric": "intensity accuracy", "value": 0.7}]))
    assert main([*base, "--out", str(tmp_path / "a"), "--control-metrics", str(control)]) == 0
    summary = json.loads((tmp_path / "a/summary.json").read_text())
    table = {(d["emotion"], d["metric"]): d for d in summary["directions"]}
    assert table[("happy", "f0_shift_st")]["verdict"] == "PASS"  # +0.9 .. +2.7 st
    assert table[("happy", "energy_change_db")]["verdict"] == "PASS"
    assert table[("sad", "energy_change_db")]["verdict"] == "PASS"  # quieter, as the profile says
    assert summary["control_metrics"] == [{"metric": "intensity accuracy", "value": 0.7}]
    assert "monotonicity.png" in summary["plots"]
    png = (tmp_path / "a/monotonicity.png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 10_000
    report = (tmp_path / "a/report.md").read_text()
    assert "## Expected directions" in report and "![monotonicity.png](monotonicity.png)" in report
    # a second run where happy is flat: the comparison shows both, with paired tests
    rows = (tmp_path / "pairs.csv").read_text()
    (tmp_path / "pairs_b.csv").write_text(rows.replace("conv/s0_happy_0.9.wav", "src/s0.wav"))
    assert main([*base, "--pairs", str(tmp_path / "pairs_b.csv"), "--out", str(tmp_path / "b")]) == 0
    assert main(["-q", "evaluate", "--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                 str(tmp_path / "cmp"), "--labels", "prosody", "neural"]) == 0
    cmp = json.loads((tmp_path / "cmp/compare.json").read_text())
    assert cmp["labels"] == ["prosody", "neural"] and cmp["shared_utterances"] == 12
    f0 = next(r for r in cmp["overall"] if r["metric"] == "f0_shift_st")
    # one utterance differs (the unconverted source in B): one non-zero difference, p = 1
    assert f0["paired_n"] == 1 and f0["median_diff"] == 0 and f0["p"] == 1.0 and f0["b"] < f0["a"]
    text = (tmp_path / "cmp/compare.md").read_text()
    assert "# Comparison: prosody vs neural" in text and "| intensity accuracy | 0.7 | – |" in text
    assert main(["-q", "evaluate", "--compare", str(tmp_path / "a"), str(tmp_path / "nope"), "--out",
                 str(tmp_path / "cmp2")]) == 2


@pytest.mark.parametrize("extra, message", [
    (["--nj", "0"], "--nj 0"),
    (["--intensity", "2"], "--intensity 2: is outside [0, 1]"),
    (["--language", "zh", "--asr", "auto"], "--language zh: no built-in recogniser"),
    (["--control-metrics", "/nonexistent.json"], "no such control-metrics file"),
])
def test_more_usage_errors(pair_set, capsys, extra, message):
    rc = main(["evaluate", "--pairs", str(pair_set / "pairs.csv"), "--out", str(pair_set / "e"), "--no-dnsmos",
               "--no-speaker-sim", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (pair_set / "e").exists()
