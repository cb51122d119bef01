"""Stage 8/9 helpers: which utterances are converted, their parallel references, and the
direction check of RESULTS.md (it must be able to say FAIL)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

UTILS = Path(__file__).resolve().parents[2] / "recipes" / "utils"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, UTILS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    import sys

    sys.path.insert(0, str(UTILS))
    spec.loader.exec_module(mod)
    return mod


def write_dir(d: Path, utts: dict[str, str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "wav.scp").write_text("".join(f"{u} /c/{u}.wav\n" for u in sorted(utts)))
    (d / "utt2emo").write_text("".join(f"{u} {e}\n" for u, e in sorted(utts.items())))
    (d / "utt2spk").write_text("".join(f"{u} {u[:4]}\n" for u in sorted(utts)))
    (d / "text").write_text("".join(f"{u} words\n" for u in sorted(utts)))


def test_select_and_pairs(tmp_path):
    cp = load("conversion_pairs")
    utts = {f"{s}_{k + 350 * b:06d}": e for s in ("0011", "0012") for k in (21, 22, 23)
            for b, e in enumerate(("neutral", "angry", "happy", "sad", "surprise"))}
    write_dir(tmp_path / "test", utts)
    assert cp.main(["select", "--data", str(tmp_path / "test"), "--max-utts", "3", "--out",
                    str(tmp_path / "src.scp")]) == 0
    # Balanced over speakers, neutral only.
    assert [line.split()[0] for line in (tmp_path / "src.scp").read_text().splitlines()] == [
        "0011_000021", "0011_000022", "0012_000021"]
    (tmp_path / "prompts.tsv").write_text("# comment\nneutral\t0\tcontrol\tneutral\nhappy\t1\thigh\tvery happy\n")
    for cond in ("neutral_control", "happy_high"):
        (tmp_path / "conv" / cond).mkdir(parents=True)
        for u in ("0011_000021", "0011_000022", "0012_000021"):
            (tmp_path / "conv" / cond / f"{u}.wav").write_bytes(b"RIFF")
    assert cp.main(["pairs", "--convert-dir", str(tmp_path / "conv"), "--prompts", str(tmp_path / "prompts.tsv"),
                    "--src", str(tmp_path / "src.scp"), "--data-dirs", str(tmp_path / "test"),
                    "--text", str(tmp_path / "test/text"),
                    "--out", str(tmp_path / "pairs.csv"), "--oracle-out", str(tmp_path / "oracle.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "pairs.csv")))
    assert len(rows) == 6
    happy = next(r for r in rows if r["utt"] == "0012_000021-happy-high")
    # The reference is the same sentence by the same speaker in the target emotion (ESD index + 700).
    assert happy["reference"] == "/c/0012_000721.wav" and happy["source"] == "/c/0012_000021.wav"
    assert happy["intensity"] == "1" and happy["emotion"] == "happy" and happy["text"] == "words"
    oracle = list(csv.DictReader(open(tmp_path / "oracle.csv")))
    assert {r["converted"] for r in oracle} == {"/c/0011_000721.wav", "/c/0011_000722.wav", "/c/0012_000721.wav"}


def test_direction_check_passes_and_fails(tmp_path):
    mr = load("make_results")
    ev = tmp_path / "eval"
    ev.mkdir()
    fields = ["utt", "emotion", "intensity", "f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db",
              "mcd_db", "speaker_sim", "wer", "dnsmos_ovrl", "emo_correct", "error"]
    rows = []
    for src in ("0011_000021", "0012_000021"):
        # Resynthesis itself raises F0 by 2 st: the check must compare against the neutral prompt.
        rows.append([f"{src}-neutral-control", "neutral", "0", "2.0", "1.0", "1.0", "0", "", "", "", "", "", ""])
        rows.append([f"{src}-happy-high", "happy", "1", "5.0", "1.3", "1.0", "1", "", "", "", "", "", ""])
        rows.append([f"{src}-surprise-high", "surprise", "1", "2.2", "1.0", "1.0", "1", "", "", "", "", "", ""])
        rows.append([f"{src}-angry-high", "angry", "1", "2.0", "1.0", "1.0", "-1", "", "", "", "", "", ""])
        rows.append([f"{src}-sad-high", "sad", "1", "2.0", "1.0", "1.2", "-3", "", "", "", "", "", ""])
        rows.append([f"{src}-sad-low", "sad", "0.3", "2.0", "1.0", "1.0", "-3", "", "", "", "", "", ""])
    with open(ev / "utterances.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        w.writerows(rows)
    out = tmp_path / "RESULTS.md"
    assert mr.main(["--exp", str(tmp_path), "--eval", str(ev), "--corpus", "mini", "--tag", "t",
                    "--out", str(out)]) == 0
    text = out.read_text()
    lines = {(line.split("|")[1].strip(), line.split("|")[3].strip()): line for line in text.splitlines()
             if line.startswith("| ") and line.count("|") == 9}
    happy = lines[("happy", "f0_shift_st")]
    assert "PASS" in happy and "| +3.00 st | +5.00 st |" in happy  # vs control, vs source
    assert "FAIL" in lines[("surprise", "f0_shift_st")]  # +0.2 st over the control: below threshold
    assert "FAIL" in lines[("angry", "energy_change_db")]
    assert "PASS" in lines[("sad", "tempo_ratio")] and "x1.200" in lines[("sad", "tempo_ratio")]
    assert "PASS" in lines[("happy", "f0_range_ratio")] and "FAIL" in lines[("surprise", "f0_range_ratio")]
    assert "3 of 6 directions pass" in text and "pipeline check, not a model" in text
    assert "| sad | low | 0.3 | 2 |" in text
