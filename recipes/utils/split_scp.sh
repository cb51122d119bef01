#!/usr/bin/env bash
# Split a sorted scp/list file into N contiguous parts of near-equal size.
#
#   split_scp.sh [--utt2spk UTT2SPK] IN OUT_1 OUT_2 ... OUT_N
#
# With --utt2spk, all lines of one speaker go to the same part (as Kaldi's split_scp.pl does), so
# per-speaker statistics can be computed inside one job. Refuses to make more parts than lines
# (or speakers): every part must be non-empty.
set -euo pipefail
utt2spk=""
if [ "${1:-}" = "--utt2spk" ]; then utt2spk=$2; shift 2; fi
if [ $# -lt 2 ]; then echo "usage: $0 [--utt2spk FILE] IN OUT_1 ... OUT_N" >&2; exit 1; fi
in=$1; shift
n_out=$#
[ -f "$in" ] || { echo "$0: $in: no such file" >&2; exit 1; }
n_lines=$(grep -c . "$in" || true)
[ "$n_lines" -ge "$n_out" ] || { echo "$0: cannot split $n_lines lines of $in into $n_out parts" >&2; exit 1; }
for out in "$@"; do mkdir -p "$(dirname "$out")"; : > "$out"; done
outs=$(printf '%s\n' "$@")
awk -v n="$n_lines" -v k="$n_out" -v outs="$outs" -v u2s="$utt2spk" '
  BEGIN {
    split(outs, o, "\n")
    if (u2s != "") { while ((getline line < u2s) > 0) { split(line, f, " "); spk[f[1]] = f[2] } }
  }
  NF == 0 { next }
  {
    key = $1; group = (u2s != "") ? ((key in spk) ? spk[key] : key) : NR
    if (group != prev_group) { part = int(done * k / n) + 1; if (part > k) part = k; prev_group = group }
    print > o[part]; done++; used[part] = 1; last_part = part
  }
  END { for (i = 1; i <= k; i++) if (!(i in used)) { print "split_scp.sh: part " i " would be empty (too few speakers?)" > "/dev/stderr"; bad = 1 }
        exit bad }
' "$in"
