#!/usr/bin/env bash
# Stage 1 for egs/esd: ESD copy -> data/{train,dev,test} (sorted Kaldi dirs, validated).
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

if [ -z "$corpus_root" ] || [ ! -d "$corpus_root" ]; then
  echo "$0: --esd_root '$corpus_root' is not a folder. ESD is licence-gated: request it from" >&2
  echo "  https://github.com/HLTSingapore/Emotional-Speech-Data and pass the extracted folder." >&2
  exit 1
fi
spk=(); if [ -n "$speakers" ]; then read -r -a spk <<< "$speakers"; spk=(--speakers "${spk[@]}"); fi
${PROMPTEVC:-promptevc} prepare-data --corpus esd --root "$corpus_root" --out "$data_root" --language "$language" "${spk[@]}"
