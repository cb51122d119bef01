#!/usr/bin/env bash
# Split a data dir into N subset data dirs DIR/splitN/{1..N} for parallel jobs.
#
#   split_data_dir.sh [--per-spk] DIR N
#
# wav.scp is split into contiguous parts (--per-spk: whole speakers per part); every other
# per-utterance file is filtered to the same utterances and spk2utt is rebuilt. The split is
# rebuilt only when one of the files it is made from changed (content, not mtime) or the mode
# differs, and a rebuild replaces only the list files this script writes: anything else a job
# left in DIR/splitN/<k>/ (features, logs) is never deleted.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
per_spk=0
if [ "${1:-}" = "--per-spk" ]; then per_spk=1; shift; fi
if [ $# -ne 2 ]; then echo "usage: $0 [--per-spk] DIR N" >&2; exit 1; fi
data=$1; n=$2
[ -f "$data/wav.scp" ] || { echo "$0: $data/wav.scp: no such file" >&2; exit 1; }
sdir=$data/split$n
lists=(wav.scp utt2spk text utt2emo utt2intensity utt2prompt feats.scp units.scp)
state() {  # mode + content hash of every list the split is made from
  echo "per_spk=$per_spk"
  local f
  for f in "${lists[@]}"; do
    if [ -f "$data/$f" ]; then echo "$f $(sha256sum < "$data/$f" | cut -c1-16)"; fi
  done
}
want=$(state)
if [ -f "$sdir/.done" ] && [ "$(cat "$sdir/.done")" = "$want" ]; then
  exit 0
fi
for ((i = 1; i <= n; i++)); do
  mkdir -p "$sdir/$i"
  for f in "${lists[@]}" spk2utt; do rm -f "$sdir/$i/$f"; done
done
outs=(); for ((i = 1; i <= n; i++)); do outs+=("$sdir/$i/wav.scp"); done
if [ $per_spk -eq 1 ]; then
  "$here/split_scp.sh" --utt2spk "$data/utt2spk" "$data/wav.scp" "${outs[@]}"
else
  "$here/split_scp.sh" "$data/wav.scp" "${outs[@]}"
fi
for ((i = 1; i <= n; i++)); do
  for f in "${lists[@]:1}"; do
    if [ -f "$data/$f" ]; then "$here/filter_scp.sh" "$sdir/$i/wav.scp" "$data/$f" > "$sdir/$i/$f"; fi
  done
  # spk2utt from utt2spk (utt2spk is sorted, so utterances come out sorted per speaker).
  if [ -f "$sdir/$i/utt2spk" ]; then
    awk '{ if (!($2 in s)) { order[++n] = $2; s[$2] = $1 } else s[$2] = s[$2] " " $1 }
         END { for (i = 1; i <= n; i++) print order[i], s[order[i]] }' "$sdir/$i/utt2spk" \
      | LC_ALL=C sort -k1,1 > "$sdir/$i/spk2utt"
  fi
done
printf '%s\n' "$want" > "$sdir/.done"
