"""``promptevc dump-features``: mel, F0, energy, speaker embedding and content features per utterance."""

from __future__ import annotations

import argparse

from promptevc.commands._common import add_device_argument, resolve_device

NAME = "dump-features"
HELP = "dump mel/F0/energy/speaker/content features of a data dir into a feature store"
DESCRIPTION = """Dump training features for every utterance of a Kaldi-style data dir (recipe stage 2).

Writes STORE/<settings key>/<bucket>/<utt>.npz (mel and content float16; f0, energy, spk_emb
float32), then DATADIR/feats.scp, DATADIR/utt2num_frames and DATADIR/feats_config.yaml. STORE is
--store (default DATADIR/feats); each combination of settings gets its own folder in it, so
nothing dumped is ever overwritten by a dump with other settings. An utterance already in the
store (same wav size and mtime) is skipped, whichever data dir asks for it; a feature whose
settings match another folder of STORE (e.g. everything but F0 after changing --f0) is copied
from there instead of computed (--no-reuse to compute it). --overwrite computes everything again.
--nj N: N signal-processing worker processes (audio, mel, energy, F0); the content model and the
speaker encoder run once, in this process, on --device. Utterances that fail are listed and
the command exits non-zero at the end.

Examples:
  promptevc dump-features --data data/train --content hubert --nj 4 --device cuda
  promptevc dump-features --data data/mini --content mel --f0 dio --store dump/
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from promptevc.config import AUDIO_PRESETS

    parser.add_argument("--data", required=True, help="data dir with wav.scp")
    parser.add_argument("--content", choices=("hubert", "mel"), default="hubert",
                        help="content features: hubert (SSL, default) or mel (offline)")
    parser.add_argument("--content-model", default="facebook/hubert-base-ls960",
                        help="HuBERT repo id or local folder (default: %(default)s)")
    parser.add_argument("--content-layer", type=int, default=6, help="HuBERT layer (default: %(default)s)")
    parser.add_argument("--k", type=int, default=100,
                        help="number of units recorded in the content config (fit-units sets its own)")
    parser.add_argument("--speaker", choices=("ge2e", "wavlm"), default="ge2e",
                        help="speaker backbone (default: %(default)s)")
    parser.add_argument("--speaker-model", default=None, help="WavLM-SV repo id or folder (default: microsoft/wavlm-base-sv)")
    parser.add_argument("--f0", dest="f0_method", choices=("harvest", "dio", "pyin"), default="dio",
                        help="F0 extractor (default: %(default)s, the tracker the neural engine uses at inference; "
                             "another one makes training and inference normalise F0 differently)")
    parser.add_argument("--audio-preset", choices=AUDIO_PRESETS, default="speecht5",
                        help="AudioConfig preset of the mel features (default: %(default)s)")
    parser.add_argument("--audio-config", default=None, metavar="YAML",
                        help="AudioConfig YAML, or a config with a top-level 'audio:' section (e.g. the acoustic "
                             "model config); overrides --audio-preset")
    parser.add_argument("--store", default=None, metavar="DIR",
                        help="feature store root, shared by data dirs and settings (default: DATADIR/feats)")
    parser.add_argument("--nj", type=int, default=1,
                        help="signal-processing worker processes; the models stay in this process (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of this process (default: torch's choice, all cores)")
    parser.add_argument("--reuse", action=argparse.BooleanOptionalAction, default=True,
                        help="copy features with matching settings from other folders of the store (default: on)")
    parser.add_argument("--overwrite", action=argparse.BooleanOptionalAction, default=False,
                        help="dump again utterances already dumped (default: off)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.config import AudioConfig
    from promptevc.data.dump import describe_counts, dump_features
    from promptevc.errors import ConfigError
    from promptevc.features.content import ContentConfig

    if not Path(args.data).is_dir():
        raise ConfigError(f"--data {args.data}: no such directory")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads {args.threads}: need at least 1")
    try:
        content = ContentConfig(type=args.content, model_id=args.content_model, layer=args.content_layer, k=args.k)
    except ValueError as err:
        raise ConfigError(f"content options: {err}") from None
    audio = _audio_config(args.audio_config) if args.audio_config else AudioConfig.preset(args.audio_preset)
    result = dump_features(
        args.data,
        audio=audio,
        content=content,
        speaker_backbone=args.speaker,
        nj=args.nj,
        speaker_model=args.speaker_model,
        f0_method=args.f0_method,
        device=resolve_device(args.device),
        store_root=args.store,
        overwrite=args.overwrite,
        reuse=args.reuse,
        threads=args.threads,
        progress=args.progress,
    )
    print(f"{args.data}: dumped {result.done} ({describe_counts(result)}), skipped {result.skipped} (already "
          f"dumped), failed {result.failed}; store {result.store}")
    return 0


def _audio_config(path: str):
    """AudioConfig from a YAML file holding it directly or under a top-level ``audio:`` key."""
    import yaml

    from promptevc.config import AudioConfig, from_dict
    from promptevc.errors import ConfigError

    try:
        data = yaml.safe_load(open(path, encoding="utf-8")) or {}
    except OSError as err:
        raise ConfigError(f"--audio-config {path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"--audio-config {path}: invalid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--audio-config {path}: the top level must be a mapping")
    section = data["audio"] if isinstance(data.get("audio"), dict) else data
    try:
        return from_dict(AudioConfig, section, prefix="audio")
    except ConfigError as err:
        raise ConfigError(f"--audio-config {path}: {err}") from None
