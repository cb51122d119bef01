"""Stage 8/9 helpers: which utterances are converted, their parallel references, and the
direction check of RESULTS.md (it must be able to say FAIL)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

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
    (tmp_path / "prompts.tsv").write_text("# comment\nneutral\t0\tcontrol\tAn impassive reading, please.\n"
                                          "happy\t1\thigh\tPortray a tremendously jubilant narrator.\n")
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


PROMPTS = """# a list with every column kind
neutral\t0\tcontrol\tAn impassive reading, please.
happy\t0.3\tlow\tImagine you're a wee bit chipper and say this.
happy\t0.6\tmid\tGet into a jolly mood for this line.
happy\t1\thigh\tPortray a tremendously jubilant narrator.
sad\t0.3\tlow\tImagine you're a wee bit downcast and say this.
sad\t0.6\tmid\tGet into a dejected mood for this line.
sad\t1\thigh\tPortray a tremendously crestfallen narrator.
happy\t0.6\tmid\tGet into a jolly mood for this line, pitched up a bit.\thappy_pitch_up\tpitch+\thappy_mid\t-
happy\t0.6\tmid\tGet into a jolly mood for this line, in a low-pitched voice.\thappy_pitch_down\tpitch-\thappy_mid
happy\t0.6\tmid\tGet into a jolly mood for this line, in a hurry.\thappy_speed_up\tspeed+\thappy_mid\t-
happy\t0.6\tmid\tGet into a jolly mood for this line, in an unhurried way.\thappy_speed_down\tspeed-\thappy_mid\t-
happy\t0.6\tmid\tGet into a jolly mood for this line, projecting your voice.\thappy_volume_up\tvolume+\thappy_mid\t-
happy\t0.6\tmid\tGet into a jolly mood for this line, in a hushed voice.\thappy_volume_down\tvolume-\thappy_mid\t-
sad\t0.6\tmid\tGet into a dejected mood for this line, laced with fury.\tsad_mix_angry\t-\tsad_mid\tangry
happy\t0.6\tmid\tGet into a jolly mood for this line, and a dash of sadness too.\thappy_mix_sad\t-\thappy_mid\tsad
"""


def test_prompt_list_old_and_new_format(tmp_path):
    cp = load("conversion_pairs")
    old = tmp_path / "old.tsv"
    old.write_text("# old 4-column list\nneutral\t0\tcontrol\tAn impassive reading, please.\n"
                   "sad\t0.3\tlow\tImagine you're a wee bit downcast and say this.\n")
    rows = cp.read_prompts(old)
    assert [(r["condition"], r["key"], r["plain"], r["intensity"]) for r in rows] == [
        ("neutral_control", "control", True, 0.0), ("sad_low", "low", True, 0.3)]
    new = tmp_path / "new.tsv"
    new.write_text(PROMPTS)
    rows = {r["condition"]: r for r in cp.read_prompts(new)}
    assert len(rows) == 15 and rows["happy_mid"]["plain"] and rows["happy_mid"]["key"] == "mid"
    up = rows["happy_pitch_up"]
    assert (up["hint"], up["baseline"], up["second"], up["key"], up["plain"]) == (
        "pitch+", "happy_mid", "", "happy_pitch_up", False)
    assert rows["happy_pitch_down"]["hint"] == "pitch-"  # the trailing column may be left out
    mix = rows["sad_mix_angry"]
    assert (mix["second"], mix["hint"], mix["baseline"], mix["emotion"]) == ("angry", "", "sad_mid", "sad")
    # Broken lists: one error naming the line.
    for text, message in (
        ("happy\t0.6\tmid\tGet into a jolly mood for this line, in a hurry.\tx_fast\tspeed+\t-\t-\n",
         "needs a condition name and a baseline"),
        ("happy\t0.6\tmid\tGet into a jolly mood for this line, in a hurry.\tx_fast\tspeed+\tnope\t-\n",
         "baseline 'nope' is not a plain condition"),
        ("happy\t0.6\tmid\tGet into a jolly mood for this line.\t-\tfaster\n", "hint 'faster'"),
        ("happy\tlots\tmid\tGet into a jolly mood for this line.\n", "intensity 'lots'"),
        ("happy\t0.6\tmid\n", "need 4 to 8 tab-separated fields"),
    ):
        bad = tmp_path / "bad.tsv"
        bad.write_text(text)
        with pytest.raises(cp.PromptListError, match=message):
            cp.read_prompts(bad)


def test_prompt_list_refuses_training_phrasings(tmp_path, capsys):
    cp = load("conversion_pairs")
    good = tmp_path / "good.tsv"
    good.write_text(PROMPTS)
    assert cp.main(["check", "--prompts", str(good)]) == 0
    assert "15 held-out prompts (7 plain, 6 hint, 2 mixed)" in capsys.readouterr().out
    # A plain training phrasing, and a held-out body with a training hint clause ("faster"): both refused.
    for line in ("angry\t1\thigh\tvery angry\n", "happy\t0.6\tmid\tSound happy, faster.\n"):
        bad = tmp_path / "bad.tsv"
        bad.write_text(PROMPTS + line)
        with pytest.raises(SystemExit) as err:
            cp.main(["check", "--prompts", str(bad)])
        assert str(err.value).startswith(f"error: {bad}:17: ") and "training prompt generator" in str(err.value)
        assert "\n" not in str(err.value)
    # pairs (stage 8's last step) refuses it too.
    with pytest.raises(SystemExit):
        cp.main(["pairs", "--convert-dir", str(tmp_path), "--prompts", str(bad), "--src", str(good),
                 "--data-dirs", str(tmp_path), "--out", str(tmp_path / "pairs.csv")])
    assert not (tmp_path / "pairs.csv").exists()


def test_pairs_of_hint_and_mixed_conditions(tmp_path):
    cp = load("conversion_pairs")
    utts = {f"0011_{k + 350 * b:06d}": e for k in (21,) for b, e in enumerate(("neutral", "angry", "happy", "sad"))}
    write_dir(tmp_path / "test", utts)
    (tmp_path / "src.scp").write_text("0011_000021 /c/0011_000021.wav\n")
    (tmp_path / "prompts.tsv").write_text(PROMPTS)
    for cond in ("neutral_control", "happy_mid", "happy_pitch_up", "sad_mix_angry"):
        (tmp_path / "conv" / cond).mkdir(parents=True)
        (tmp_path / "conv" / cond / "0011_000021.wav").write_bytes(b"RIFF")
    assert cp.main(["pairs", "--convert-dir", str(tmp_path / "conv"), "--prompts", str(tmp_path / "prompts.tsv"),
                    "--src", str(tmp_path / "src.scp"), "--data-dirs", str(tmp_path / "test"),
                    "--out", str(tmp_path / "pairs.csv"), "--oracle-out", str(tmp_path / "oracle.csv")]) == 0
    rows = {r["utt"]: r for r in csv.DictReader(open(tmp_path / "pairs.csv"))}
    assert set(rows) == {"0011_000021-neutral-control", "0011_000021-happy-mid", "0011_000021-happy-happy_pitch_up",
                         "0011_000021-sad-sad_mix_angry"}
    assert rows["0011_000021-happy-happy_pitch_up"]["converted"].endswith("conv/happy_pitch_up/0011_000021.wav")
    assert rows["0011_000021-sad-sad_mix_angry"]["reference"] == "/c/0011_001071.wav"
    # Oracle recordings once per (source, emotion), from the plain conditions only.
    oracle = list(csv.DictReader(open(tmp_path / "oracle.csv")))
    assert [r["emotion"] for r in oracle] == ["happy"]


def write_eval(d: Path, rows: list[dict]) -> Path:
    fields = ["utt", "emotion", "intensity", "f0_shift_st", "f0_range_ratio", "tempo_ratio", "energy_change_db",
              "emo_correct", "p_angry", "p_happy", "p_neutral", "p_sad", "p_surprise", "error"]
    d.mkdir(parents=True)
    with open(d / "utterances.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({"f0_shift_st": 0, "f0_range_ratio": 1, "tempo_ratio": 1, "energy_change_db": 0,
                        "emo_correct": 1, **{f"p_{e}": 0.2 for e in ("angry", "happy", "neutral", "sad", "surprise")},
                        "error": "", **r})
    return d


def test_control_table_arithmetic(tmp_path):
    mr = load("make_results")
    s1, s2 = "0011_000021", "0012_000021"

    def row(src, emotion, key, intensity=0.6, **m):
        return {"utt": f"{src}-{emotion}-{key}", "emotion": emotion, "intensity": intensity, **m}

    rows = [row(s, "neutral", "control", 0) for s in (s1, s2)]
    # intensity: happy by F0 (s1 ordered: 3 of 3 pairs; s2 mid > high: 2 of 3), sad by tempo
    # (s1: 3 of 3; s2 has no high prompt: not counted) -> 8 of 9.
    for s, f0 in ((s1, (1, 2, 3)), (s2, (1, 3, 2))):
        rows += [row(s, "happy", lv, i, f0_shift_st=v) for lv, i, v in zip(("low", "mid", "high"), (0.3, 0.6, 1), f0, strict=True)]
    rows += [row(s1, "sad", lv, i, tempo_ratio=v, energy_change_db=-3)
             for lv, i, v in zip(("low", "mid", "high"), (0.3, 0.6, 1), (1.0, 1.1, 1.2), strict=True)]
    rows += [row(s2, "sad", "low", 0.3, tempo_ratio=1.0), row(s2, "sad", "mid", 0.6, energy_change_db=-3)]
    # pitch: s1 +0.6 st (yes), s2 +0.4 st (inside the dead band), s1 down -1 st (yes) -> 2 of 3.
    rows += [row(s1, "happy", "happy_pitch_up", f0_shift_st=2.6), row(s2, "happy", "happy_pitch_up", f0_shift_st=3.4),
             row(s1, "happy", "happy_pitch_down", f0_shift_st=1.0)]
    # speed: faster x0.97 < 1/1.03 (yes), slower x1.02 (under 3 %) -> 1 of 2.
    rows += [row(s1, "happy", "happy_speed_up", f0_shift_st=2, tempo_ratio=0.97),
             row(s1, "happy", "happy_speed_down", f0_shift_st=2, tempo_ratio=1.02)]
    # volume: louder +1.5 dB (yes), quieter +1.5 dB (wrong way) -> 1 of 2; +0.8 dB is under 1 dB.
    rows += [row(s1, "happy", "happy_volume_up", energy_change_db=1.5), row(s1, "happy", "happy_volume_down",
                                                                            energy_change_db=1.5),
             row(s2, "happy", "happy_volume_up", energy_change_db=0.8)]
    # mixed (cue): sad + angry by energy (s1 +1.5 dB yes, s2 +0.2 dB no), happy + sad by tempo (s1 x1.05
    # yes) -> 2 of 3. mixed (posteriors): both named emotions above the rest in s1's sad + angry and
    # happy + sad; s2's sad + angry has neutral above angry -> 2 of 3.
    both = {"p_sad": 0.4, "p_angry": 0.3, "p_neutral": 0.1, "p_happy": 0.1, "p_surprise": 0.1}
    rows += [row(s1, "sad", "sad_mix_angry", energy_change_db=-1.5, tempo_ratio=1.1, **both),
             row(s2, "sad", "sad_mix_angry", energy_change_db=-2.8, **{**both, "p_neutral": 0.35, "p_angry": 0.05}),
             row(s1, "happy", "happy_mix_sad", f0_shift_st=2, tempo_ratio=1.05,
                 **{"p_happy": 0.5, "p_sad": 0.3, "p_neutral": 0.1, "p_angry": 0.05, "p_surprise": 0.05})]
    # emotion acc: one plain emotional conversion (s2 sad low) is graded wrong -> 10 of 11.
    rows = [{**r, "emo_correct": 0} if r["utt"] == f"{s2}-sad-low" else r for r in rows]
    ev = write_eval(tmp_path / "eval", rows)
    # A second system that moves nothing: every share 0 (ties are not an ordering).
    flat = write_eval(tmp_path / "eval_prosody", [{**r, "f0_shift_st": 0, "tempo_ratio": 1, "energy_change_db": 0}
                                                  for r in rows])
    (tmp_path / "prompts.tsv").write_text(PROMPTS)
    meta = mr.read_prompt_meta(tmp_path / "prompts.tsv")
    assert mr.control_scores(mr.read_rows(ev, meta)) == {
        "emotion": (10, 11), "intensity": (8, 9), "intensity3": (2, 3), "mixed": (2, 3), "mixed_cue": (2, 3),
        "pitch": (2, 3), "speed": (1, 2), "volume": (1, 3)}
    out = tmp_path / "RESULTS.md"
    assert mr.main(["--exp", str(tmp_path), "--eval", str(ev), "--prompts", str(tmp_path / "prompts.tsv"),
                    "--system", f"neural={ev}", "--system", f"prosody={flat}", "--corpus", "mini",
                    "--out", str(out)]) == 0
    text = out.read_text()
    assert ("| neural | 90.9 % (10/11) | 88.9 % (8/9) | 66.7 % (2/3) | 66.7 % (2/3) | 66.7 % (2/3) | 66.7 % (2/3) "
            "| 50.0 % (1/2) | 33.3 % (1/3) |") in text
    # the flat system: no cue moves; the classifier's readings are the same rows' (emotion, mixed)
    assert ("| prosody | 90.9 % (10/11) | 0.0 % (0/9) | 0.0 % (0/3) | 66.7 % (2/3) | 0.0 % (0/3) | 0.0 % (0/3) "
            "| 0.0 % (0/2) | 0.0 % (0/3) |") in text
    assert ("| PromptEVC paper, Table 2 (listeners, ESD; not comparable) | – | 77.6 % | – | 61.3 % | – | 86.4 % "
            "| 89.7 % | 91.5 % |") in text
    # The hint and mixed conversions stay out of the per-level table and the direction check.
    assert "| happy | mid | 0.6 | 2 |" in text and "| sad | mid | 0.6 | 2 |" in text
    ablation = text[text.index("## Direction check per system"):]
    assert "| happy: higher F0 | f0_shift_st | +2.50 st PASS | +0.00 st FAIL |" in ablation
    assert "| passes | | " in ablation
