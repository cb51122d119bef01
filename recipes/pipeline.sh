#!/usr/bin/env bash
# PromptEVC staged pipeline, shared by every corpus (egs/<corpus>/run.sh sets options and calls it).
#
#   1 data prep         -> DATA/{train,dev,test}: wav.scp utt2spk spk2utt text utt2emo (validated)
#   2 feature dump      -> feats.scp (mel, F0, energy, content features, speaker embedding)
#   3 emotion evaluator -> EXP/evaluator/release
#   4 intensity + prompts -> utt2intensity and utt2prompt in every data dir
#   5 content units     -> EXP/units (k-means) and units.scp
#   6 acoustic model + prompt mapper -> EXP/acoustic/release
#   7 vocoder fine-tune (optional, --train_vocoder true) -> EXP/vocoder/release
#   8 convert the neutral test utterances with prompts per emotion x intensity -> EXP/convert/pairs.csv
#   9 evaluate -> EXP/eval, EXP/RESULTS.md (copied to --results_md)
#
# Run from an egs/<corpus> folder (it reads ./cmd.sh, ./path.sh and ./local/data.sh there).
# Every side effect happens inside its stage. A stage that finished writes EXP/.done/stageN (DATA/
# .done/stageN for stages 1-2) holding a hash of its inputs (options, config contents and the
# hashes of the stages before it) as its very last action; a stage whose marker matches and whose
# outputs exist is skipped, so re-running the same command continues where it stopped. A stage
# that fails or is killed leaves no marker and runs again; the trainers then resume from the
# latest checkpoint in the same EXP dir (the step count continues). --redo true or
# --force_stages "3 6" run stages again regardless.
set -euo pipefail

recipes_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$recipes_dir/utils

# ---- options (each can be given as --name VALUE; see --help) --------------------------------
stage=1                 # first stage to run
stop_stage=9            # last stage to run
nj=4                    # parallel jobs (feature dump, conversion)
ngpu=0                  # GPUs for training: 0 = CPU, 1 = one GPU, >1 = DDP through torchrun
device=auto             # device for feature dump / conversion / evaluation (auto, cpu, cuda)
tag=""                  # experiment name; default: <acoustic config name>
exp_root=exp            # experiments go to EXP=exp_root/tag
data_root=data          # data dirs go to DATA/{train,dev,test}
redo=false              # run every selected stage even if it is done
force_stages=""         # stages to run again even if done, e.g. "6 8"
dry_run=false           # print the plan (what would run or be skipped) and exit
seed=0
# corpus (stage 1)
corpus=esd              # esd or mini
corpus_root=""          # corpus folder
language=english        # esd: english (0011-0020) or mandarin (0001-0010)
speakers=""             # explicit speaker ids, e.g. "0011 0015"
local_data=local/data.sh  # corpus-specific data prep; falls back to promptevc prepare-data
train_set=train
valid_set=dev
test_set=test
# configs: a YAML path or the name of a packaged config (promptevc/configs/<name>.yaml)
conf_dir=conf
evaluator_conf=evaluator_base
acoustic_conf=acoustic_base
vocoder_conf=vocoder_v1
evaluator_args=""       # extra training options, e.g. "--set train.max_steps=100"
eval_classifier_seed="" # stage 3 also trains a second evaluator with this seed for stage 9 to grade
                        # with (the first one is the training critic); "" = grade with the first
acoustic_args=""
vocoder_args=""
# features (stage 2) and units (stage 5)
content=hubert          # hubert (SSL) or mel (offline)
content_model=facebook/hubert-base-ls960
content_layer=6
speaker_backbone=ge2e   # ge2e or wavlm
f0_method=dio           # dio (the neural engine's tracker at inference), harvest or pyin
dump_args=""
units_k=100
units_args=""
# vocoder (stages 7-8)
train_vocoder=false     # stage 7: fine-tune a vocoder on the training set
vocoder=microsoft/speecht5_hifigan  # vocoder for stage 8 when stage 7 is off ("" = the release's default)
vocoder_init=""         # pretrained generator stage 7 fine-tunes (folder or repo id; "" = from scratch)
convert_vocoder=""      # force the stage 8 vocoder (e.g. griffin-lim) even when stage 7 trained one
# conversion (stage 8) and evaluation (stage 9)
convert_prompts=""      # TSV: emotion<TAB>intensity<TAB>level<TAB>prompt; default conf/convert_prompts.tsv,
                        # else recipes/conf/convert_prompts.tsv
max_convert_utts=0      # neutral test utterances to convert (0 = all)
convert_mode=cli        # cli: one `promptevc convert` per prompt; batch: utils/convert_batch.py, one
                        # process per job that loads the model once (same outputs, less start-up)
convert_args=""
eval_args=""            # e.g. "--no-asr --no-dnsmos"
eval_oracle=true        # also evaluate the real emotional recordings against the neutral source
results_md=RESULTS.md   # where stage 9 copies EXP/RESULTS.md ("" = leave it in EXP)

help_message="Usage: $0 [options]   (run from egs/<corpus>/; see recipes/README.md)
  --stage N --stop_stage M   stages to run (1 data, 2 features, 3 evaluator, 4 intensity+prompts,
                             5 units, 6 acoustic, 7 vocoder, 8 convert, 9 evaluate)
  --corpus esd|mini --corpus_root DIR [--language english|mandarin] [--speakers \"0011 0012\"]
  --nj N --ngpu N --device auto|cpu|cuda --tag NAME --exp_root DIR --data_root DIR
  --evaluator_conf/--acoustic_conf/--vocoder_conf  YAML or packaged name; --*_args \"--set k=v ...\"
  --content hubert|mel --units_k K --train_vocoder true|false --vocoder NAME --convert_vocoder NAME
  --max_convert_utts N --convert_prompts TSV --eval_args \"...\" --results_md FILE
  --redo true|false --force_stages \"3 6\" --dry_run true|false --conf FILE (options file, also --config)"

# shellcheck disable=SC1091
. "$utils/parse_options.sh"
[ $# -eq 0 ] || { echo "$0: unexpected arguments: $*" >&2; exit 1; }

# Environment of the egs dir (PATH, CUDA) and the job back-ends (train_cmd, cuda_cmd, decode_cmd).
# shellcheck disable=SC1091
if [ -f path.sh ]; then . ./path.sh; fi
train_cmd="$utils/run_local.sh"; cuda_cmd="$utils/run_local.sh"; decode_cmd="$utils/run_local.sh"
# shellcheck disable=SC1091
if [ -f cmd.sh ]; then . ./cmd.sh; fi
read -r -a train_cmd_a <<< "$train_cmd"
read -r -a cuda_cmd_a <<< "$cuda_cmd"
read -r -a decode_cmd_a <<< "$decode_cmd"
# The promptevc executable (tests point PROMPTEVC at a stub) and the DDP launcher.
read -r -a pe <<< "${PROMPTEVC:-promptevc}"
read -r -a torchrun_a <<< "${TORCHRUN:-torchrun}"
python=${PYTHON:-python}

# ---- derived names (no side effects) ---------------------------------------------------------
resolve_conf() {  # a YAML path, or a packaged config name -> path
  local c=$1
  if [ -z "$c" ] || [ -f "$c" ]; then echo "$c"; return; fi
  if [ -f "$conf_dir/$c" ]; then echo "$conf_dir/$c"; return; fi
  if [ -f "$conf_dir/$c.yaml" ]; then echo "$conf_dir/$c.yaml"; return; fi
  local pkg
  pkg=$("$python" -c 'import os, promptevc; print(os.path.join(os.path.dirname(promptevc.__file__), "configs"))' \
        2>/dev/null || true)
  if [ -n "$pkg" ] && [ -f "$pkg/$c.yaml" ]; then echo "$pkg/$c.yaml"; return; fi
  echo "$c"  # left as given; the stage using it reports it
}
evaluator_conf=$(resolve_conf "$evaluator_conf")
acoustic_conf=$(resolve_conf "$acoustic_conf")
vocoder_conf=$(resolve_conf "$vocoder_conf")
if [ -z "$convert_prompts" ]; then  # the egs' own list, else the shared default
  convert_prompts=$recipes_dir/conf/convert_prompts.tsv
  if [ -f "$conf_dir/convert_prompts.tsv" ]; then convert_prompts=$conf_dir/convert_prompts.tsv; fi
fi
[ -n "$tag" ] || tag=$(basename "${acoustic_conf%.yaml}")
expdir=$exp_root/$tag
logdir=$expdir/logs
sets=("$train_set" "$valid_set" "$test_set")
evaluator_release=$expdir/evaluator/release
acoustic_release=$expdir/acoustic/release
vocoder_release=$expdir/vocoder/release
convdir=$expdir/convert
stage_names=("" "data prep" "feature dump" "emotion evaluator" "intensity labels + prompts" "content units"
             "acoustic model + prompt mapper" "vocoder fine-tune" "convert test set" "evaluate")

# ---- helpers ---------------------------------------------------------------------------------
log() { echo "$(date +%H:%M:%S) [pipeline] $*"; }
die() { echo "$(date +%H:%M:%S) [pipeline] ERROR: $*" >&2; exit 1; }
words() { local -n _out=$1; read -r -a _out <<< "${2:-}"; }  # split an options string into an array

run_job() {  # CMD_ARRAY_NAME [--gpu N ...] [JOB=a:b] LOGFILE COMMAND... : run through a job back-end
  local -n _cmd=$1; shift
  local -a pre=()
  while [[ $# -gt 0 && ( "$1" == --* || "$1" =~ ^JOB= ) ]]; do
    if [[ "$1" == --* ]]; then pre+=("$1" "$2"); shift 2; else pre+=("$1"); shift; fi
  done
  local logfile=$1; shift
  log "  \$ $* (log: $logfile)"
  if ! "${_cmd[@]}" "${pre[@]}" "$logfile" "$@"; then
    local shown=${logfile//JOB/1}
    if [ -f "$shown" ]; then echo "---- last lines of $shown ----" >&2; tail -n 20 "$shown" >&2; fi
    return 1
  fi
}

train_job() {  # LOGFILE promptevc-subcommand args... : CPU, one GPU, or DDP through torchrun
  local logfile=$1; shift
  if [ "$ngpu" -gt 1 ]; then
    run_job cuda_cmd_a --gpu "$ngpu" "$logfile" \
      "${torchrun_a[@]}" --standalone --nnodes 1 --nproc_per_node "$ngpu" --no-python "${pe[@]}" "$@" --device cuda
  elif [ "$ngpu" -eq 1 ]; then
    run_job cuda_cmd_a --gpu 1 "$logfile" "${pe[@]}" "$@" --device cuda
  else
    run_job train_cmd_a "$logfile" "${pe[@]}" "$@" --device cpu
  fi
}

conf_digest() {  # contents of config files (or the names when they are not files)
  local f
  for f in "$@"; do if [ -f "$f" ]; then cat "$f"; else echo "$f"; fi; done
}

stage_inputs() {  # what a stage's result depends on (hashed into its marker); never nj/paths of logs
  case $1 in
    1) echo "corpus=$corpus root=$corpus_root language=$language speakers=$speakers sets=${sets[*]}"
       if [ -f "$local_data" ]; then cat "$local_data"; fi ;;
    2) echo "content=$content model=$content_model layer=$content_layer spk=$speaker_backbone f0=$f0_method $dump_args" ;;
    3) echo "evaluator $evaluator_args seed=$seed eval_seed=$eval_classifier_seed"; conf_digest "$evaluator_conf" ;;
    4) echo "intensity+prompts seed=$seed" ;;
    5) echo "units k=$units_k $units_args seed=$seed" ;;
    6) echo "acoustic $acoustic_args seed=$seed"; conf_digest "$acoustic_conf" ;;
    7) echo "vocoder train=$train_vocoder init=$vocoder_init $vocoder_args"; conf_digest "$vocoder_conf" ;;
    8) echo "convert mode=$convert_mode vocoder=$vocoder/$convert_vocoder train_vocoder=$train_vocoder max=$max_convert_utts $convert_args seed=$seed"
       conf_digest "$convert_prompts" ;;
    9) echo "evaluate $eval_args oracle=$eval_oracle" ;;
  esac
}

stage_outputs() {  # files that must exist after a stage (checked before skipping and after running)
  local s
  case $1 in
    1) for s in "${sets[@]}"; do
         echo "$data_root/$s/wav.scp" "$data_root/$s/utt2spk" "$data_root/$s/spk2utt" "$data_root/$s/text" \
              "$data_root/$s/utt2emo"
       done ;;
    2) for s in "${sets[@]}"; do echo "$data_root/$s/feats.scp" "$data_root/$s/feats_config.yaml"; done ;;
    3) echo "$evaluator_release/meta.json"
       if [ -n "$eval_classifier_seed" ]; then echo "$expdir/eval_classifier/release/meta.json"; fi ;;
    4) for s in "${sets[@]}"; do echo "$data_root/$s/utt2intensity" "$data_root/$s/utt2prompt"; done ;;
    5) echo "$expdir/units/kmeans.safetensors"; for s in "${sets[@]}"; do echo "$data_root/$s/units.scp"; done ;;
    6) echo "$acoustic_release/meta.json" ;;
    7) echo "$vocoder_release/meta.json" ;;
    8) echo "$convdir/pairs.csv" ;;
    9) echo "$expdir/RESULTS.md" ;;
  esac
}

marker_path() { if [ "$1" -le 2 ]; then echo "$data_root/.done/stage$1"; else echo "$expdir/.done/stage$1"; fi; }

declare -a stage_hash=("")
compute_hashes() {  # chain: a stage's hash covers its own inputs and every stage before it
  local n prev=""
  for n in 1 2 3 4 5 6 7 8 9; do
    prev=$({ echo "$prev"; stage_inputs "$n"; } | sha256sum | cut -c1-16)
    stage_hash[n]=$prev
  done
}

missing_outputs() {  # prints the outputs of stage $1 that do not exist
  local f
  for f in $(stage_outputs "$1"); do [ -e "$f" ] || echo "$f"; done
}

is_done() {  # stage $1 finished with the same inputs and its outputs are still there
  local m; m=$(marker_path "$1")
  [ -f "$m" ] && [ "$(head -n 1 "$m")" = "${stage_hash[$1]}" ] && [ -z "$(missing_outputs "$1")" ]
}

forced() { [ "$redo" = true ] || [[ " $force_stages " == *" $1 "* ]]; }

# ---- stages ----------------------------------------------------------------------------------
stage1() {
  [ -n "$corpus_root" ] || die "--corpus_root is required for stage 1 (the $corpus corpus folder)"
  if [ -f "$local_data" ]; then
    run_job train_cmd_a "$logdir/stage1_data.log" bash "$local_data" --corpus_root "$corpus_root" \
      --data_root "$data_root" --language "$language" --speakers "$speakers" --nj "$nj" --seed "$seed"
  else
    local -a spk=()
    if [ -n "$speakers" ]; then words spk "$speakers"; spk=(--speakers "${spk[@]}"); fi
    run_job train_cmd_a "$logdir/stage1_data.log" "${pe[@]}" prepare-data --corpus "$corpus" \
      --root "$corpus_root" --out "$data_root" --language "$language" "${spk[@]}"
  fi
  "$utils/validate_data_dir.sh" "${sets[@]/#/$data_root/}" || die "data dirs failed validation (see above)"
}

stage2() {
  local s n d extra=()
  words extra "$dump_args"
  local -a opts=(--content "$content" --content-model "$content_model" --content-layer "$content_layer"
                 --speaker "$speaker_backbone" --f0 "$f0_method" --device "$device" "${extra[@]}")
  for s in "${sets[@]}"; do
    d=$data_root/$s
    n=$(wc -l < "$d/wav.scp"); [ "$n" -lt "$nj" ] || n=$nj
    if [ "$n" -le 1 ]; then
      run_job decode_cmd_a "$logdir/dump_$s.log" "${pe[@]}" dump-features --data "$d" --nj 1 "${opts[@]}"
    else
      # Kaldi-style: split the data dir, one job per part through the back-end, merge the scp files.
      local split=$d/split$n
      "$utils/split_data_dir.sh" "$d" "$n"
      run_job decode_cmd_a JOB=1:"$n" "$logdir/dump_$s.JOB.log" \
        "${pe[@]}" dump-features --data "$split/JOB" --nj 1 "${opts[@]}"
      local f parts=()
      for f in feats.scp utt2num_frames; do
        parts=()
        for ((j = 1; j <= n; j++)); do if [ -f "$split/$j/$f" ]; then parts+=("$split/$j/$f"); fi; done
        if [ ${#parts[@]} -gt 0 ]; then "$utils/merge_scp.sh" "$d/$f" "${parts[@]}"; fi
      done
      cp "$split/1/feats_config.yaml" "$d/feats_config.yaml"
    fi
    [ "$(wc -l < "$d/feats.scp")" -eq "$(wc -l < "$d/wav.scp")" ] \
      || die "$d: feats.scp has $(wc -l < "$d/feats.scp") of $(wc -l < "$d/wav.scp") utterances"
  done
}

export_if_needed() {  # EXP : the trainers write EXP/release when they finish; export when one did not
  local exp=$1
  if [ -f "$exp/release/meta.json" ]; then return 0; fi
  run_job train_cmd_a "$logdir/export_$(basename "$exp").log" "${pe[@]}" export --exp "$exp" --out "$exp/release"
}

stage3() {
  local extra=(); words extra "$evaluator_args"
  train_job "$logdir/train_evaluator.log" train-evaluator --config "$evaluator_conf" \
    --data "$data_root/$train_set" --valid-data "$data_root/$valid_set" --exp "$expdir/evaluator" \
    --seed "$seed" --no-progress "${extra[@]}"
  export_if_needed "$expdir/evaluator"
  if [ -n "$eval_classifier_seed" ]; then
    train_job "$logdir/train_eval_classifier.log" train-evaluator --config "$evaluator_conf" \
      --data "$data_root/$train_set" --valid-data "$data_root/$valid_set" --exp "$expdir/eval_classifier" \
      --seed "$eval_classifier_seed" --no-progress "${extra[@]}"
    export_if_needed "$expdir/eval_classifier"
  fi
}

stage4() {
  local s split
  for s in "${sets[@]}"; do
    run_job train_cmd_a "$logdir/label_intensity_$s.log" "${pe[@]}" label-intensity --data "$data_root/$s" \
      --evaluator "$evaluator_release" --reference-data "$data_root/$train_set" --no-progress
    # Training and validation prompts from the training templates; the test set gets the held-out
    # templates, so stage 8/9 measure phrasings the model never saw.
    split=train; if [ "$s" = "$test_set" ]; then split=heldout; fi
    run_job train_cmd_a "$logdir/make_prompts_$s.log" "${pe[@]}" make-prompts --data "$data_root/$s" \
      --split "$split" --seed "$seed"
  done
  "$utils/validate_data_dir.sh" "${sets[@]/#/$data_root/}" || die "data dirs failed validation after stage 4"
}

stage5() {
  local extra=(); words extra "$units_args"
  run_job train_cmd_a "$logdir/fit_units.log" "${pe[@]}" fit-units --data "$data_root/$train_set" \
    --apply "$data_root/$valid_set" "$data_root/$test_set" --k "$units_k" --out "$expdir/units" \
    --seed "$seed" "${extra[@]}"
}

stage6() {
  local extra=(); words extra "$acoustic_args"
  train_job "$logdir/train_acoustic.log" train --config "$acoustic_conf" --data "$data_root/$train_set" \
    --valid-data "$data_root/$valid_set" --exp "$expdir/acoustic" --units "$expdir/units" \
    --evaluator "$evaluator_release" --seed "$seed" --no-progress "${extra[@]}"
  export_if_needed "$expdir/acoustic"
}

stage7() {
  local extra=(); words extra "$vocoder_args"
  local init=(); if [ -n "$vocoder_init" ]; then init=(--init "$vocoder_init"); fi
  train_job "$logdir/train_vocoder.log" train-vocoder --config "$vocoder_conf" --data "$data_root/$train_set" \
    --exp "$expdir/vocoder" "${init[@]}" --no-progress "${extra[@]}"
  export_if_needed "$expdir/vocoder"
}

stage8() {
  [ -f "$convert_prompts" ] || die "--convert_prompts: no prompt list '$convert_prompts' (emotion TAB intensity TAB level TAB prompt)"
  mkdir -p "$convdir"
  "$python" "$utils/conversion_pairs.py" select --data "$data_root/$test_set" --max-utts "$max_convert_utts" \
    --out "$convdir/src.scp"
  local voc=()
  if [ -n "$convert_vocoder" ]; then voc=(--vocoder "$convert_vocoder");
  elif [ "$train_vocoder" = true ]; then voc=(--vocoder "$vocoder_release");
  elif [ -n "$vocoder" ]; then voc=(--vocoder "$vocoder"); fi
  if [ "$convert_mode" = batch ]; then
    local n; n=$(grep -cv '^[[:space:]]*\(#\|$\)' "$convert_prompts"); [ "$n" -lt "$nj" ] || n=$nj
    run_job decode_cmd_a JOB=1:"$n" "$logdir/convert_batch.JOB.log" "$python" "$utils/convert_batch.py" \
      --src "$convdir/src.scp" --prompts "$convert_prompts" --out-dir "$convdir" --model "$acoustic_release" \
      "${voc[@]}" --seed "$seed" --device "$device" --job JOB --num-jobs "$n"
  else
    convert_cli "${voc[@]}"
  fi
  "$python" "$utils/conversion_pairs.py" pairs --convert-dir "$convdir" --prompts "$convert_prompts" \
    --src "$convdir/src.scp" --text "$data_root/$test_set/text" \
    --data-dirs "$data_root/$train_set" "$data_root/$valid_set" "$data_root/$test_set" \
    --out "$convdir/pairs.csv" --oracle-out "$convdir/oracle_pairs.csv"
}

convert_cli() {  # [--vocoder V] : one `promptevc convert` call per prompt line, up to nj at once
  local extra=(); words extra "$convert_args"
  local emo intensity level prompt cond running=0 failed=0
  local -a pids=()
  while IFS=$'\t' read -r emo intensity level prompt; do
    [[ -z "$emo" || "$emo" == \#* ]] && continue
    cond=${emo}_${level}
    run_job decode_cmd_a "$logdir/convert_$cond.log" "${pe[@]}" convert "$convdir/src.scp" --engine neural \
      --model "$acoustic_release" "$@" --prompt "$prompt" --out-dir "$convdir/$cond" --overwrite \
      --seed "$seed" --device "$device" "${extra[@]}" &
    pids+=($!); running=$((running + 1))
    if [ "$running" -ge "$nj" ]; then wait "${pids[0]}" || failed=$((failed + 1)); pids=("${pids[@]:1}"); running=$((running - 1)); fi
  done < "$convert_prompts"
  local p; for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  [ "$failed" -eq 0 ] || die "stage 8: $failed conversion jobs failed (logs: $logdir/convert_*.log)"
}

evaluate_pairs() {  # PAIRS OUTDIR LOGNAME : evaluate; a few failed pairs are reported, not fatal
  local extra=() cls=()
  words extra "$eval_args"
  if [ -f "$expdir/eval_classifier/release/meta.json" ]; then cls=(--classifier "$expdir/eval_classifier/release")
  elif [ -f "$evaluator_release/meta.json" ]; then cls=(--classifier "$evaluator_release"); fi
  if ! run_job decode_cmd_a "$logdir/$3.log" "${pe[@]}" evaluate --pairs "$1" --out "$2" \
       --transcripts "$data_root/$test_set/text" --overwrite --device "$device" "${cls[@]}" "${extra[@]}"; then
    [ -f "$2/summary.json" ] || die "evaluate failed for $1 (log: $logdir/$3.log)"
    log "  some pairs of $1 failed; see $2/utterances.csv (error column)"
  fi
}

stage9() {
  evaluate_pairs "$convdir/pairs.csv" "$expdir/eval" evaluate
  local oracle=()
  if [ "$eval_oracle" = true ] && [ -s "$convdir/oracle_pairs.csv" ]; then
    evaluate_pairs "$convdir/oracle_pairs.csv" "$expdir/eval_oracle" evaluate_oracle
    oracle=(--oracle "$expdir/eval_oracle")
  fi
  "$python" "$utils/make_results.py" --exp "$expdir" --eval "$expdir/eval" "${oracle[@]}" \
    --corpus "$corpus" --tag "$tag" --timings "$expdir/.done" --data-timings "$data_root/.done" \
    --out "$expdir/RESULTS.md"
  if [ -n "$results_md" ]; then cp "$expdir/RESULTS.md" "$results_md"; log "  results: $results_md"; fi
}

# ---- driver ----------------------------------------------------------------------------------
[[ "$stage" =~ ^[0-9]+$ && "$stop_stage" =~ ^[0-9]+$ ]] || die "--stage/--stop_stage must be numbers"
[[ "$ngpu" =~ ^[0-9]+$ ]] || die "--ngpu must be a number"
compute_hashes
summary=()
total_start=$SECONDS
for n in 1 2 3 4 5 6 7 8 9; do
  { [ "$n" -ge "$stage" ] && [ "$n" -le "$stop_stage" ]; } || continue
  name=${stage_names[n]}
  if [ "$n" -eq 7 ] && [ "$train_vocoder" != true ]; then
    log "stage 7 ($name): off (--train_vocoder false); stage 8 uses ${vocoder:-the default vocoder of the release}"
    summary+=("stage 7 $name: off"); continue
  fi
  if ! forced "$n" && is_done "$n"; then
    log "stage $n ($name): already done ($(marker_path "$n")), skipping"
    summary+=("stage $n $name: skipped (done)"); continue
  fi
  if [ "$dry_run" = true ]; then
    why="not done yet"
    if forced "$n"; then why="forced"; elif [ -f "$(marker_path "$n")" ]; then why="inputs changed or outputs missing"; fi
    log "stage $n ($name): would run ($why)"
    summary+=("stage $n $name: would run"); continue
  fi
  mkdir -p "$logdir" "$(dirname "$(marker_path "$n")")"
  rm -f "$(marker_path "$n")"
  log "stage $n ($name): start; log: $logdir/stage$n.log"
  start=$SECONDS
  set +e
  ( set -euo pipefail; "stage$n" ) 2>&1 | tee -a "$logdir/stage$n.log"
  rc=${PIPESTATUS[0]}
  set -e
  elapsed=$((SECONDS - start))
  if [ "$rc" -ne 0 ]; then
    log "stage $n ($name): FAILED after ${elapsed}s (exit $rc); not marked done. Fix it and re-run the same" \
        "command: finished stages are skipped and training resumes from its last checkpoint."
    exit "$rc"
  fi
  missing=$(missing_outputs "$n" | tr '\n' ' ')
  [ -z "$missing" ] || die "stage $n ($name) finished but its outputs are missing: $missing"
  printf '%s\nseconds=%s\nfinished=%s\n' "${stage_hash[n]}" "$elapsed" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    > "$(marker_path "$n")"
  log "stage $n ($name): done in ${elapsed}s"
  summary+=("stage $n $name: ran in ${elapsed}s")
done
log "summary (${tag}, $((SECONDS - total_start))s in all):"
for line in "${summary[@]}"; do log "  $line"; done
