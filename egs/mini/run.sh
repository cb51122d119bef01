#!/usr/bin/env bash
# egs/mini: every stage of the PromptEVC pipeline on a small synthetic espeak-ng corpus, on a CPU.
# A pipeline check, not a model (see README.md). Options after run.sh override conf/pipeline.conf
# (relative paths in them are taken from the directory you run this from):
#   ./run.sh                      # all stages (about 10-17 min on 2 cores)
#   ./run.sh --stage 6 --stop_stage 6 --force_stages 6
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC1091
. "$here/../../recipes/utils/caller_paths.sh"
caller_paths "$@"   # -> caller_args
cd "$here"
exec ../../recipes/pipeline.sh --config conf/pipeline.conf --corpus mini --corpus_root corpus "${caller_args[@]}"
