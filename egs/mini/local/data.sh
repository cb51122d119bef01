#!/usr/bin/env bash
# Stage 1 for egs/mini: synthesise the espeak-ng corpus in ESD's layout (once), then prepare it
# with the ESD data prep (same code path as the real corpus).
set -euo pipefail
corpus_root=corpus
data_root=data
language=english
speakers=""
nj=2
seed=0
. ../../recipes/utils/parse_options.sh

if ! command -v espeak-ng >/dev/null; then
  echo "$0: espeak-ng not found; the mini corpus is synthesised with it: apt-get install espeak-ng" >&2
  exit 1
fi
spk=(); [ -n "$speakers" ] && { read -r -a spk <<< "$speakers"; spk=(--speakers "${spk[@]}"); }
# --make-corpus synthesises into $corpus_root unless a complete corpus is already there.
${PROMPTEVC:-promptevc} prepare-data --corpus mini --root "$corpus_root" --make-corpus --nj "$nj" --seed "$seed" \
  --out "$data_root" --language "$language" "${spk[@]}"
