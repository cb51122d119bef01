#!/usr/bin/env bash
# egs/esd: PromptEVC on ESD (Emotional Speech Dataset), English speakers 0011-0020 by default.
#   ./run.sh --esd_root "/data/Emotion Speech Dataset" [--ngpu 1] [--stage N --stop_stage M] [pipeline options]
# ESD is licence-gated: request it from https://github.com/HLTSingapore/Emotional-Speech-Data.
# This recipe never downloads or redistributes it. Mandarin: --language mandarin.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
args=()
esd_root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --esd_root|--esd-root) esd_root=$2; shift 2 ;;
    --esd_root=*|--esd-root=*) esd_root=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
exec ../../recipes/pipeline.sh --config conf/pipeline.conf --corpus esd --corpus_root "$esd_root" "${args[@]}"
