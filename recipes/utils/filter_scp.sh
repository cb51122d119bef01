#!/usr/bin/env bash
# Keep the lines of IN whose first field is listed (first field) in LIST; order of IN is kept.
#
#   filter_scp.sh [--exclude] LIST IN > OUT
set -euo pipefail
exclude=0
if [ "${1:-}" = "--exclude" ]; then exclude=1; shift; fi
if [ $# -ne 2 ]; then echo "usage: $0 [--exclude] LIST IN" >&2; exit 1; fi
awk -v ex="$exclude" 'NR == FNR { keep[$1] = 1; next } (($1 in keep) != ex)' "$1" "$2"
