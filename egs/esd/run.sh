#!/usr/bin/env bash
# egs/esd: PromptEVC on ESD (Emotional Speech Dataset), English speakers 0011-0020 by default.
#   ./run.sh --esd_root "/data/Emotion Speech Dataset" [--stage N --stop_stage M] [pipeline options]
#   ./run.sh --esd_root ... --language mandarin --tag base_zh [--asr_model <Mandarin ASR id>]
# Relative paths in the options are taken from the directory you run this from. Without the
# Hugging Face Hub: --content mel --acoustic_args "--set model.descriptor.encoder=packaged:all-MiniLM-L6-v2"
# --vocoder hifigan-universal (README.md). ESD is licence-gated: request it from
# https://github.com/HLTSingapore/Emotional-Speech-Data; this recipe never downloads or redistributes it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC1091
. "$here/../../recipes/utils/caller_paths.sh"
caller_paths "$@"   # -> caller_args, paths made absolute from the caller's directory
args=()
esd_root=""
set -- "${caller_args[@]}"
while [ $# -gt 0 ]; do
  case "$1" in
    --esd_root|--esd-root) esd_root=$2; shift 2 ;;
    --esd_root=*|--esd-root=*) esd_root=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
cd "$here"
exec ../../recipes/pipeline.sh --config conf/pipeline.conf --corpus esd --corpus_root "$esd_root" "${args[@]}"
