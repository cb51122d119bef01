"""recipes/pipeline.sh stage logic with a stub `promptevc` (no training): ranges, skipping,
re-running on changed inputs and on changed upstream outputs, failures leaving no done-marker,
resume with the same exp dir, interrupts, torchrun for --ngpu > 1, --ngpu on a CPU machine, tags
that never overwrite each other, paths with spaces, the model pre-flight, and stage 9's table.
The real data prep and feature dump through the pipeline: test_esd_recipe.py."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from recipe_support import process_ends, wait_for

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "recipes" / "pipeline.sh"
STUB = Path(__file__).with_name("stub_promptevc.sh")


@pytest.fixture
def egs(tmp_path):
    """A throw-away egs dir with configs; returns a runner of the pipeline with the stub."""
    d = tmp_path / "egs"
    (d / "conf").mkdir(parents=True)
    for name in ("evaluator", "acoustic", "vocoder"):
        (d / "conf" / f"{name}.yaml").write_text(f"# {name} config\nx: 1\n")
    # One held-out prompt per emotion keeps the test quick (the recipe's list has three levels each).
    (d / "conf" / "convert_prompts.tsv").write_text(
        "# emotion\tintensity\tlevel\tprompt\nneutral\t0\tcontrol\tAn impassive reading, please.\n"
        + "".join(f"{e}\t1\thigh\tPortray a tremendously {a} narrator.\n"
                  for e, a in (("angry", "irate"), ("happy", "jubilant"), ("sad", "crestfallen"),
                               ("surprise", "thunderstruck")))
    )
    log = tmp_path / "stub.log"
    log.write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    torchrun = bin_dir / "torchrun"
    # torchrun stand-in: record the launcher options, then run the command after --no-python.
    torchrun.write_text(
        '#!/usr/bin/env bash\necho "torchrun $*" >> "$STUB_LOG"\n'
        'while [ "$1" != "--no-python" ]; do shift; done; shift; exec "$@"\n'
    )
    torchrun.chmod(0o755)

    def command(*args: str) -> list[str]:
        return [
            "bash", str(PIPELINE), "--corpus", "esd", "--corpus_root", "corpus", "--nj", "2",
            "--evaluator_conf", "conf/evaluator.yaml", "--acoustic_conf", "conf/acoustic.yaml",
            "--vocoder_conf", "conf/vocoder.yaml", "--tag", "t", "--train_vocoder", "true",
            "--vocoder", "", "--eval_args", "--no-asr", "--content", "mel", *args,
        ]

    def environ(fail: str = "", **extra: str) -> dict[str, str]:
        return dict(os.environ, PROMPTEVC=str(STUB), STUB_LOG=str(log), PYTHON=sys.executable,
                    PATH=f"{bin_dir}:{os.environ['PATH']}", STUB_FAIL=fail, **extra)

    def run(*args: str, fail: str = "", check: bool = True, **extra: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(command(*args), cwd=d, env=environ(fail, **extra), capture_output=True, text=True,
                              timeout=240)
        if check and proc.returncode != 0:
            raise AssertionError(f"pipeline failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def calls() -> list[str]:
        lines = log.read_text().splitlines()
        log.write_text("")
        return lines

    run.dir, run.calls, run.command, run.environ, run.bin = d, calls, command, environ, bin_dir
    return run


def tree_digest(*roots: Path) -> dict[str, str]:
    """relative path -> content hash of every file below ``roots`` (what "nothing overwritten" compares)."""
    out = {}
    for root in roots:
        for f in sorted(root.rglob("*")):
            if f.is_file():
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def subcommands(calls: list[str]) -> list[str]:
    return [c.split()[0] for c in calls]


def test_full_run_then_everything_skipped(egs):
    out = egs()
    calls = egs.calls()
    subs = subcommands(calls)
    # Every stage ran, in order, with the exp dir the trainers resume from.
    assert subs[0] == "prepare-data"
    assert subs.count("dump-features") == 2  # the three sets at once, in --nj 2 jobs
    order = ["train-evaluator", "label-intensity", "fit-units", "train", "train-vocoder", "convert", "evaluate"]
    assert [subs.index(s) for s in order] == sorted(subs.index(s) for s in order)
    assert subs.count("convert") == 5  # 4 emotions + the neutral control
    assert any('--prompt Portray a tremendously jubilant narrator. --out-dir exp/t/convert/happy_high' in c
               for c in calls)
    assert subs.count("evaluate") == 2  # conversions + oracle recordings
    train = next(c for c in calls if c.startswith("train "))
    assert "--exp exp/t/acoustic" in train and "--units exp/t/units" in train
    assert "--evaluator exp/t/evaluator/release" in train and "--device cpu" in train
    assert any("make-prompts --data exp/t/data/test --split heldout" in c for c in calls)
    assert any(c.startswith("dump-features") and "--store data/dump/esd" in c for c in calls)
    for n in range(1, 10):
        marker = egs.dir / ("data/esd_english" if n == 1 else "exp/t") / ".done" / f"stage{n}"
        assert marker.is_file(), marker
    # The split feature dump was merged back into one feats.scp per data dir of the tag.
    feats = (egs.dir / "exp/t/data/train/feats.scp").read_text().splitlines()
    assert len(feats) == 10 and feats == sorted(feats)
    assert len((egs.dir / "exp/t/data/dev/feats.scp").read_text().splitlines()) == 10
    for n in range(1, 10):
        assert f"stage {n} (" in out.stdout
    assert "done in" in out.stdout

    # Stage 9's table: the stub moves every emotion in ESD's direction, so all checks pass.
    results = (egs.dir / "RESULTS.md").read_text()
    assert "| happy | higher F0 | f0_shift_st |" in results
    assert "6 of 6 directions pass" in results and "FAIL |" not in results
    assert (egs.dir / "exp/t/RESULTS.md").is_file()

    # Second run: every stage is skipped, nothing is called.
    out = egs()
    assert egs.calls() == []
    assert out.stdout.count("already done") == 9


def test_stage8_systems_and_held_out_prompts(egs):
    """--convert_systems converts the same prompts with each system into its own folder, stage 9
    evaluates each and writes the control and ablation tables; a training phrasing is refused."""
    systems = "neural neural_parser neural_projection prosody"
    egs("--stop_stage", "7")
    egs.calls()
    egs("--stage", "8", "--convert_systems", systems)
    calls = egs.calls()
    convert = [c for c in calls if c.startswith("convert")]
    assert len(convert) == 20  # 5 prompts x 4 systems
    parser = [c for c in convert if "--control parser" in c]
    assert len(parser) == 5 and all("exp/t/convert/neural_parser/" in c for c in parser)
    assert sum("--prompt-mapper projection" in c and "exp/t/convert/neural_projection/" in c for c in convert) == 5
    prosody = [c for c in convert if "--engine prosody" in c]
    assert len(prosody) == 5 and not any("--model" in c or "--vocoder" in c for c in prosody)
    first = [c for c in convert if "--out-dir exp/t/convert/happy_high" in c]
    assert len(first) == 1 and "--engine neural --model exp/t/acoustic/release" in first[0]
    for sub in ("neural_parser", "neural_projection", "prosody"):
        assert (egs.dir / f"exp/t/convert/{sub}/pairs.csv").is_file()
        assert (egs.dir / f"exp/t/eval_{sub}/utterances.csv").is_file()
    assert sum(c.startswith("evaluate") for c in calls) == 5  # 4 systems + the oracle recordings
    results = (egs.dir / "RESULTS.md").read_text()
    assert "## Control (the form of PromptEVC's Table 2" in results
    assert "| neural_projection |" in results and "| PromptEVC paper, Table 2" in results
    assert "| ESD direction | measure | neural | neural_parser | neural_projection | prosody |" in results
    # A training phrasing in the prompt list: stage 8 stops before converting anything.
    (egs.dir / "conf" / "convert_prompts.tsv").write_text("neutral\t0\tcontrol\tSpeak normally.\n")
    proc = egs("--stage", "8", check=False)
    assert proc.returncode != 0
    assert "cause: error: conf/convert_prompts.tsv:1: 'Speak normally.' is a phrasing of the training prompt" in proc.stdout
    assert not any(c.startswith("convert") for c in egs.calls())
    # An unknown system is refused before any stage runs.
    proc = egs("--stage", "8", "--convert_systems", "neural fancy", check=False)
    assert proc.returncode != 0 and "unknown system 'fancy'" in proc.stderr


def test_stage_range_and_changed_inputs(egs):
    egs("--stop_stage", "5")
    egs.calls()
    # Only stages 3-4, forced: nothing before or after them runs.
    out = egs("--stage", "3", "--stop_stage", "4", "--force_stages", "3 4")
    subs = subcommands(egs.calls())
    assert set(subs) == {"train-evaluator", "label-intensity", "make-prompts"}
    assert "stage 5" not in out.stdout and "stage 2" not in out.stdout
    # A changed evaluator config re-runs stage 3 and, through the hash chain, every later stage.
    (egs.dir / "conf/evaluator.yaml").write_text("x: 2\n")
    out = egs("--stop_stage", "5", "--dry_run", "true")
    assert "stage 2 (feature dump): already done" in out.stdout
    assert "stage 3 (emotion evaluator): would run (its options or configs changed)" in out.stdout
    assert "stage 5 (content units): would run" in out.stdout
    assert egs.calls() == []  # a dry run runs nothing
    # A later stage alone does not build on the stale evaluator: it names the stage to run first.
    proc = egs("--stage", "5", "--stop_stage", "5", check=False)
    assert proc.returncode != 0 and "stage 5 needs stage 3 (emotion evaluator)" in proc.stderr
    assert "run from --stage 3" in proc.stderr and egs.calls() == []
    (egs.dir / "conf/evaluator.yaml").write_text("# evaluator config\nx: 1\n")
    # Deleting an output makes its stage run again even though the marker is there.
    (egs.dir / "exp/t/data/test/units.scp").unlink()
    egs("--stage", "5", "--stop_stage", "5")
    assert subcommands(egs.calls()) == ["fit-units"]


def test_failed_stage_is_not_marked_and_rerun_resumes(egs):
    proc = egs("--stop_stage", "6", fail="train", check=False)
    assert proc.returncode != 0
    assert "stage 6 (acoustic model + prompt mapper): FAILED" in proc.stdout
    assert "failed on purpose" in proc.stdout  # the tail of the job log is shown
    assert (egs.dir / "exp/t/.done/stage5").is_file()
    assert not (egs.dir / "exp/t/.done/stage6").exists()
    first = [c for c in egs.calls() if c.startswith("train ")]
    # Same command again: stages 1-5 are skipped, training is called with the same exp dir, so
    # the trainer resumes from the checkpoint it left there.
    egs("--stop_stage", "6")
    calls = egs.calls()
    assert subcommands(calls) == ["train"]
    assert calls[0] == first[0]
    assert (egs.dir / "exp/t/.done/stage6").is_file()
    # The footer names the cause and its fix, not just "run it again": a model the Hub cannot give.
    msg = ("promptevc train: error: text encoder 'FacebookAI/roberta-base': HF_HUB_OFFLINE=1 is set and it is not "
           "in the Hugging Face cache; without the Hub use the packaged MiniLM")
    proc = egs("--stage", "6", "--stop_stage", "6", "--force_stages", "6", fail="train", check=False,
               STUB_FAIL_MSG=msg)
    assert proc.returncode != 0 and f"cause: {msg}" in proc.stdout
    fix = next(line for line in proc.stdout.splitlines() if "fix:" in line)
    assert "run without the Hub" in fix and "--content mel" in proc.stdout and "hifigan-universal" in proc.stdout


def test_multi_gpu_training_goes_through_torchrun(egs):
    egs("--stop_stage", "5")
    egs.calls()
    # A cluster back-end for GPU jobs (as slurm.sh): the GPUs are on its nodes, not checked here.
    cluster = egs.bin / "cluster.sh"
    cluster.write_text(f'#!/usr/bin/env bash\necho "cluster $*" >> "$STUB_LOG"\nexec {REPO}/recipes/utils/run_local.sh "$@"\n')
    cluster.chmod(0o755)
    (egs.dir / "cmd.sh").write_text(f"cuda_cmd={cluster}\n")
    # The feature dump with GPUs: one job per GPU, each asking for one GPU, the workers shared out.
    egs("--stage", "2", "--stop_stage", "2", "--force_stages", "2", "--ngpu", "2", "--nj", "8")
    calls = egs.calls()
    assert [c.split()[:3] for c in calls if c.startswith("cluster")] == [["cluster", "--gpu", "1"]]
    dumps = [c for c in calls if c.startswith("dump-features")]
    assert len(dumps) == 2 and all("--nj 4 " in c and c.endswith("--device cuda") for c in dumps)
    egs("--stage", "6", "--stop_stage", "6", "--ngpu", "2")
    calls = [c for c in egs.calls() if not c.startswith("cluster")]
    assert calls[0].startswith("torchrun --standalone --nnodes 1 --nproc_per_node 2 --no-python")
    assert calls[1].startswith("train ") and calls[1].endswith("--device cuda")


def test_bad_options_are_reported(egs):
    proc = egs("--no_such_option", "1", check=False)
    assert proc.returncode != 0 and "unknown option --no_such_option" in proc.stderr
    proc = egs("--redo", "maybe", check=False)
    assert proc.returncode != 0 and "must be true or false" in proc.stderr
    proc = egs("--corpus_root", "", "--stop_stage", "1", check=False)
    assert proc.returncode != 0 and "no corpus: pass --corpus_root DIR" in proc.stdout + proc.stderr
    proc = egs("--nj", "0", check=False)
    assert proc.returncode != 0 and "--nj must be a positive number" in proc.stderr


def test_cross_fitted_intensity_labels(egs):
    # --intensity_folds 2: two fold evaluators in stage 3; stage 4 labels the training set with
    # both (each labels the fold it did not train on), dev and test with the stage 3 evaluator.
    egs("--stop_stage", "4", "--intensity_folds", "2")
    calls = egs.calls()
    folds = [c for c in calls if c.startswith("train-evaluator") and "--fold" in c]
    assert len(folds) == 2
    assert "--fold 1/2" in folds[0] and "--exp exp/t/evaluator_folds/fold1" in folds[0]
    assert "--fold 2/2" in folds[1] and "--exp exp/t/evaluator_folds/fold2" in folds[1]
    labels = {c.split("--data ")[1].split()[0]: c for c in calls if c.startswith("label-intensity")}
    assert ("--cross-fit exp/t/evaluator_folds/fold1/release exp/t/evaluator_folds/fold2/release"
            in labels["exp/t/data/train"])
    for s in ("dev", "test"):
        assert "--evaluator exp/t/evaluator/release" in labels[f"exp/t/data/{s}"]
        assert "--cross-fit" not in labels[f"exp/t/data/{s}"]
    # Without folds the stage 3 evaluator labels every set (and turning folds off re-runs 3 and 4).
    egs("--stop_stage", "4")
    calls = egs.calls()
    assert not any("--fold" in c or "--cross-fit" in c for c in calls)
    assert sum(c.startswith("label-intensity") for c in calls) == 3
    proc = egs("--intensity_folds", "1", check=False)
    assert proc.returncode != 0 and "--intensity_folds must be 0 (off) or a number of folds >= 2" in proc.stderr


def test_ngpu_defaults_to_the_visible_gpus_and_a_missing_gpu_is_one_line(egs):
    out = egs("--stop_stage", "3", "--ngpu", "auto")
    assert "ngpu 0 (visible here), device cpu" in out.stdout
    train = next(c for c in egs.calls() if c.startswith("train-evaluator"))
    assert train.endswith("--device cpu")
    for args in (("--ngpu", "1"), ("--device", "cuda")):
        proc = egs(*args, check=False)
        assert proc.returncode == 1 and egs.calls() == []
        err = proc.stderr.strip().splitlines()
        assert len(err) == 1 and "0 GPU(s) usable here" in err[0] and "--ngpu 0 --device cpu" in err[0]
        assert "Traceback" not in proc.stdout + proc.stderr


def test_paths_with_spaces_end_to_end(egs):
    args = ("--data_root", "my data", "--exp_root", "my exp", "--corpus_root", "the corpus")
    out = egs(*args)
    assert "outputs are missing" not in out.stdout + out.stderr
    assert (egs.dir / "my exp/t/.done/stage9").is_file() and (egs.dir / "my data/esd_english/.done/stage1").is_file()
    # Logged commands are shell-quoted: the one of stage 5 pastes back as the same argument list.
    line = next(x for x in out.stdout.splitlines() if " fit-units " in x)
    logged = line.split("$ ", 1)[1].split("   (log: ")[0]
    argv = subprocess.run(["bash", "-c", f'printf "%s\\n" {logged}'], capture_output=True, text=True).stdout
    assert argv.splitlines()[1:4] == ["fit-units", "--data", "my exp/t/data/train"]
    egs.calls()
    out = egs(*args)
    assert egs.calls() == [] and out.stdout.count("already done") == 9


def test_tags_never_overwrite_each_other(egs):
    egs("--stop_stage", "5", "--tag", "en")
    english = tree_digest(egs.dir / "exp/en", egs.dir / "data/esd_english")
    egs.calls()
    egs("--stop_stage", "5", "--tag", "zh", "--language", "mandarin")
    subs = subcommands(egs.calls())
    assert subs[0] == "prepare-data" and "train-evaluator" in subs
    assert tree_digest(egs.dir / "exp/en", egs.dir / "data/esd_english") == english
    assert (egs.dir / "data/esd_mandarin/train/wav.scp").is_file() and (egs.dir / "exp/zh/data/train/units.scp").is_file()
    # The same tag with another language is refused: it would replace the tag's data.
    proc = egs("--stop_stage", "5", "--tag", "en", "--language", "mandarin", check=False)
    assert proc.returncode != 0 and "tag 'en'" in proc.stderr and "--tag en_mandarin" in proc.stderr
    assert tree_digest(egs.dir / "exp/en", egs.dir / "data/esd_english") == english
    # A second tag with the English data reuses the data prep (stage 1 is shared).
    egs.calls()
    out = egs("--stop_stage", "2", "--tag", "en2")
    assert "stage 1 (data prep): already done" in out.stdout and subcommands(egs.calls()) == ["dump-features"] * 2


def test_changed_dump_settings_need_redo_dump(egs):
    egs("--stop_stage", "3", "--f0_method", "harvest")
    egs.calls()
    proc = egs("--stop_stage", "3", "--f0_method", "dio", check=False)
    assert proc.returncode != 0 and egs.calls() == []
    assert "f0: harvest -> dio" in proc.stderr and "--redo_dump true" in proc.stderr
    assert (egs.dir / "exp/t/.done/stage2").is_file()  # the finished dump is still marked done
    egs("--stop_stage", "3", "--f0_method", "dio", "--redo_dump", "true")
    assert subcommands(egs.calls()) == ["dump-features", "dump-features", "train-evaluator"]
    # Same command again: nothing to do (redo_dump does not force anything by itself).
    egs("--stop_stage", "3", "--f0_method", "dio", "--redo_dump", "true")
    assert egs.calls() == []


def test_retrained_evaluator_reruns_the_stages_after_it(egs):
    egs("--stop_stage", "6")
    egs.calls()
    egs("--stage", "3", "--stop_stage", "3", "--force_stages", "3")  # a retrained evaluator
    egs.calls()
    out = egs("--stop_stage", "6", "--dry_run", "true")
    assert "stage 2 (feature dump): already done" in out.stdout
    assert "stage 4 (intensity labels + prompts): would run (the outputs of an earlier stage changed)" in out.stdout
    proc = egs("--stage", "6", "--stop_stage", "6", check=False)
    assert proc.returncode != 0 and "stage 6 needs stage 4 (intensity labels + prompts)" in proc.stderr
    egs("--stop_stage", "6")
    assert subcommands(egs.calls()) == ["label-intensity", "make-prompts"] * 3 + ["fit-units", "train"]
    # Finished trainings of a stage that re-runs on changed inputs are kept aside and trained
    # afresh (resuming would stop at their last step, trained on the old labels).
    exp = egs.dir / "exp/t"
    for name in ("evaluator", "acoustic"):
        stale = sorted(exp.glob(f"{name}.stale-*"))
        assert len(stale) == 1 and (stale[0] / "checkpoints/step_1.pt").is_file(), name
        assert sorted(p.name for p in (exp / name / "checkpoints").iterdir()) == ["step_1.pt"], name


def test_interrupt_stops_the_stage_and_leaves_it_unmarked(egs, tmp_path):
    egs("--stop_stage", "2")
    pidfile = tmp_path / "stub.pid"
    env = egs.environ(STUB_SLEEP="train-evaluator", STUB_PIDFILE=str(pidfile))
    proc = subprocess.Popen(egs.command("--stop_stage", "3"), cwd=egs.dir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: pidfile.is_file() and pidfile.read_text().strip())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted during stage 3" in err and "Run the same command" in err
    assert not (egs.dir / "exp/t/.done/stage3").exists()
    assert process_ends(int(pidfile.read_text()))  # the sleeping trainer went with the stage's process group
    egs.calls()
    egs("--stop_stage", "3")
    assert subcommands(egs.calls()) == ["train-evaluator"]


def test_missing_models_fail_before_any_stage_with_the_offline_command(egs):
    (egs.dir / "conf/acoustic.yaml").write_text("model:\n  descriptor: {encoder: FacebookAI/roberta-base}\n")
    proc = egs("--content", "hubert", "--vocoder", "microsoft/speecht5_hifigan", "--train_vocoder", "false",
               check=False)
    assert proc.returncode == 1 and egs.calls() == []
    err = proc.stderr
    assert "stage 2 needs the content model 'facebook/hubert-base-ls960': HF_HUB_OFFLINE=1" in err
    assert "stage 6 needs the prompt text encoder 'FacebookAI/roberta-base'" in err
    assert "stage 8 needs the vocoder 'microsoft/speecht5_hifigan'" in err
    offline = next(line for line in err.splitlines() if "To run without the Hugging Face Hub:" in line)
    assert "--content mel" in offline and "--vocoder hifigan-universal" in offline
    assert "model.descriptor.encoder=packaged:all-MiniLM-L6-v2" in offline
    # A stage range that needs none of them runs.
    egs("--stop_stage", "1", "--content", "hubert")


@pytest.mark.slow  # four pipeline runs, ~20 s on a busy 2-core machine
def test_mandarin_results_are_separate_and_say_when_content_is_not_measured(egs):
    egs("--tag", "en")
    english = (egs.dir / "RESULTS.md").read_text()
    egs.calls()
    egs("--tag", "zh", "--language", "mandarin")
    evaluate = [c for c in egs.calls() if c.startswith("evaluate")]
    assert evaluate and all("--no-asr" in c for c in evaluate)
    zh = (egs.dir / "RESULTS_mandarin.md").read_text()
    assert zh.startswith("# Results: esd (zh)") and "no recogniser for mandarin was given" in zh
    assert (egs.dir / "RESULTS.md").read_text() == english
    # With a Mandarin recogniser it is passed through to promptevc evaluate.
    (egs.dir / "whisper-zh").mkdir()  # a local ASR folder (a Hub id is checked by the pre-flight)
    egs("--tag", "zh", "--language", "mandarin", "--asr_model", "whisper-zh", "--stage", "9")
    evaluate = [c for c in egs.calls() if c.startswith("evaluate")]
    assert evaluate and all("--asr whisper-zh" in c for c in evaluate)
    assert "not measured" not in (egs.dir / "RESULTS_mandarin.md").read_text()
    # A second English tag never replaces the first one's RESULTS.md: it writes its own.
    egs("--tag", "en2")
    assert (egs.dir / "RESULTS.md").read_text() == english
    assert (egs.dir / "RESULTS_en2.md").read_text().startswith("# Results: esd (en2)")


def test_config_overrides_in_scripts_use_the_current_vocabulary():
    # Every `--set key=value` a script passes must survive check_renamed (recipe stage 7 once
    # passed data.num_workers, refused since the one training vocabulary).
    import re
    from pathlib import Path

    from promptevc.train.config import RENAMED

    root = Path(__file__).resolve().parents[2]
    files = [root / "recipes/pipeline.sh", *root.glob("egs/*/conf/*.conf"), *root.glob("bench/*.py"),
             *root.glob("bench/*.sh"), *root.glob("egs/*/run.sh")]
    found = {}
    for path in files:
        for key in re.findall(r"\b((?:train|data|optim|loss|model|init)\.[a-z_][a-z0-9_.]*)=", path.read_text()):
            found.setdefault(key, path.relative_to(root))
    assert "train.num_workers" in found  # the scan sees the pipeline's overrides
    stale = {k: str(p) for k, p in found.items() if k in RENAMED}
    assert not stale, stale
