#!/usr/bin/env bash
# Regenerates samples/speech.wav: espeak-ng (Debian package espeak-ng) reading one sentence,
# resampled to 16 kHz mono 16-bit with sox. Synthetic speech made by us; CC0 (public domain).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp --suffix=.wav)
espeak-ng -v en-us+m3 -s 150 -p 45 -w "$tmp" \
  "I told you the train leaves at seven, and we are still waiting at the station."
sox "$tmp" -r 16000 -c 1 -b 16 speech.wav
rm -f "$tmp"
