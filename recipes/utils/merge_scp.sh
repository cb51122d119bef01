#!/usr/bin/env bash
# Merge scp files (e.g. the per-job feats.scp of a split data dir) into one sorted file.
#
#   merge_scp.sh OUT IN_1 [IN_2 ...]
#
# Fails on a duplicate key: two jobs wrote the same utterance, which means the split was wrong.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 OUT IN_1 [IN_2 ...]" >&2; exit 1; fi
out=$1; shift
for f in "$@"; do [ -f "$f" ] || { echo "$0: $f: no such file" >&2; exit 1; }; done
tmp=$(mktemp "${out}.XXXX")
cat "$@" | LC_ALL=C sort -k1,1 -s > "$tmp"
dups=$(awk '{print $1}' "$tmp" | uniq -d | head -3 | tr '\n' ' ')
if [ -n "$dups" ]; then rm -f "$tmp"; echo "$0: duplicate keys in $*: $dups" >&2; exit 1; fi
mv "$tmp" "$out"
