#!/usr/bin/env bash
# Stage 1 for egs/esd: ESD copy -> DATA/{train,dev,test} (sorted Kaldi dirs, validated).
# Files are found recursively; the split comes from the utterance index (per speaker x emotion:
# sentences 1-20 dev = ESD "evaluation", 21-50 test, 51-350 train). Transcripts in any of ESD's
# encodings and separators are read (promptevc/data/corpora/esd.py).
set -euo pipefail
corpus_root=""
data_root=data
language=english
speakers=""
nj=4
seed=0
. ../../recipes/utils/parse_options.sh

if [ -z "$corpus_root" ]; then
  echo "$0: error: no ESD folder given: pass --esd_root DIR, the extracted corpus holding 0001 ... 0020 (usually 'Emotion Speech Dataset'; ESD is licence-gated: https://github.com/HLTSingapore/Emotional-Speech-Data)" >&2
  exit 1
fi
if [ ! -d "$corpus_root" ]; then
  echo "$0: error: --esd_root '$corpus_root': no such folder (relative paths are taken from the directory you ran run.sh in); pass the extracted ESD folder, the one holding 0001 ... 0020" >&2
  exit 1
fi
spk=(); if [ -n "$speakers" ]; then read -r -a spk <<< "$speakers"; spk=(--speakers "${spk[@]}"); fi
read -r -a pe <<< "${PROMPTEVC:-promptevc}"
"${pe[@]}" prepare-data --corpus esd --root "$corpus_root" --out "$data_root" --language "$language" "${spk[@]}"
