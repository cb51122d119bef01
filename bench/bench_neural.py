"""Neural engine speed and memory on this CPU (issue 13 item 5), beside the prosody engine.

One run measures, each in a fresh worker process (so peak RSS belongs to that configuration):

- ``prosody``: the embedded prosody engine;
- ``neural+speecht5``: the neural engine (base acoustic config) with the SpeechT5HifiGan
  architecture of the default ``microsoft/speecht5_hifigan``;
- ``neural+fast``: the neural engine with the fast vocoder named by ``--fast-vocoder``
  (default ``vocos``: our Vocos generator at the paper's size on the base AudioConfig, the fast
  vocoder the recipe trains; ``vocos-small``, ``hifigan-v1/v2/v3``, or any name or path
  ``promptevc.models.vocoder.load_vocoder`` accepts, e.g. a trained release, also work).

Each conversion goes through the engine session contract (``start`` -> ``observe`` -> ``convert``,
the path the Converter drives) on a ``--seconds`` (default 10 s) synthetic utterance, prompt "very
happy with a hint of surprise", warm (after one warm-up call), best and median of ``--repeats``.
The random duration predictor's output is replaced by the source's run lengths (see
:func:`copy_source_rhythm`) so the output is as long as the input, as with a trained model.
For the neural engine the time is also split into pass 1 (F0 by DIO + energy + GE2E speaker
embedding), content (HuBERT-base run to layer 6 + k-means), prompt (descriptor + DDIM prompt
mapper), acoustic model and vocoder.

Weights are random: HuBERT-base and RoBERTa-base are built from their transformers configs
(``HubertConfig()`` with only the 6 layers used, as ``ContentEncoder`` builds it; ``RobertaConfig()``),
because the hub is unreachable here; speed and memory do not depend on the weights. The GE2E
weights are the real ones shipped in resemblyzer. ``--threads`` sets torch's intra-op threads
(default 2: this machine's cores). ``--device cuda`` runs the models on a GPU and adds each
configuration's peak GPU memory (``bench/gpu_smoke.sh`` uses it).

Usage::

    python bench/bench_neural.py [--threads 2] [--seconds 10] [--repeats 3] [--fast-vocoder vocos] [--device cpu]

Prints a table, the ratios between configurations and a final JSON line. On a loaded machine
wall time includes waiting for a core; CPU-s/s (CPU seconds per audio second) does not.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "promptevc" / "configs" / "acoustic_base.yaml"
PROMPT = "very happy with a hint of surprise"
TARGET_RTF, TARGET_RSS_MB = 0.5, 1500.0


def build_vocoder(name: str, audio, device: str = "cpu"):
    import torch  # noqa: F401

    if name == "speecht5":
        from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

        from promptevc.models.vocoder.speecht5 import SpeechT5Vocoder

        return SpeechT5Vocoder(SpeechT5HifiGan(SpeechT5HifiGanConfig()).eval()).eval().to(device)
    if name in ("vocos", "vocos-small"):
        from promptevc.models.vocoder.base import GeneratorVocoder
        from promptevc.models.vocoder.registry import build_generator
        from promptevc.models.vocoder.vocos import vocos_preset

        gen = build_generator("vocos", vocos_preset("small" if name == "vocos-small" else "base"), audio).eval()
        return GeneratorVocoder(gen, audio, name=name).eval().to(device)
    if name.startswith("hifigan-v"):
        from promptevc.models.vocoder.hifigan import HiFiGANGenerator, HiFiGANVocoder, hifigan_preset

        gen = HiFiGANGenerator(hifigan_preset(name.split("-")[1]), n_mels=audio.n_mels).eval()
        return HiFiGANVocoder(gen, audio, name=name).eval().to(device)
    from promptevc.models.vocoder import load_vocoder

    return load_vocoder(name, device=device, audio_config=audio)


def build_neural(vocoder_name: str, device: str = "cpu"):
    import torch
    from transformers import AutoTokenizer, HubertConfig, HubertModel, RobertaConfig, RobertaModel

    from promptevc.config import load_yaml
    from promptevc.engines.neural import NeuralEngine
    from promptevc.features.content import ContentConfig, UnitExtractor
    from promptevc.models.evc import build_model
    from promptevc.models.speaker import SpeakerBackbone
    from promptevc.prompt.encoder import packaged_minilm_path
    from promptevc.train.acoustic import AcousticExperimentConfig

    torch.manual_seed(0)
    cfg = load_yaml(AcousticExperimentConfig, CONFIG, ["model.ref_dim=128", "model.speaker.in_dim=256"])
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_minilm_path()))
    text_encoder = RobertaModel(RobertaConfig()).eval()  # roberta-base architecture, random weights
    model = build_model(cfg, text_encoder=(tokenizer, text_encoder)).eval().requires_grad_(False)
    content = ContentConfig(type="hubert", layer=6, k=100)
    units = UnitExtractor(content, torch.randn(100, 768), audio=cfg.audio, device=device)
    encoder = units.encoder

    def load_hubert():  # lazily on first use, as ContentEncoder loads the real weights
        if encoder._model is None:
            encoder._model = HubertModel(HubertConfig(num_hidden_layers=content.layer)).eval().requires_grad_(False)
            encoder._model.to(device)
        return encoder._model

    encoder._load_hubert = load_hubert
    vocoder = build_vocoder(vocoder_name, cfg.audio, device)
    return NeuralEngine(model.to(device), units, SpeakerBackbone("ge2e", device=device), vocoder, {"evaluator": None},
                        ROOT, device)


def copy_source_rhythm(engine) -> None:
    """Random weights predict arbitrary durations (outputs several times longer or shorter than the
    input); a trained model stays near the source's rhythm. The duration predictor still runs in
    full, but its output is replaced by the source's own run lengths, so the output has the
    input's length and the timings are those of a realistic conversion."""
    import torch

    last: dict = {}
    real_units, predictor = engine.chunk_units, engine.model.duration
    real_forward = predictor.forward

    def chunk_units(chunk):  # remember the run lengths of the chunk being converted
        ids, runs = real_units(chunk)
        last["runs"] = runs
        return ids, runs

    def forward(h, mask, cond):
        target = torch.log1p(torch.from_numpy(last["runs"]).float())
        return real_forward(h, mask, cond) * 0 + target[None, : h.shape[1]].to(h)

    engine.chunk_units = chunk_units
    predictor.forward = forward


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeats: int) -> dict:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        _sync()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"best": min(wall), "median": statistics.median(wall), "cpu": statistics.median(cpu)}


def worker(kind: str, args: argparse.Namespace) -> dict:
    """One configuration in this process; returns its figures (RSS = this process's peak)."""
    import numpy as np
    import torch

    from promptevc.prompt.control import EmotionControl
    from promptevc.utils.synth import synth_speech

    torch.set_num_threads(args.threads)
    control = EmotionControl.from_label("happy", 0.8, prompt=PROMPT)
    out: dict = {"kind": kind}
    if kind == "prosody":
        from promptevc.engines.prosody import ProsodyEngine

        engine = ProsodyEngine()
        wav = synth_speech(150.0, args.seconds, sample_rate=engine.audio.sample_rate, seed=1)
        out["total"] = timed(lambda: engine.convert(wav, control, seed=0), args.repeats)
    else:
        engine = build_neural("speecht5" if kind == "neural+speecht5" else args.fast_vocoder, args.device)
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        sr = engine.audio.sample_rate
        wav = synth_speech(150.0, args.seconds, sample_rate=sr, seed=1)
        copy_source_rhythm(engine)

        def convert():
            with torch.inference_mode():
                return engine.convert(wav, control, seed=0)

        # Reading a new prompt (text encoder forward) before the engine releases the encoder.
        descriptor = engine.model.descriptor
        read = timed(lambda: (descriptor._cache.clear(), engine.reader._cache.clear(), engine.reader.read(PROMPT)), 1)
        out["total"] = timed(convert, args.repeats)
        # Where the time goes (one pass each, after the warm-up above).
        from promptevc.engines.neural import SourceAnalysis

        def pass1():
            acc = SourceAnalysis(engine)
            acc.observe(wav)
            return acc.finish()

        spk, stats, _ = pass1()
        ids, _ = engine.chunk_units(wav)
        cond = engine.condition(control)
        emb = engine.reader.embed(cond.text, 0)
        parts = {
            "pass1 (F0, energy, speaker)": timed(pass1, 1),
            "content (HuBERT-6 + k-means)": timed(lambda: engine.chunk_units(wav), 1),
            "new prompt (text encoder)": read,
            "prompt mapper (DDIM)": timed(lambda: engine.reader.embed(cond.text, 0), 1),
            "acoustic model": timed(lambda: engine._acoustic([(ids, spk, stats)], [cond], [emb]), 1),
        }
        mel = engine._acoustic([(ids, spk, stats)], [cond], [emb])["mel"]
        with torch.inference_mode():
            parts["vocoder"] = timed(lambda: engine.vocoder(mel), 1)
        out["parts"] = {k: v["median"] / args.seconds for k, v in parts.items()}
        out["vocoder"] = getattr(engine.vocoder, "name", kind)
        y = convert()
        assert np.isfinite(y).all()
        out["output_seconds"] = len(y) / sr
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if kind != "prosody" and args.device.startswith("cuda"):
        out["gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fast-vocoder", default="vocos",
                        help="fast vocoder: vocos, vocos-small, hifigan-v1/v2/v3 (our generator configs, random "
                             "weights) or a name/path load_vocoder accepts (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device of the neural models (default: %(default)s)")
    parser.add_argument("--configs", nargs="+", default=["prosody", "neural+speecht5", "neural+fast"])
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    print(f"{args.seconds:.0f} s input, {args.threads} threads, device {args.device}, load average "
          f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    results = {}
    for kind in args.configs:
        cmd = [sys.executable, __file__, "--worker", kind, "--threads", str(args.threads), "--seconds",
               str(args.seconds), "--repeats", str(args.repeats), "--fast-vocoder", args.fast_vocoder,
               "--device", args.device]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{kind}: failed\n{proc.stderr[-2000:]}")
            continue
        results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])

    print(f"\n{'configuration':18s} {'RTF best':>9s} {'RTF med':>8s} {'CPU-s/s':>8s} {'peak RSS MB':>12s}")
    for kind, r in results.items():
        t = r["total"]
        gpu = f"  peak GPU {r['gpu_mb']:.0f} MB" if "gpu_mb" in r else ""
        print(f"{kind:18s} {t['best'] / args.seconds:9.3f} {t['median'] / args.seconds:8.3f} "
              f"{t['cpu'] / args.seconds:8.2f} {r['rss_mb']:12.0f}{gpu}")
    for kind, r in results.items():
        if "parts" in r:
            parts = ", ".join(f"{k} {v:.3f}" for k, v in r["parts"].items())
            print(f"  {kind} ({r['vocoder']}) RTF by stage: {parts}")
    names = list(results)
    if len(names) > 1:
        print("\nratios (row / column), RTF best | peak RSS:")
        for a in names:
            cells = []
            for b in names:
                ra = results[a]["total"]["best"] / results[b]["total"]["best"]
                cells.append(f"{b}: {ra:5.2f}x | {results[a]['rss_mb'] / results[b]['rss_mb']:4.2f}x")
            print(f"  {a:18s} " + "; ".join(cells))
    summary = {
        "bench": "neural", "seconds": args.seconds, "threads": args.threads, "device": args.device,
        "load": round(os.getloadavg()[0], 2),
        "targets": {"rtf": TARGET_RTF, "rss_mb": TARGET_RSS_MB},
        "results": {k: {"rtf_best": round(r["total"]["best"] / args.seconds, 4),
                        "rtf_median": round(r["total"]["median"] / args.seconds, 4),
                        "cpu_s_per_s": round(r["total"]["cpu"] / args.seconds, 4),
                        "rss_mb": round(r["rss_mb"], 1),
                        **({"gpu_mb": round(r["gpu_mb"], 1)} if "gpu_mb" in r else {}),
                        **({"stages_rtf": {k2: round(v, 4) for k2, v in r["parts"].items()}} if "parts" in r else {})}
                    for k, r in results.items()},
    }
    if "neural+fast" in results:
        fast = summary["results"]["neural+fast"]
        summary["neural_fast_meets_targets"] = fast["rtf_best"] <= TARGET_RTF and fast["rss_mb"] <= TARGET_RSS_MB
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
