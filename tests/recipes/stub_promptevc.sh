#!/usr/bin/env bash
# Stand-in for the `promptevc` executable in pipeline tests (PROMPTEVC points here): records its
# command line in $STUB_LOG and writes the outputs each subcommand is expected to leave, so the
# stage logic (ranges, skipping, failures, resume) is tested without training anything.
# STUB_FAIL=<subcommand> makes that subcommand fail (exit 3) after logging.
set -euo pipefail
echo "$*" >> "${STUB_LOG:?}"
sub=$1; shift
if [ "${STUB_FAIL:-}" = "$sub" ]; then echo "${STUB_FAIL_MSG:-stub: $sub failed on purpose}" >&2; exit 3; fi
# STUB_SLEEP=<subcommand>: that subcommand writes its pid to $STUB_PIDFILE and sleeps (interrupt tests).
if [ "${STUB_SLEEP:-}" = "$sub" ]; then echo $$ > "${STUB_PIDFILE:?}"; exec sleep 60; fi

# --name value lookup in the remaining arguments
opt() { local name=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$name" ] && { echo "$2"; return; }; shift; done; }
all_after() {  # values following --name up to the next option
  local name=$1 on=0; shift
  for a in "$@"; do
    if [ "$a" = "$name" ]; then on=1; continue; fi
    if [ $on -eq 1 ]; then [[ "$a" == --* ]] && break; echo "$a"; fi
  done
}

case $sub in
  prepare-data)
    out=$(opt --out "$@"); root=$(opt --root "$@"); case $root in /*) ;; *) root=$PWD/$root ;; esac
    mkdir -p "$root"
    for s in train dev test; do
      d=$out/$s; mkdir -p "$d"; : > "$d/wav.scp"; : > "$d/utt2spk"; : > "$d/text"; : > "$d/utt2emo"
      case $s in train) base=51 ;; dev) base=1 ;; test) base=21 ;; esac
      for spk in 0011 0012; do
        for e in 0:neutral 1:angry 2:happy 3:sad 4:surprise; do
          blk=${e%%:*}; emo=${e#*:}
          utt=$(printf '%s_%06d' "$spk" $((blk * 350 + base)))
          [ -e "$root/$utt.wav" ] || : > "$root/$utt.wav"  # a corpus is read, never rewritten
          echo "$utt $root/$utt.wav" >> "$d/wav.scp"; echo "$utt $spk" >> "$d/utt2spk"
          echo "$utt some words" >> "$d/text"; echo "$utt $emo" >> "$d/utt2emo"
        done
      done
      for f in wav.scp utt2spk text utt2emo; do LC_ALL=C sort -o "$d/$f" "$d/$f"; done
      awk '{ s[$2] = s[$2] " " $1 } END { for (k in s) print k s[k] }' "$d/utt2spk" | LC_ALL=C sort > "$d/spk2utt"
    done ;;
  dump-features)
    d=$(opt --data "$@")
    mkdir -p "$d/feats"
    store=$(opt --store "$@"); [ -n "$store" ] || store=$d/feats
    case $store in /*) ;; *) store=$PWD/$store ;; esac
    mkdir -p "$store/stub"
    awk -v d="$store/stub" '{ print $1, d "/" $1 ".npz" }' "$d/wav.scp" > "$d/feats.scp"
    while read -r utt path; do [ -e "$path" ] || echo "$utt" >> "$store/stub/dumped.log"; touch "$path"; done < "$d/feats.scp"
    awk '{ print $1, 10 }' "$d/wav.scp" > "$d/utt2num_frames"
    echo "content: stub" > "$d/feats_config.yaml" ;;
  train-evaluator|train|train-vocoder)
    e=$(opt --exp "$@"); mkdir -p "$e/checkpoints" "$e/release"
    n=$(ls "$e/checkpoints" | wc -l); touch "$e/checkpoints/step_$((n + 1)).pt"
    echo '{}' > "$e/release/meta.json" ;;
  export)
    o=$(opt --out "$@"); mkdir -p "$o"; echo '{}' > "$o/meta.json" ;;
  label-intensity)
    d=$(opt --data "$@")
    awk '{ print $1, ($2 == "neutral" ? 0 : 0.5) }' "$d/utt2emo" > "$d/utt2intensity" ;;
  make-prompts)
    d=$(opt --data "$@"); awk '{ print $1, "a prompt" }' "$d/utt2emo" > "$d/utt2prompt" ;;
  fit-units)
    o=$(opt --out "$@"); mkdir -p "$o"; touch "$o/kmeans.safetensors"
    mapfile -t applied < <(all_after --apply "$@")
    for d in "$(opt --data "$@")" "${applied[@]}"; do
      mkdir -p "$d/units"
      awk '{ print $1, "units/" $1 ".npy" }' "$d/wav.scp" > "$d/units.scp"
      while read -r utt path; do touch "$d/$path"; done < "$d/units.scp"
    done ;;
  convert)
    scp=$1; o=$(opt --out-dir "$@"); mkdir -p "$o"
    while read -r utt path; do cp "$path" "$o/$utt.wav"; done < "$scp" ;;
  evaluate)
    pairs=$(opt --pairs "$@"); o=$(opt --out "$@"); mkdir -p "$o"
    # Pretend the conversions move exactly in ESD's directions.
    python - "$pairs" "$o" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
effects = {"happy": (3, 1.2, 1.0, 1), "surprise": (4, 1.3, 1.0, 1), "angry": (2, 1.1, 1.0, 4),
           "sad": (-0.5, 0.9, 1.2, -2), "neutral": (0, 1, 1, 0)}
with open(sys.argv[2] + "/utterances.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["utt", "emotion", "intensity", "f0_shift_st", "f0_range_ratio", "tempo_ratio",
                "energy_change_db", "mcd_db", "speaker_sim", "wer", "dnsmos_ovrl", "emo_correct", "error"])
    for r in rows:
        f0, rng, tempo, en = effects[r["emotion"]]
        x = float(r["intensity"])
        w.writerow([r["utt"], r["emotion"], r["intensity"], f0 * x, 1 + (rng - 1) * x, 1 + (tempo - 1) * x,
                    en * x, 5.0, 0.9, 0.1, 3.0, 1, ""])
open(sys.argv[2] + "/summary.json", "w").write("{}")
PY
    ;;
  *) echo "stub: unknown subcommand $sub" >&2; exit 2 ;;
esac
