"""Neural engine speed on this CPU (or a GPU: ``--device cuda``) with the ``base`` acoustic config (random weights).

Prints the parameter count per module of ``acoustic_base.yaml``, then for a 3 s and a 30 s
input the real-time factor (wall time / audio duration, median of ``--repeats`` after a warm-up)
of:

- ``acoustic``: the acoustic model alone (prompt -> e_pm diffusion sampling, durations, prosody,
  renderer, decoder) given the analysed source: the issue's target is RTF <= 0.2 on 2 cores;
- ``front-end``: source analysis (HuBERT-base layer-6 content + k-means, GE2E speaker
  embedding, DIO F0 + energy);
- ``vocoder``: SpeechT5HifiGan (the architecture of the default microsoft/speecht5_hifigan);
- ``total``: front-end + acoustic + vocoder, i.e. a whole ``NeuralEngine.convert``.

Weights are random (speed does not depend on them): RoBERTa-base (the base config's text
encoder, with the packaged MiniLM tokenizer), HuBERT-base, the acoustic model and the vocoder.
The GE2E weights are the real ones shipped in resemblyzer. Peak RSS is for the whole process.
Usage::

    python bench/bench_neural.py [--threads 2] [--repeats 3] [--seconds 3 30] [--device cpu|cuda]

On a shared machine the wall-clock RTF includes waiting for the cores; CPU-s/s does not (with
2 threads and no contention, RTF is roughly CPU-s/s / 2 .. CPU-s/s).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "promptevc" / "configs" / "acoustic_base.yaml"


def build_engine(threads: int, device: str = "cpu"):
    import torch
    from transformers import (
        AutoTokenizer,
        HubertConfig,
        HubertModel,
        RobertaConfig,
        RobertaModel,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    from promptevc.config import load_yaml
    from promptevc.engines.neural import NeuralEngine
    from promptevc.features.content import ContentConfig, UnitExtractor
    from promptevc.models.evc import build_model, count_parameters
    from promptevc.models.speaker import SpeakerBackbone
    from promptevc.models.vocoder.speecht5 import SpeechT5Vocoder
    from promptevc.prompt.encoder import packaged_minilm_path
    from promptevc.train.acoustic import AcousticExperimentConfig

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = load_yaml(AcousticExperimentConfig, CONFIG, ["model.ref_dim=128", "model.speaker.in_dim=256"])
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_minilm_path()))
    text_encoder = RobertaModel(RobertaConfig()).eval()  # roberta-base architecture
    model = build_model(cfg, text_encoder=(tokenizer, text_encoder)).eval()
    counts = count_parameters(model)

    content = ContentConfig(type="hubert", layer=6, k=100)
    units = UnitExtractor(content, torch.randn(100, 768), audio=cfg.audio, device=device)
    hubert = HubertModel(HubertConfig()).eval()
    hubert.encoder.layers = hubert.encoder.layers[: content.layer]  # as ContentEncoder does
    units.encoder._model = hubert.to(device)  # random weights instead of a download
    vocoder = SpeechT5Vocoder(SpeechT5HifiGan(SpeechT5HifiGanConfig()).eval()).eval().to(device)
    engine = NeuralEngine(model.to(device), units, SpeakerBackbone("ge2e", device=device), vocoder,
                          {"evaluator": None}, Path("."), device)
    counts["front-end: hubert-base (6 layers)"] = sum(p.numel() for p in hubert.parameters())
    counts["vocoder: speecht5_hifigan"] = sum(p.numel() for p in vocoder.parameters())
    return engine, counts


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median process CPU seconds) of ``fn`` after one warm-up."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, nargs="+", default=[3.0, 30.0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (GPU RTF and peak GPU memory)")
    args = parser.parse_args()

    import torch

    from promptevc.prompt.control import EmotionControl
    from promptevc.utils.synth import synth_speech

    engine, counts = build_engine(args.threads, args.device)
    print(f"parameters of the base config (threads={args.threads}):")
    for name, n in counts.items():
        print(f"  {name:40s} {n:>12,d}")
    control = EmotionControl.from_label("happy", 0.8, prompt="very happy with a hint of surprise")
    print("\nRTF = wall time / audio time; in brackets CPU-s/s = CPU seconds of all threads per audio second")
    print(f"{'input':>6s} {'front-end':>16s} {'acoustic':>16s} {'vocoder':>16s} {'total':>16s}")
    for seconds in args.seconds:
        wav = synth_speech(150.0, seconds, seed=1)
        analysis = engine.analyse(wav)
        front = timed(lambda w=wav: engine.analyse(w), args.repeats)
        acoustic = timed(lambda a=analysis: engine.synthesise([a], [control], seed=0, vocode=False), args.repeats)
        mel = torch.from_numpy(engine.synthesise([analysis], [control], seed=0, vocode=False)[0]["mel"])[None]
        with torch.no_grad():
            voc = timed(lambda m=mel: engine.vocoder(m), args.repeats)
        total = timed(lambda w=wav: engine.convert(w, control, seed=0), args.repeats)
        cells = " ".join(f"{w / seconds:7.3f} ({c / seconds:5.2f})" for w, c in (front, acoustic, voc, total))
        print(f"{seconds:5.0f}s {cells}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {rss:.0f} MB")
    if args.device.startswith("cuda"):
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
