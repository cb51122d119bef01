"""Training cost of the base configs: time and peak memory per 1k steps, for each trainer.

    python bench/bench_train.py [--device cpu|cuda] [--steps N] [--precision auto|fp32|bf16|fp16]
                                [--tasks acoustic evaluator vocoder] [--threads 2]

Synthesises a small emotional corpus (numpy; 40 utterances of 2.5-3.5 s, ESD-like lengths) in a
temporary folder, dumps its features (mel content, GE2E, DIO) and fits 100 units, then trains
each base config through the real loop (``promptevc.train.loop.fit``) for ``--steps`` steps:

- ``acoustic_base`` (length-bucketed batches: up to 32 utterances, at most 8000 padded frames),
  with a random-weight evaluator of ``evaluator_base`` for e_ref and the emotion loss, and a
  random-weight RoBERTa-base text encoder (the config's, not downloaded);
- ``evaluator_base`` (32 crops of at most 400 frames, class-balanced);
- ``vocoder_v1`` (HiFi-GAN V1 + MPD + MSD, 16 segments of 8192 samples).

Each task runs in a fresh process. Time per step is the steady state: the second half of the
steps (the first half includes warm-up: allocator, cuDNN autotuning, the text-encoder cache).
Memory: peak GPU memory allocated by torch on a GPU, the process's peak RSS on a CPU. The last
line is JSON. Weights are random: speed and memory do not depend on them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = {"acoustic": "acoustic_base", "evaluator": "evaluator_base", "vocoder": "vocoder_v1"}


def make_corpus(root: Path) -> None:
    """Data dir ``root/train`` with features and units (``root/units``), and a random evaluator release."""
    from promptevc.config import AudioConfig, to_dict
    from promptevc.data.corpora.synthetic import write_synthetic_corpus
    from promptevc.data.dump import dump_features
    from promptevc.data.units import apply_units, fit_units
    from promptevc.features.content import ContentConfig
    from promptevc.models.evaluator import EmotionEvaluator
    from promptevc.release import write_release
    from promptevc.train.config import load_train_config, resolve_config_path
    from promptevc.train.evaluator import EvaluatorExperimentConfig

    data = write_synthetic_corpus(root, {"train": 4}, seconds=(2.5, 3.5))["train"]
    dump_features(data, content=ContentConfig(type="mel", k=100), speaker_backbone="ge2e", f0_method="dio",
                  progress=False)
    apply_units(fit_units(data, root / "units", k=100, n_iter=5, progress=False), data, progress=False)
    ev_cfg = load_train_config(EvaluatorExperimentConfig, resolve_config_path("base", "evaluator")).model
    write_release(root / "evaluator", kind="evaluator", config={"model": to_dict(ev_cfg), "audio": to_dict(AudioConfig())},
                  tensors=EmotionEvaluator.from_config(ev_cfg, 80).state_dict())


def build_task(name: str, root: Path, steps: int):
    from promptevc.train.config import load_train_config, resolve_config_path

    half = max(1, steps // 2)
    sets = [f"train.max_steps={2 * half}", f"train.log_every={half}", "train.valid_every=1000000",
            "train.save_every=1000000", "train.num_workers=0"]
    if name == "acoustic":
        from transformers import AutoTokenizer, RobertaConfig, RobertaModel

        from promptevc.prompt.encoder import packaged_minilm_path
        from promptevc.train.acoustic import AcousticExperimentConfig, AcousticTask

        cfg = load_train_config(AcousticExperimentConfig, resolve_config_path(TASKS[name], name), sets)
        text_encoder = (AutoTokenizer.from_pretrained(str(packaged_minilm_path())), RobertaModel(RobertaConfig()).eval())
        return AcousticTask(cfg, root / "train", units_dir=root / "units", evaluator=str(root / "evaluator"),
                            text_encoder=text_encoder)
    if name == "evaluator":
        from promptevc.train.evaluator import EvaluatorExperimentConfig, EvaluatorTask

        cfg = load_train_config(EvaluatorExperimentConfig, resolve_config_path(TASKS[name], name), sets)
        return EvaluatorTask(cfg, root / "train")
    from promptevc.train.vocoder import VocoderExperimentConfig, VocoderTask

    cfg = load_train_config(VocoderExperimentConfig, resolve_config_path(TASKS[name], name),
                            [*sets, "data.valid_utts=1", "data.valid_max_frames=50"])
    return VocoderTask(cfg, root / "train")


def run_one(name: str, root: Path, args: argparse.Namespace) -> dict:
    """Train one task in this process; its figures as a dict."""
    import torch

    from promptevc.train.experiment import read_metrics
    from promptevc.train.loop import fit

    torch.set_num_threads(args.threads)
    task = build_task(name, root, args.steps)
    exp = root / f"exp_{name}"
    t0 = time.perf_counter()
    fit(task, exp, device=args.device, precision=args.precision, progress=False)
    wall = time.perf_counter() - t0
    rows = [r for r in read_metrics(exp) if r["split"] == "train"]
    last_step = max(int(r["step"]) for r in rows)
    last = {r["name"]: float(r["value"]) for r in rows if int(r["step"]) == last_step}
    tc = task.train_config
    out = {"config": TASKS[name], "steps": last_step, "steps_per_s": last["steps_per_s"],
           "s_per_1k_steps": 1000.0 / last["steps_per_s"], "wall_s": wall,
           "batch": f"<= {tc.batch_size}" + (f" x <= {tc.max_batch_frames} frames" if name != "vocoder" else
                                            f" x {task.config.data.segment_frames * task.config.audio.hop_length} samples")}
    if "gpu_mem_gb" in last:
        out["peak_gpu_mem_gb"] = last["gpu_mem_gb"]
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--steps", type=int, default=None, help="steps per task (default: 4 on CPU, 100 on a GPU)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one task, print JSON
    parser.add_argument("--root", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps is None:
        args.steps = 100 if args.device.startswith("cuda") else 4
    if args.one:
        print(json.dumps(run_one(args.one, Path(args.root), args)))
        return

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_train.") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_corpus(root)
        print(f"corpus: 40 utterances, features and units in {time.perf_counter() - t0:.0f} s "
              f"(device {args.device}, precision {args.precision}, {args.steps} steps per task)")
        for name in args.tasks:
            cmd = [sys.executable, __file__, "--one", name, "--root", tmp, "--device", args.device,
                   "--steps", str(args.steps), "--precision", args.precision, "--threads", str(args.threads)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                results[name] = {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
                continue
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{'task':10s} {'config':15s} {'batch':28s} {'h / 1k steps':>13s} {'steps/s':>8s} {'peak memory':>14s}")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:10s} error: {r['error']}")
            continue
        mem = f"{r['peak_gpu_mem_gb']:.2f} GiB GPU" if "peak_gpu_mem_gb" in r else f"{r['peak_rss_gb']:.2f} GiB RSS"
        print(f"{name:10s} {r['config']:15s} {r['batch']:28s} {r['s_per_1k_steps'] / 3600:13.2f} {r['steps_per_s']:8.3f} "
              f"{mem:>14s}")
    print(json.dumps({"device": args.device, "precision": args.precision, "steps": args.steps, **results}))


if __name__ == "__main__":
    main()
