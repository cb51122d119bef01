#!/usr/bin/env bash
# GPU smoke check: does PromptEVC train, resume, export and convert on this machine?
#
#   bench/gpu_smoke.sh                  # on the first CUDA GPU (under 10 minutes on one GPU)
#   bench/gpu_smoke.sh --device cpu     # the same checks on the CPU (what CI runs; a few minutes)
#   bench/gpu_smoke.sh --workdir DIR --keep   # keep the corpus, experiments and logs in DIR
#
# It synthesises a small emotional corpus (numpy; no espeak-ng, no download), dumps its features
# and fits units, then runs, each through the promptevc CLI:
#   evaluator / acoustic / vocoder training with bf16 and with fp16 (gradient scaler),
#   intensity labelling, a training killed after its first checkpoint and resumed, export
#   (latest and best checkpoint), `convert --engine neural --device DEVICE` through the trained
#   vocoder, and the RTF and memory of the base acoustic config (bench/bench_neural.py).
# One summary line per check, then a JSON line; exit status 1 when any check failed.
set -uo pipefail

device=cuda
workdir=""
keep=false
usage="Usage: $0 [--device cuda|cuda:N|cpu] [--workdir DIR] [--keep]"
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    -h|--help) echo "$usage"; sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PYTHON:-python}
pe=("$python" -m promptevc.cli)
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
if [ -z "$workdir" ]; then workdir=$(mktemp -d "${TMPDIR:-/tmp}/gpu_smoke.XXXXXX"); fi
mkdir -p "$workdir/logs"
W=$workdir
if [ "$keep" != true ]; then trap 'rm -rf "$W"' EXIT; fi

if [[ $device == cuda* ]]; then
  "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
    || { echo "[gpu_smoke] no CUDA GPU visible to torch; run with --device cpu" >&2; exit 2; }
  # steps of the evaluator, acoustic and vocoder trainings, of the killed-and-resumed run, its save cadence
  ev_steps=200; ac_steps=200; voc_steps=100; resume_steps=400; resume_every=20; rtf_seconds=10; rtf_repeats=3
else  # the same checks, short: CI proves the script works
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
  ev_steps=10; ac_steps=6; voc_steps=4; resume_steps=12; resume_every=4; rtf_seconds=1; rtf_repeats=1
fi

passed=0; failed=0; json=""; t_all=$SECONDS
report() {  # STATUS NAME SECONDS DETAIL
  echo "[gpu_smoke] $1 $2 ($3 s): $4"
  json+="${json:+, }\"$2\": {\"status\": \"$1\", \"seconds\": $3}"
  if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
run() {  # NAME COMMAND... : run, log to logs/NAME.log; returns its status
  local name=$1; shift
  "$@" > "$W/logs/$name.log" 2>&1
}
check() {  # NAME DETAIL_FUNCTION COMMAND... : one summary line
  local name=$1 detail=$2; shift 2
  local t0=$SECONDS
  if run "$name" "$@"; then
    local d; d=$($detail "$name" 2>&1) && { report PASS "$name" $((SECONDS - t0)) "$d"; return 0; }
    report FAIL "$name" $((SECONDS - t0)) "$d"
  else
    report FAIL "$name" $((SECONDS - t0)) "exit $?; log $W/logs/$name.log: $(tail -n 1 "$W/logs/$name.log")"
  fi
  return 1
}
ok() { echo "ok"; }
train_summary() {  # NAME: steps, speed, memory, skipped steps from EXP/metrics.csv (EXP = W/NAME)
  "$python" - "$W/$1" <<'EOF'
import csv, os, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/metrics.csv")))
last = {}
for r in rows:
    last[(r["split"], r["name"])] = float(r["value"])
step = max(int(r["step"]) for r in rows)
parts = [f"{step} steps", f"{last.get(('train', 'steps_per_s'), 0):.1f} steps/s"]
if ("train", "gpu_mem_gb") in last:
    parts.append(f"peak GPU memory {last[('train', 'gpu_mem_gb')]:.2f} GiB")
parts.append(f"{int(last.get(('train', 'nonfinite_steps'), 0))} skipped non-finite")
for key in ("accuracy", "postnet", "mel_l1"):
    if ("valid", key) in last:
        parts.append(f"valid {key} {last[('valid', key)]:.3f}")
if not os.path.isfile(f"{sys.argv[1]}/release/model.safetensors"):
    sys.exit("no release")
print(", ".join(parts))
EOF
}

data=$W/corpus
echo "[gpu_smoke] device $device, work dir $W"

# ---- data: synthetic corpus, features, units -----------------------------------------------
corpus() {
  "$python" -m promptevc.data.corpora.synthetic "$data" --train-per-class 1 --dev-per-class 1 &&
  for s in train dev; do
    "${pe[@]}" dump-features --data "$data/$s" --content mel --f0 dio --speaker ge2e --nj 1 --device "$device" \
      --no-progress || return 1
  done &&
  "${pe[@]}" fit-units --data "$data/train" --apply "$data/dev" --k 16 --out "$W/units" --device "$device" \
    --no-progress
}
corpus_summary() { echo "$(wc -l < "$data/train/feats.scp") train + $(wc -l < "$data/dev/feats.scp") dev utterances dumped, 16 units"; }
check data corpus_summary corpus || { echo "[gpu_smoke] no data: stopping"; exit 1; }

common=(--device "$device" --no-progress)
# ---- evaluator, intensity labels -----------------------------------------------------------
for p in bf16 fp16; do
  check "evaluator-$p" train_summary "${pe[@]}" train-evaluator --config tiny --data "$data/train" \
    --valid-data "$data/dev" --exp "$W/evaluator-$p" --precision "$p" "${common[@]}" \
    --set train.max_steps=$ev_steps --set train.valid_every=$((ev_steps / 2)) --set train.save_every=$((ev_steps / 2))
done
evaluator=$W/evaluator-bf16/release
labels() {
  for s in train dev; do
    "${pe[@]}" label-intensity --data "$data/$s" --evaluator "$evaluator" --reference-data "$data/train" \
      --device "$device" --no-progress || return 1
  done
}
labels_summary() { echo "$(wc -l < "$data/train/utt2intensity") + $(wc -l < "$data/dev/utt2intensity") labels"; }
check intensity-labels labels_summary labels

# ---- acoustic model --------------------------------------------------------------------------
acoustic=("${pe[@]}" train --config acoustic_tiny --data "$data/train" --valid-data "$data/dev" --units "$W/units"
          --evaluator "$evaluator" "${common[@]}")
for p in bf16 fp16; do
  check "acoustic-$p" train_summary "${acoustic[@]}" --exp "$W/acoustic-$p" --precision "$p" \
    --set train.max_steps=$ac_steps --set train.valid_every=$((ac_steps / 2)) --set train.save_every=$((ac_steps / 2))
done

# ---- vocoder ---------------------------------------------------------------------------------
for p in bf16 fp16; do
  check "vocoder-$p" train_summary "${pe[@]}" train-vocoder --config vocoder_tiny --data "$data/train" \
    --exp "$W/vocoder-$p" --precision "$p" "${common[@]}" \
    --set train.max_steps=$voc_steps --set train.valid_every=$((voc_steps / 2)) --set train.save_every=$((voc_steps / 2))
done

# ---- kill and resume -------------------------------------------------------------------------
kill_and_resume() {
  local exp=$W/resume first
  first=$W/resume/checkpoints/step_$(printf %08d "$resume_every").pt
  "${acoustic[@]}" --exp "$exp" --set train.max_steps=$resume_steps --set train.save_every=$resume_every &
  local pid=$! waited=0
  while [ ! -f "$first" ] && kill -0 "$pid" 2>/dev/null && [ $waited -lt 3000 ]; do sleep 0.1; waited=$((waited + 1)); done
  if ! kill -9 "$pid" 2>/dev/null; then echo "training ended before it could be killed"; return 1; fi
  wait "$pid" 2>/dev/null
  echo "killed after the checkpoint of step $resume_every"
  "${acoustic[@]}" --exp "$exp" --set train.max_steps=$resume_steps --set train.save_every=$resume_every
}
resume_summary() {
  local line; line=$(grep -o "resumed from .*" "$W/logs/resume.log" | head -n 1)
  [ -n "$line" ] || { echo "the second run did not resume"; return 1; }
  [ -f "$W/resume/checkpoints/step_$(printf %08d $resume_steps).pt" ] || { echo "no final checkpoint"; return 1; }
  echo "$line, continued to step $resume_steps"
}
check resume resume_summary kill_and_resume

# ---- export ----------------------------------------------------------------------------------
export_both() {
  "${pe[@]}" export --exp "$W/acoustic-bf16" --out "$W/export/acoustic" &&
  "${pe[@]}" export --exp "$W/evaluator-bf16" --out "$W/export/evaluator-best" --checkpoint best
}
export_summary() {
  "$python" -c "import json, sys; a, e = (json.load(open(f'$W/export/{n}/meta.json')) for n in ('acoustic', 'evaluator-best'));
print(f\"acoustic step {a['step']}, best evaluator step {e['step']} (valid accuracy {e['best_valid']['value']:.2f})\")"
}
check export export_summary export_both

# ---- convert through the neural engine -------------------------------------------------------
src=$(ls "$data"/wav/spk1_neutral_dev*.wav | head -n 1)
convert_summary() {
  "$python" -c "import soundfile as sf, numpy as np; w, sr = sf.read('$W/converted.wav');
assert len(w) > 0.3 * sr and np.isfinite(w).all() and np.abs(w).max() > 1e-4, 'empty or silent output'
print(f'{len(w) / sr:.2f} s at {sr} Hz from a {sf.info(\"$src\").duration:.2f} s source')"
}
check convert convert_summary "${pe[@]}" convert "$src" --engine neural --model "$W/export/acoustic" \
  --vocoder "$W/vocoder-bf16/release" --device "$device" --prompt "very happy" -o "$W/converted.wav" --seed 0

# ---- RTF and memory of the base acoustic config (random weights) -----------------------------
rtf_summary() {  # the final JSON line of bench_neural.py: RTF and peak memory per configuration
  tail -n 1 "$W/logs/base-rtf.log" | "$python" -c "import json, sys; r = json.load(sys.stdin)['results']
print('; '.join(f\"{k}: RTF {v['rtf_best']:.3f}, RSS {v['rss_mb']:.0f} MB\" + (f\", GPU {v['gpu_mb']:.0f} MB\" if 'gpu_mb' in v else '')
                for k, v in r.items()))"
}
check base-rtf rtf_summary "$python" "$here/bench_neural.py" --device "$device" --seconds "$rtf_seconds" \
  --repeats "$rtf_repeats" --threads "${OMP_NUM_THREADS:-2}" --configs neural+speecht5 neural+fast

echo "[gpu_smoke] $passed of $((passed + failed)) checks passed on $device in $((SECONDS - t_all)) s"
echo "{\"device\": \"$device\", \"passed\": $passed, \"failed\": $failed, \"seconds\": $((SECONDS - t_all)), \"checks\": {$json}}"
[ "$failed" -eq 0 ]
