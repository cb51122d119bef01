#!/usr/bin/env bash
# Split a data dir into N subset data dirs DIR/splitN/{1..N} for parallel jobs.
#
#   split_data_dir.sh [--per-spk] DIR N
#
# wav.scp is split into contiguous parts (--per-spk: whole speakers per part); every other
# per-utterance file is filtered to the same utterances and spk2utt is rebuilt. An existing
# split newer than every file of DIR is reused.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
per_spk=0
if [ "${1:-}" = "--per-spk" ]; then per_spk=1; shift; fi
if [ $# -ne 2 ]; then echo "usage: $0 [--per-spk] DIR N" >&2; exit 1; fi
data=$1; n=$2
[ -f "$data/wav.scp" ] || { echo "$0: $data/wav.scp: no such file" >&2; exit 1; }
sdir=$data/split$n
mode="per_spk=$per_spk"
if [ -f "$sdir/.done" ] && [ "$(cat "$sdir/.done")" = "$mode" ] \
    && [ -z "$(find "$data" -maxdepth 1 -type f -newer "$sdir/.done" | head -1)" ]; then
  exit 0
fi
rm -rf "$sdir"
outs=(); for ((i = 1; i <= n; i++)); do outs+=("$sdir/$i/wav.scp"); done
if [ $per_spk -eq 1 ]; then
  "$here/split_scp.sh" --utt2spk "$data/utt2spk" "$data/wav.scp" "${outs[@]}"
else
  "$here/split_scp.sh" "$data/wav.scp" "${outs[@]}"
fi
for ((i = 1; i <= n; i++)); do
  for f in utt2spk text utt2emo utt2intensity utt2prompt feats.scp units.scp; do
    [ -f "$data/$f" ] && "$here/filter_scp.sh" "$sdir/$i/wav.scp" "$data/$f" > "$sdir/$i/$f"
  done
  # spk2utt from utt2spk (utt2spk is sorted, so utterances come out sorted per speaker).
  awk '{ if (!($2 in s)) { order[++n] = $2; s[$2] = $1 } else s[$2] = s[$2] " " $1 }
       END { for (i = 1; i <= n; i++) print order[i], s[order[i]] }' "$sdir/$i/utt2spk" \
    | LC_ALL=C sort -k1,1 > "$sdir/$i/spk2utt"
done
echo "$mode" > "$sdir/.done"
