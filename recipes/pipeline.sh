#!/usr/bin/env bash
# PromptEVC staged pipeline, shared by every corpus (egs/<corpus>/run.sh sets options and calls it).
#
#   1 data prep         -> PREP={train,dev,test}: wav.scp utt2spk spk2utt text utt2emo (validated)
#   2 feature dump      -> the feature store (mel, F0, energy, content features, speaker embedding)
#                          and, in the tag's data dirs DATA/{train,dev,test}: feats.scp etc.
#   3 emotion evaluator -> EXP/evaluator/release
#   4 intensity + prompts -> utt2intensity and utt2prompt in every data dir of the tag
#   5 content units     -> EXP/units (k-means) and units.scp
#   6 acoustic model + prompt mapper -> EXP/acoustic/release
#   7 vocoder fine-tune (optional, --train_vocoder true) -> EXP/vocoder/release
#   8 convert the neutral test utterances with held-out prompts (emotion x intensity, hints, mixtures),
#     by every system of --convert_systems -> EXP/convert/pairs.csv (first system), EXP/convert/<system>/
#   9 evaluate -> EXP/eval (first system), EXP/eval_<system>, EXP/RESULTS.md (copied to --results_md)
#
# Where things go (recipes/README.md): PREP = data_root/<corpus>_<language>[_spk<hash>] (shared by
# every tag with the same corpus, language and speakers); the feature store dump_root/<corpus>/
# <settings key>/ (shared, one folder per combination of dump settings, never overwritten by
# other settings); everything else a tag writes is under EXP = exp_root/tag, its data dirs in
# EXP/data. Two tags never write the same file.
#
# Run from an egs/<corpus> folder (it reads ./cmd.sh, ./path.sh and ./local/data.sh there).
# Every side effect happens inside its stage. A stage that finished writes a marker (stage 1:
# PREP/.done/stage1; the others: EXP/.done/stageN) holding a hash of its options and configs
# (chained through the stages before it) and a signature of the outputs of every earlier stage
# (small files by content, folders by size and mtime), as its very last action. A stage is
# skipped when both match and its outputs exist; so re-running the same command continues where
# it stopped, and a stage whose inputs changed (e.g. a retrained evaluator for stage 4) runs
# again. A stage that fails or is killed leaves no marker and runs again; the trainers then resume
# from the latest checkpoint in the same EXP dir. --redo true or --force_stages "3 6" run stages
# again regardless.
set -euo pipefail

recipes_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$recipes_dir/utils

# ---- options (each can be given as --name VALUE; see --help) --------------------------------
stage=1                 # first stage to run
stop_stage=9            # last stage to run
nj=4                    # parallel jobs (feature dump workers, conversion)
ngpu=auto               # GPUs: auto = those visible here (0 without one); 0 = CPU; >1 = DDP through torchrun
device=auto             # device of feature dump / conversion / evaluation: auto (cuda when ngpu > 0), cpu, cuda
num_workers=auto        # data-loader workers of the trainers: auto = min(4, cores per GPU - 1)
tag=""                  # experiment name; default: <acoustic config name>
exp_root=exp            # experiments go to EXP=exp_root/tag
data_root=data          # stage 1 writes data_root/<corpus>_<language>/{train,dev,test}
dump_root=""            # feature store root (default: data_root/dump); features in dump_root/<corpus>/<key>/
redo=false              # run every selected stage even if it is done
force_stages=""         # stages to run again even if done, e.g. "6 8"
redo_dump=false         # stage 2 of a tag that has finished it with other dump settings: dump again
                        # (only the features the change affects) and re-run the later stages
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
intensity_folds=0       # >= 2: stage 3 also trains this many fold evaluators and stage 4 cross-fits the
                        # training set's intensity labels (each fold labelled by the evaluator that did
                        # not train on it); 0 = the stage 3 evaluator labels its own training data
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
convert_prompts=""      # TSV: emotion<TAB>intensity<TAB>level<TAB>prompt[<TAB>condition<TAB>hint<TAB>baseline<TAB>second];
                        # held-out phrasings only; default conf/convert_prompts.tsv, else recipes/conf/convert_prompts.tsv
convert_systems=neural  # systems stage 8 converts the same requests with (the first one fills the main tables):
                        # neural (learned control), neural_parser (--control parser), neural_projection
                        # (--prompt-mapper projection: without the prompt mapper), prosody (--engine prosody)
max_convert_utts=0      # neutral test utterances to convert (0 = all)
convert_mode=cli        # cli: one `promptevc convert` per prompt; batch: utils/convert_batch.py, one
                        # process per job that loads the model once (same outputs, less start-up)
convert_args=""
eval_args=""            # e.g. "--no-asr --no-dnsmos"
asr_model=""            # stage 9 recogniser (promptevc evaluate --asr): any transformers ASR id or folder;
                        # "" = evaluate's English default, or no WER/CER for other languages
eval_oracle=true        # also evaluate the real emotional recordings against the neutral source
results_md=auto         # where stage 9 copies EXP/RESULTS.md: auto = RESULTS.md (english) or
                        # RESULTS_<language>.md, RESULTS_<tag>.md if another tag's results are there;
                        # "" = leave it in EXP

help_message="Usage: $0 [options]   (run from egs/<corpus>/; see recipes/README.md)
  --stage N --stop_stage M   stages to run (1 data, 2 features, 3 evaluator, 4 intensity+prompts,
                             5 units, 6 acoustic, 7 vocoder, 8 convert, 9 evaluate)
  --corpus esd|mini --corpus_root DIR [--language english|mandarin] [--speakers \"0011 0012\"]
  --nj N (default $nj) --ngpu auto|N (default: the GPUs visible here, 0 without one)
  --device auto|cpu|cuda --num_workers auto|N --tag NAME --exp_root DIR --data_root DIR --dump_root DIR
  --evaluator_conf/--acoustic_conf/--vocoder_conf  YAML or packaged name; --*_args \"--set k=v ...\"
  --content hubert|mel --f0_method harvest|dio|pyin --units_k K --redo_dump true|false
  --intensity_folds K (>= 2: cross-fitted intensity labels; 0 = off) --eval_classifier_seed S
  --train_vocoder true|false --vocoder NAME --convert_vocoder NAME
  --max_convert_utts N --convert_prompts TSV --convert_systems \"neural neural_parser neural_projection prosody\"
  --eval_args \"...\" --asr_model ID --results_md FILE|auto
  --redo true|false --force_stages \"3 6\" --dry_run true|false --conf FILE (options file, also --config)
Without the Hugging Face Hub: --content mel --acoustic_args \"--set model.descriptor.encoder=packaged:all-MiniLM-L6-v2\"
  --vocoder hifigan-universal"

pipeline_argv=$(printf '%q ' "$0" "$@"); pipeline_argv=${pipeline_argv% }
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
recipe_command=${RECIPE_COMMAND:-$pipeline_argv}

# ---- helpers ---------------------------------------------------------------------------------
log() { echo "$(date +%H:%M:%S) [pipeline] $*"; }
die() { echo "$(date +%H:%M:%S) [pipeline] ERROR: $*" >&2; exit 1; }
words() { local -n _out=$1; read -r -a _out <<< "${2:-}"; }  # split an options string into an array
quoted() { local out; out=$(printf '%q ' "$@"); printf '%s' "${out% }"; }  # a command as it can be pasted

# ---- derived names (no side effects) ---------------------------------------------------------
packaged_configs=""  # promptevc/configs, looked up once (a Python start-up) when a config is given by name
resolve_conf() {  # a YAML path, or a packaged config name -> path (in the variable named $2)
  local c=$1; local -n _to=$2
  if [ -z "$c" ] || [ -f "$c" ]; then _to=$c; return; fi
  if [ -f "$conf_dir/$c" ]; then _to=$conf_dir/$c; return; fi
  if [ -f "$conf_dir/$c.yaml" ]; then _to=$conf_dir/$c.yaml; return; fi
  if [ -z "$packaged_configs" ]; then
    packaged_configs=$("$python" -c 'import os, promptevc; print(os.path.join(os.path.dirname(promptevc.__file__), "configs"))' \
                       2>/dev/null || echo none)
  fi
  if [ -f "$packaged_configs/$c.yaml" ]; then _to=$packaged_configs/$c.yaml; return; fi
  _to=$c  # left as given; the stage using it reports it
}
resolve_conf "$evaluator_conf" evaluator_conf
resolve_conf "$acoustic_conf" acoustic_conf
resolve_conf "$vocoder_conf" vocoder_conf
if [ -z "$convert_prompts" ]; then  # the egs' own list, else the shared default
  convert_prompts=$recipes_dir/conf/convert_prompts.tsv
  if [ -f "$conf_dir/convert_prompts.tsv" ]; then convert_prompts=$conf_dir/convert_prompts.tsv; fi
fi
[ -n "$tag" ] || tag=$(basename "${acoustic_conf%.yaml}")
[[ "$tag" =~ ^[A-Za-z0-9._+-]+$ ]] || die "--tag '$tag': use letters, digits and . _ + - only (it names folders)"
expdir=$exp_root/$tag
logdir=$expdir/logs
datadir=$expdir/data    # the tag's own data dirs (stages 2, 4, 5 write here)
sets=("$train_set" "$valid_set" "$test_set")
dataset=${corpus}_${language}
if [ -n "$speakers" ]; then dataset+=_spk$(printf '%s' "$speakers" | tr -s ' ' | sha256sum | cut -c1-8); fi
prepdir=$data_root/$dataset
[ -n "$dump_root" ] || dump_root=$data_root/dump
store_root=$dump_root/$corpus
evaluator_release=$expdir/evaluator/release
acoustic_release=$expdir/acoustic/release
vocoder_release=$expdir/vocoder/release
convdir=$expdir/convert
stage_names=("" "data prep" "feature dump" "emotion evaluator" "intensity labels + prompts" "content units"
             "acoustic model + prompt mapper" "vocoder fine-tune" "convert test set" "evaluate")
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1)  # nproc alone obeys OMP_NUM_THREADS

is_local_cmd() { local -a c; read -r -a c <<< "$1"; [ "$(basename "${c[0]}")" = run_local.sh ]; }

visible_gpus() {  # GPUs torch can use on this machine; 0 fast when there is no GPU driver at all
  if [ "${CUDA_VISIBLE_DEVICES-unset}" = "" ] || [ "${CUDA_VISIBLE_DEVICES:-}" = "-1" ]; then echo 0; return; fi
  if ! command -v nvidia-smi >/dev/null 2>&1 && [ ! -e /dev/nvidia0 ] && [ ! -e /dev/kfd ]; then echo 0; return; fi
  "$python" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0
}

gpu_absent_reason() {  # one phrase saying why torch sees no (or too few) GPUs
  local why
  if ! command -v nvidia-smi >/dev/null 2>&1 && [ ! -e /dev/nvidia0 ] && [ ! -e /dev/kfd ]; then
    echo "no GPU driver on this machine: no nvidia-smi, /dev/nvidia0 or /dev/kfd"; return
  fi
  why=$("$python" -c 'import torch
cuda = torch.version.cuda
print(f"torch {torch.__version__} was built without CUDA" if cuda is None else
      f"torch {torch.__version__} (CUDA {cuda}) sees {torch.cuda.device_count()} GPU(s)")' 2>/dev/null) \
    || why="torch cannot be imported"
  if [ -n "${CUDA_VISIBLE_DEVICES+x}" ]; then why+="; CUDA_VISIBLE_DEVICES='$CUDA_VISIBLE_DEVICES'"; fi
  echo "$why"
}

# ---- run commands through the job back-ends --------------------------------------------------
run_job() {  # CMD_ARRAY_NAME [--gpu N ...] [JOB=a:b] LOGFILE COMMAND... : run through a job back-end
  local -n _cmd=$1; shift
  local -a pre=()
  while [[ $# -gt 0 && ( "$1" == --* || "$1" =~ ^JOB= ) ]]; do
    if [[ "$1" == --* ]]; then pre+=("$1" "$2"); shift 2; else pre+=("$1"); shift; fi
  done
  local logfile=$1; shift
  log "  \$ $(quoted "$@")   (log: $(quoted "$logfile"))"
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

infer_job() {  # [JOB=a:b] LOGFILE COMMAND... : conversion/evaluation jobs, on one GPU each when device is cuda
  if [ "$device" = cuda ]; then run_job cuda_cmd_a --gpu 1 "$@"; else run_job decode_cmd_a "$@"; fi
}

# ---- done markers ----------------------------------------------------------------------------
conf_digest() {  # contents of config files (or the names when they are not files)
  local f
  for f in "$@"; do if [ -f "$f" ]; then cat "$f"; else echo "$f"; fi; done
}

stage_inputs() {  # options a stage's result depends on (hashed into its marker); never nj/paths of logs
  case $1 in
    1) echo "corpus=$corpus root=$corpus_root language=$language speakers=$speakers sets=${sets[*]}"
       if [ -f "$local_data" ]; then cat "$local_data"; fi ;;
    2) if [ "$content" = mel ]; then echo "content=mel spk=$speaker_backbone f0=$f0_method $dump_args"
       else echo "content=$content model=$content_model layer=$content_layer spk=$speaker_backbone f0=$f0_method $dump_args"; fi ;;
    3) echo "evaluator $evaluator_args seed=$seed eval_seed=$eval_classifier_seed folds=$intensity_folds"
       conf_digest "$evaluator_conf" ;;
    4) echo "intensity+prompts seed=$seed folds=$intensity_folds" ;;
    5) echo "units k=$units_k $units_args seed=$seed" ;;
    6) echo "acoustic $acoustic_args seed=$seed"; conf_digest "$acoustic_conf" ;;
    7) echo "vocoder train=$train_vocoder init=$vocoder_init $vocoder_args"; conf_digest "$vocoder_conf" ;;
    8) echo "convert mode=$convert_mode vocoder=$vocoder/$convert_vocoder train_vocoder=$train_vocoder max=$max_convert_utts $convert_args seed=$seed"
       if [ "$convert_systems" != neural ]; then echo "systems=$convert_systems"; fi
       conf_digest "$convert_prompts" ;;
    9) echo "evaluate $eval_args asr=$asr_model oracle=$eval_oracle"
       if [ "$convert_systems" != neural ]; then echo "systems=$convert_systems"; fi ;;
  esac
}

set_files() {  # DIR NAME... : DIR/<set>/NAME for every set, one per line
  local dir=$1 s f; shift
  for s in "${sets[@]}"; do for f in "$@"; do printf '%s\n' "$dir/$s/$f"; done; done
}

stage_experiments() {  # the training experiment dirs stage $1 writes, one per line
  case $1 in
    3) printf '%s\n' "$expdir/evaluator" "$expdir/eval_classifier" "$expdir/evaluator_folds" ;;
    6) printf '%s\n' "$expdir/acoustic" ;;
    7) printf '%s\n' "$expdir/vocoder" ;;
  esac
}

retire_experiments() {  # stage $1 re-runs on changed inputs or options ($2): its finished trainings
  # would only resume at their last step, so they are moved aside (kept, never deleted) and the
  # stage trains afresh. An interrupted stage has no marker and resumes instead.
  local d stamp; stamp=$(date -u +%Y%m%dT%H%M%SZ)
  while IFS= read -r d; do
    [ -e "$d" ] || continue
    mv "$d" "$d.stale-$stamp"
    log "  $d was trained before ($2): moved to $d.stale-$stamp; training starts afresh"
  done < <(stage_experiments "$1")
}

fold_releases() {  # [FILE] : the cross-fitting fold evaluators' releases (or FILE inside each), one per line
  local k
  for ((k = 1; k <= intensity_folds; k++)); do printf '%s\n' "$expdir/evaluator_folds/fold$k/release${1:+/$1}"; done
}

stage_outputs() {  # files that must exist after a stage, one per line (checked before skipping and after running)
  case $1 in
    1) set_files "$prepdir" wav.scp utt2spk spk2utt text utt2emo ;;
    2) set_files "$datadir" wav.scp utt2spk spk2utt text utt2emo feats.scp utt2num_frames feats_config.yaml ;;
    3) printf '%s\n' "$evaluator_release/meta.json"
       if [ -n "$eval_classifier_seed" ]; then printf '%s\n' "$expdir/eval_classifier/release/meta.json"; fi
       fold_releases meta.json ;;
    4) set_files "$datadir" utt2intensity utt2prompt ;;
    5) printf '%s\n' "$expdir/units/kmeans.safetensors"; set_files "$datadir" units.scp ;;
    6) printf '%s\n' "$acoustic_release/meta.json" ;;
    7) printf '%s\n' "$vocoder_release/meta.json" ;;
    8) printf '%s\n' "$convdir/pairs.csv" ;;
    9) printf '%s\n' "$expdir/RESULTS.md" ;;
  esac
}

stage_products() {  # what later stages read from a stage, one path per line (signed into their markers)
  case $1 in
    1|2|4) stage_outputs "$1" ;;
    3) printf '%s\n' "$evaluator_release"; if [ -n "$eval_classifier_seed" ]; then printf '%s\n' "$expdir/eval_classifier/release"; fi
       fold_releases ;;
    5) printf '%s\n' "$expdir/units"; set_files "$datadir" units.scp units ;;
    6) printf '%s\n' "$acoustic_release" ;;
    7) if [ "$train_vocoder" = true ]; then printf '%s\n' "$vocoder_release"; fi ;;
    8) printf '%s\n' "$convdir" ;;
  esac
}

deps_signature() {  # stage N -> signature of its inputs on disk: the corpus for stage 1, else every earlier stage's products
  local n=$1 k
  local -a paths=()
  if [ "$n" -eq 1 ]; then
    paths=("$corpus_root")
  else
    for ((k = 1; k < n; k++)); do mapfile -t -O "${#paths[@]}" paths < <(stage_products "$k"); done
  fi
  "$python" "$utils/signature.py" "${paths[@]}"
}

marker_path() { if [ "$1" -eq 1 ]; then echo "$prepdir/.done/stage1"; else echo "$expdir/.done/stage$1"; fi; }

declare -a stage_hash=("")
compute_hashes() {  # chain: a stage's hash covers its own inputs and every stage before it
  local n prev=""
  for n in 1 2 3 4 5 6 7 8 9; do
    prev=$({ echo "$prev"; stage_inputs "$n"; } | sha256sum | cut -c1-16)
    stage_hash[n]=$prev
  done
}

missing_outputs() {  # prints the outputs of stage $1 that do not exist, one per line
  local f
  while IFS= read -r f; do [ -e "$f" ] || printf '%s\n' "$f"; done < <(stage_outputs "$1")
}

marker_field() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }  # MARKER KEY -> value

why_not_done() {  # stage $1: "" when done, else why not
  local m; m=$(marker_path "$1")
  if [ ! -f "$m" ]; then echo "not done yet"; return; fi
  if [ "$(head -n 1 "$m")" != "${stage_hash[$1]}" ]; then echo "its options or configs changed"; return; fi
  if [ "$(marker_field "$m" deps)" != "$(deps_signature "$1")" ]; then
    if [ "$1" -eq 1 ]; then echo "the corpus changed"; else echo "the outputs of an earlier stage changed"; fi
    return
  fi
  local missing; missing=$(missing_outputs "$1" | head -n 3 | tr '\n' ' ')
  if [ -n "$missing" ]; then echo "outputs missing: $missing"; return; fi
  if [ "$1" -eq 2 ]; then  # the features themselves live in the store: spot-check that they are there
    local s path
    for s in "${sets[@]}"; do
      path=$(head -n 1 "$datadir/$s/feats.scp" | cut -d' ' -f2-)
      if [ ! -f "$path" ]; then echo "features missing from the store ($path)"; return; fi
    done
  fi
}

is_done() { [ -z "$(why_not_done "$1")" ]; }

forced() { [ "$redo" = true ] || [[ " $force_stages " == *" $1 "* ]]; }

stage_off() { [ "$1" -eq 7 ] && [ "$train_vocoder" != true ]; }

# ---- stages ----------------------------------------------------------------------------------
stage1() {
  [ -n "$corpus_root" ] || die "no corpus: pass --corpus_root DIR (egs/esd: --esd_root DIR, the extracted ESD folder)"
  if [ -f "$local_data" ]; then
    run_job train_cmd_a "$logdir/stage1_data.log" bash "$local_data" --corpus_root "$corpus_root" \
      --data_root "$prepdir" --language "$language" --speakers "$speakers" --nj "$nj" --seed "$seed"
  else
    local -a spk=()
    if [ -n "$speakers" ]; then words spk "$speakers"; spk=(--speakers "${spk[@]}"); fi
    run_job train_cmd_a "$logdir/stage1_data.log" "${pe[@]}" prepare-data --corpus "$corpus" \
      --root "$corpus_root" --out "$prepdir" --language "$language" "${spk[@]}"
  fi
  "$utils/validate_data_dir.sh" "${sets[@]/#/$prepdir/}" || die "data dirs failed validation (see above)"
}

check_tag_identity() {  # before stage 2 runs again: the tag must keep its corpus, and its dump settings unless --redo_dump
  local m; m=$(marker_path 2)
  [ -f "$m" ] || return 0
  local old_set old_dump now_dump
  old_set=$(marker_field "$m" dataset); old_dump=$(marker_field "$m" dump); now_dump=$(stage_inputs 2)
  if [ -n "$old_set" ] && [ "$old_set" != "$dataset" ]; then
    die "tag '$tag' ($expdir) was built on $old_set; this run asks for $dataset. Use another tag, e.g." \
        "--tag ${tag}_${language}, so that both stay (or delete $expdir to rebuild it)"
  fi
  if [ -n "$old_dump" ] && [ "$old_dump" != "$now_dump" ] && [ "$redo_dump" != true ]; then
    local changed; changed=$(diff_words "$old_dump" "$now_dump")
    die "tag '$tag' was dumped with other feature settings ($changed). Add --redo_dump true to dump again" \
        "what the change affects (the rest is copied from the store) and re-run the later stages of '$tag'," \
        "or use another --tag to keep both"
  fi
}

diff_words() {  # OLD NEW (space-separated key=value) -> "key: old -> new, ..."
  local -A before=(); local w out=()
  for w in $1; do before[${w%%=*}]=${w#*=}; done
  for w in $2; do
    local k=${w%%=*} v=${w#*=}
    if [ "${before[$k]-}" != "$v" ]; then out+=("$k: ${before[$k]-none} -> $v"); fi
  done
  local IFS=,; echo "${out[*]:-extra dump options}"
}

stage2() {
  local s n f extra=()
  words extra "$dump_args"
  # The tag's data dirs start as copies of the shared data prep.
  for s in "${sets[@]}"; do
    mkdir -p "$datadir/$s"
    for f in wav.scp utt2spk spk2utt text utt2emo; do cp "$prepdir/$s/$f" "$datadir/$s/$f"; done
  done
  # Every set at once into the shared store: an utterance is dumped once whatever set or tag asks.
  local work=$expdir/dump
  mkdir -p "$work"
  local -a lists=(); for s in "${sets[@]}"; do lists+=("$datadir/$s/wav.scp"); done
  cat "${lists[@]}" | LC_ALL=C sort -u -k1,1 > "$work/wav.scp"
  n=$(wc -l < "$work/wav.scp")
  local jobs workers threads be
  local -a opts=(--store "$store_root" --content "$content" --content-model "$content_model"
                 --content-layer "$content_layer" --speaker "$speaker_backbone" --f0 "$f0_method" --no-progress)
  if [ "$device" = cuda ]; then
    # One process per GPU holds the neural models; nj signal-processing workers feed each.
    jobs=$(( ngpu > 1 ? ngpu : 1 )); workers=$(( nj / jobs > 1 ? nj / jobs : 1 )); threads=2; be=gpu
  else
    jobs=$nj; workers=1; threads=$(( cores / nj > 1 ? cores / nj : 1 )); be=cpu
  fi
  [ "$jobs" -le "$n" ] || jobs=$n
  opts+=(--nj "$workers" --threads "$threads" --device "$device" "${extra[@]}")
  log "  dumping $n utterances of ${sets[*]} into $store_root ($jobs job(s), $be, $workers worker(s) each)"
  local -a parts=() logs=()
  if [ "$jobs" -le 1 ]; then
    parts=("$work"); logs=("$logdir/dump.log")
    if [ $be = gpu ]; then run_job cuda_cmd_a --gpu 1 "$logdir/dump.log" "${pe[@]}" dump-features --data "$work" "${opts[@]}"
    else run_job decode_cmd_a "$logdir/dump.log" "${pe[@]}" dump-features --data "$work" "${opts[@]}"; fi
  else
    # Kaldi-style parts of the utterance list; they hold lists only (features are in the store),
    # so they are rebuilt every time at no cost.
    local split=$work/split$jobs j
    rm -rf "$split"
    for ((j = 1; j <= jobs; j++)); do parts+=("$split/$j"); logs+=("$logdir/dump.$j.log"); done
    "$utils/split_scp.sh" "$work/wav.scp" "${parts[@]/%//wav.scp}"
    if [ $be = gpu ]; then
      run_job cuda_cmd_a --gpu 1 JOB=1:"$jobs" "$logdir/dump.JOB.log" "${pe[@]}" dump-features --data "$split/JOB" "${opts[@]}"
    else
      run_job decode_cmd_a JOB=1:"$jobs" "$logdir/dump.JOB.log" "${pe[@]}" dump-features --data "$split/JOB" "${opts[@]}"
    fi
    for f in feats.scp utt2num_frames; do "$utils/merge_scp.sh" "$work/$f" "${parts[@]/%//$f}"; done
    cp "$split/1/feats_config.yaml" "$work/feats_config.yaml"
  fi
  for s in "${sets[@]}"; do
    for f in feats.scp utt2num_frames; do
      "$utils/filter_scp.sh" "$datadir/$s/wav.scp" "$work/$f" > "$datadir/$s/$f.tmp" && mv "$datadir/$s/$f.tmp" "$datadir/$s/$f"
    done
    cp "$work/feats_config.yaml" "$datadir/$s/feats_config.yaml"
    [ "$(wc -l < "$datadir/$s/feats.scp")" -eq "$(wc -l < "$datadir/$s/wav.scp")" ] \
      || die "$datadir/$s: feats.scp has $(wc -l < "$datadir/$s/feats.scp") of $(wc -l < "$datadir/$s/wav.scp") utterances"
  done
  grep -h ": dumped " "${logs[@]}" | grep -v " INFO " | sed 's/^/  /' || true
}

export_if_needed() {  # EXP : the trainers write EXP/release when they finish; export when one did not
  local exp=$1
  if [ -f "$exp/release/meta.json" ]; then return 0; fi
  run_job train_cmd_a "$logdir/export_$(basename "$exp").log" "${pe[@]}" export --exp "$exp" --out "$exp/release"
}

stage3() {
  local extra=(); words extra "$evaluator_args"
  extra=(--set "train.num_workers=$num_workers" "${extra[@]}")
  train_job "$logdir/train_evaluator.log" train-evaluator --config "$evaluator_conf" \
    --data "$datadir/$train_set" --valid-data "$datadir/$valid_set" --exp "$expdir/evaluator" \
    --seed "$seed" --no-progress "${extra[@]}"
  export_if_needed "$expdir/evaluator"
  if [ -n "$eval_classifier_seed" ]; then
    train_job "$logdir/train_eval_classifier.log" train-evaluator --config "$evaluator_conf" \
      --data "$datadir/$train_set" --valid-data "$datadir/$valid_set" --exp "$expdir/eval_classifier" \
      --seed "$eval_classifier_seed" --no-progress "${extra[@]}"
    export_if_needed "$expdir/eval_classifier"
  fi
  local k
  for ((k = 1; k <= intensity_folds; k++)); do  # cross-fitting: fold k's evaluator never sees fold k
    train_job "$logdir/train_evaluator_fold$k.log" train-evaluator --config "$evaluator_conf" \
      --data "$datadir/$train_set" --valid-data "$datadir/$valid_set" --exp "$expdir/evaluator_folds/fold$k" \
      --fold "$k/$intensity_folds" --seed "$seed" --no-progress "${extra[@]}"
    export_if_needed "$expdir/evaluator_folds/fold$k"
  done
}

stage4() {
  local s split
  local -a folds=()
  mapfile -t folds < <(fold_releases)
  for s in "${sets[@]}"; do
    if [ "$s" = "$train_set" ] && [ "${#folds[@]}" -gt 0 ]; then  # the data the evaluators trained on
      run_job train_cmd_a "$logdir/label_intensity_$s.log" "${pe[@]}" label-intensity --data "$datadir/$s" \
        --cross-fit "${folds[@]}" --no-progress
    else
      run_job train_cmd_a "$logdir/label_intensity_$s.log" "${pe[@]}" label-intensity --data "$datadir/$s" \
        --evaluator "$evaluator_release" --reference-data "$datadir/$train_set" --no-progress
    fi
    # Training and validation prompts from the training templates; the test set gets the held-out
    # templates, so stage 8/9 measure phrasings the model never saw.
    split=train; if [ "$s" = "$test_set" ]; then split=heldout; fi
    run_job train_cmd_a "$logdir/make_prompts_$s.log" "${pe[@]}" make-prompts --data "$datadir/$s" \
      --split "$split" --seed "$seed"
  done
  "$utils/validate_data_dir.sh" "${sets[@]/#/$datadir/}" || die "data dirs failed validation after stage 4"
}

stage5() {
  local extra=(); words extra "$units_args"
  run_job train_cmd_a "$logdir/fit_units.log" "${pe[@]}" fit-units --data "$datadir/$train_set" \
    --apply "$datadir/$valid_set" "$datadir/$test_set" --k "$units_k" --out "$expdir/units" \
    --seed "$seed" --no-progress "${extra[@]}"
}

stage6() {
  local extra=(); words extra "$acoustic_args"
  extra=(--set "train.num_workers=$num_workers" "${extra[@]}")
  train_job "$logdir/train_acoustic.log" train --config "$acoustic_conf" --data "$datadir/$train_set" \
    --valid-data "$datadir/$valid_set" --exp "$expdir/acoustic" --units "$expdir/units" \
    --evaluator "$evaluator_release" --seed "$seed" --no-progress "${extra[@]}"
  export_if_needed "$expdir/acoustic"
}

stage7() {
  local extra=(); words extra "$vocoder_args"
  extra=(--set "train.num_workers=$num_workers" "${extra[@]}")
  local init=(); if [ -n "$vocoder_init" ]; then init=(--init "$vocoder_init"); fi
  train_job "$logdir/train_vocoder.log" train-vocoder --config "$vocoder_conf" --data "$datadir/$train_set" \
    --exp "$expdir/vocoder" "${init[@]}" --no-progress "${extra[@]}"
  export_if_needed "$expdir/vocoder"
}

stage8_vocoder() {  # the vocoder options of stage 8
  if [ -n "$convert_vocoder" ]; then printf '%s\n' --vocoder "$convert_vocoder"
  elif [ "$train_vocoder" = true ]; then printf '%s\n' --vocoder "$vocoder_release"
  elif [ -n "$vocoder" ]; then printf '%s\n' --vocoder "$vocoder"; fi
}

system_dir() {  # SYSTEM INDEX BASE : where a system's stage 8/9 outputs go (the first system: BASE itself)
  if [ "$2" -eq 0 ]; then printf '%s' "$3"; else printf '%s' "${3%/}${4:-/}$1"; fi
}

stage8() {
  [ -f "$convert_prompts" ] || die "--convert_prompts: no prompt list '$convert_prompts' (emotion TAB intensity TAB level TAB prompt)"
  # A training phrasing in the list: one line, before anything is converted.
  "$python" "$utils/conversion_pairs.py" check --prompts "$convert_prompts" || exit 1
  mkdir -p "$convdir"
  "$python" "$utils/conversion_pairs.py" select --data "$datadir/$test_set" --max-utts "$max_convert_utts" \
    --out "$convdir/src.scp"
  local voc=(); mapfile -t voc < <(stage8_vocoder)
  local systems=(); words systems "$convert_systems"
  local i sys out oracle_out=()
  for i in "${!systems[@]}"; do
    sys=${systems[$i]}; out=$(system_dir "$sys" "$i" "$convdir")
    log "  system $sys -> $out"
    local sysvoc=("${voc[@]}"); if [ "$sys" = prosody ]; then sysvoc=(); fi
    mkdir -p "$out"
    if [ "$convert_mode" = batch ]; then
      local n; n=$(grep -cv '^[[:space:]]*\(#\|$\)' "$convert_prompts"); [ "$n" -lt "$nj" ] || n=$nj
      infer_job JOB=1:"$n" "$logdir/convert_batch.$sys.JOB.log" "$python" "$utils/convert_batch.py" \
        --src "$convdir/src.scp" --prompts "$convert_prompts" --out-dir "$out" --model "$acoustic_release" \
        --system "$sys" "${sysvoc[@]}" --seed "$seed" --device "$device" --job JOB --num-jobs "$n"
    else
      convert_cli "$sys" "$out" "${sysvoc[@]}"
    fi
    oracle_out=(); if [ "$i" -eq 0 ]; then oracle_out=(--oracle-out "$convdir/oracle_pairs.csv"); fi
    "$python" "$utils/conversion_pairs.py" pairs --convert-dir "$out" --prompts "$convert_prompts" \
      --src "$convdir/src.scp" --text "$datadir/$test_set/text" \
      --data-dirs "$datadir/$train_set" "$datadir/$valid_set" "$datadir/$test_set" \
      --out "$out/pairs.csv" "${oracle_out[@]}"
  done
}

convert_cli() {  # SYSTEM OUTDIR [--vocoder V] : one `promptevc convert` call per prompt line, up to nj at once
  local sys=$1 out=$2; shift 2
  local extra=(); words extra "$convert_args"
  local engine=(); mapfile -t engine < <("$python" "$utils/conversion_pairs.py" system-args "$sys")
  if [ "$sys" != prosody ]; then engine+=(--model "$acoustic_release"); fi
  local cond prompt running=0 failed=0
  local -a pids=()
  while IFS=$'\t' read -r cond prompt; do
    infer_job "$logdir/convert_${sys}_$cond.log" "${pe[@]}" convert "$convdir/src.scp" "${engine[@]}" \
      "$@" --prompt "$prompt" --out-dir "$out/$cond" --overwrite \
      --seed "$seed" --device "$device" "${extra[@]}" &
    pids+=($!); running=$((running + 1))
    if [ "$running" -ge "$nj" ]; then wait "${pids[0]}" || failed=$((failed + 1)); pids=("${pids[@]:1}"); running=$((running - 1)); fi
  done < <("$python" "$utils/conversion_pairs.py" list --prompts "$convert_prompts")
  local p; for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  [ "$failed" -eq 0 ] || die "stage 8: $failed conversion jobs failed (logs: $logdir/convert_${sys}_*.log)"
}

asr_options() {  # the recogniser options of stage 9, and a note when content is not measured
  if [ -n "$asr_model" ]; then printf '%s\n' --asr "$asr_model"; return; fi
  if [ "$language" != english ] && [[ " $eval_args " != *" --asr "* && " $eval_args " != *" --no-asr "* ]]; then
    printf '%s\n' --no-asr
  fi
}

evaluate_pairs() {  # PAIRS OUTDIR LOGNAME : evaluate; a few failed pairs are reported, not fatal
  local extra=() cls=() asr=()
  words extra "$eval_args"
  mapfile -t asr < <(asr_options)
  if [ -f "$expdir/eval_classifier/release/meta.json" ]; then cls=(--classifier "$expdir/eval_classifier/release")
  elif [ -f "$evaluator_release/meta.json" ]; then cls=(--classifier "$evaluator_release"); fi
  if ! infer_job "$logdir/$3.log" "${pe[@]}" evaluate --pairs "$1" --out "$2" \
       --transcripts "$datadir/$test_set/text" --overwrite --device "$device" "${cls[@]}" "${asr[@]}" "${extra[@]}"; then
    [ -f "$2/summary.json" ] || die "evaluate failed for $1 (log: $logdir/$3.log)"
    log "  some pairs of $1 failed; see $2/utterances.csv (error column)"
  fi
}

results_target() {  # where stage 9 copies RESULTS.md ("" = nowhere)
  local target=$results_md
  if [ "$target" = auto ]; then
    target=RESULTS.md; if [ "$language" != english ]; then target=RESULTS_${language}.md; fi
    # Never replace another tag's results: they go beside them under this tag's name.
    if [ -f "$target" ]; then
      local owner; owner=$(sed -n '1s/^# Results: .* (\(.*\))$/\1/p' "$target")
      if [ -n "$owner" ] && [ "$owner" != "$tag" ] && ! grep -q '^\*\*Not filled yet' "$target"; then
        target=RESULTS_${tag}.md
      fi
    fi
  fi
  printf '%s' "$target"
}

stage9() {
  local note=()
  if [ -z "$asr_model" ] && [ "$language" != english ] && [[ " $eval_args " != *" --asr "* ]]; then
    note=(--note "Content preservation (WER/CER) was not measured: no recogniser for $language was given. Pass any transformers ASR model that knows $language with --asr_model ID.")
    log "  no $language recogniser given (--asr_model ID): WER/CER are not measured"
  fi
  # One evaluation per system (and one of the real recordings), up to nj at once.
  local systems=(); words systems "$convert_systems"
  local i sys ev sysargs=() jobs=() oracle=() pids=() failed=0
  for i in "${!systems[@]}"; do
    sys=${systems[$i]}; ev=$(system_dir "$sys" "$i" "$expdir/eval" _)
    jobs+=("$(system_dir "$sys" "$i" "$convdir")/pairs.csv|$ev|evaluate$([ "$i" -eq 0 ] || echo "_$sys")")
    sysargs+=(--system "$sys=$ev")
  done
  if [ "$eval_oracle" = true ] && [ -s "$convdir/oracle_pairs.csv" ]; then
    jobs+=("$convdir/oracle_pairs.csv|$expdir/eval_oracle|evaluate_oracle")
    oracle=(--oracle "$expdir/eval_oracle")
  fi
  local job pairs_csv out_dir name
  for job in "${jobs[@]}"; do
    IFS='|' read -r pairs_csv out_dir name <<< "$job"
    log "  $pairs_csv -> $out_dir"
    evaluate_pairs "$pairs_csv" "$out_dir" "$name" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$nj" ]; then wait "${pids[0]}" || failed=$((failed + 1)); pids=("${pids[@]:1}"); fi
  done
  local pid; for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
  [ "$failed" -eq 0 ] || die "stage 9: $failed evaluations failed (logs: $logdir/evaluate*.log)"
  "$python" "$utils/make_results.py" --exp "$expdir" --eval "$expdir/eval" "${oracle[@]}" \
    --prompts "$convert_prompts" "${sysargs[@]}" --vocoder "$(stage8_vocoder | tail -n 1)" --corpus "$corpus" --tag "$tag" --language "$language" --timings "$expdir/.done" \
    --data-timings "$prepdir/.done" "${note[@]}" --out "$expdir/RESULTS.md"
  local target; target=$(results_target)
  if [ -n "$target" ]; then cp "$expdir/RESULTS.md" "$target"; log "  results: $target"; fi
}

# ---- pre-flight: GPUs, workers, models (no side effects) --------------------------------------
[[ "$stage" =~ ^[0-9]+$ && "$stop_stage" =~ ^[0-9]+$ ]] || die "--stage/--stop_stage must be numbers"
[[ "$nj" =~ ^[1-9][0-9]*$ ]] || die "--nj must be a positive number, got '$nj'"
if [ "$ngpu" = auto ]; then
  if is_local_cmd "$cuda_cmd"; then ngpu=$(visible_gpus); ngpu_from="visible here"
  else ngpu=0; ngpu_from="cuda_cmd runs elsewhere: pass --ngpu N for the GPUs of its jobs"; fi
else
  ngpu_from="--ngpu"
fi
[[ "$ngpu" =~ ^[0-9]+$ ]] || die "--ngpu must be auto or a number, got '$ngpu'"
if [ "$device" = auto ]; then device=cpu; if [ "$ngpu" -gt 0 ]; then device=cuda; fi; fi
[[ "$device" =~ ^(cpu|cuda)$ ]] || die "--device must be auto, cpu or cuda, got '$device'"
words _systems "$convert_systems"
[ ${#_systems[@]} -gt 0 ] || die "--convert_systems: give at least one system"
for _s in "${_systems[@]}"; do
  [[ "$_s" =~ ^(neural|neural_parser|neural_projection|prosody)$ ]] \
    || die "--convert_systems: unknown system '$_s' (neural, neural_parser, neural_projection, prosody)"
done
[ "$(printf '%s\n' "${_systems[@]}" | sort -u | wc -l)" -eq ${#_systems[@]} ] || die "--convert_systems: a system is given twice"
if { [ "$ngpu" -gt 0 ] || [ "$device" = cuda ]; } && is_local_cmd "$cuda_cmd"; then
  have=$(visible_gpus); want=$(( ngpu > 1 ? ngpu : 1 ))
  if [ "$have" -lt "$want" ]; then
    die "--ngpu $ngpu / --device $device: $have GPU(s) usable here ($(gpu_absent_reason)). Run with --ngpu $have" \
        "--device cpu (the default on this machine), or on a machine with $want GPU(s)"
  fi
fi
if [ "$num_workers" = auto ]; then
  per=$(( cores / (ngpu > 1 ? ngpu : 1) - 1 )); num_workers=$(( per < 0 ? 0 : per > 4 ? 4 : per ))
fi
[[ "$num_workers" =~ ^[0-9]+$ ]] || die "--num_workers must be auto or a number, got '$num_workers'"
[[ "$intensity_folds" =~ ^[0-9]+$ ]] && [ "$intensity_folds" -ne 1 ] \
  || die "--intensity_folds must be 0 (off) or a number of folds >= 2, got '$intensity_folds'"
compute_hashes

selected() { [ "$1" -ge "$stage" ] && [ "$1" -le "$stop_stage" ] && ! stage_off "$1"; }

check_models() {  # fail in a second, before any work, when a model the selected stages need is unreachable
  local -a need=()
  if selected 2 && [ "$content" != mel ]; then need+=(--need 2 "content model" "$content_model" "--content mel"); fi
  if selected 2 && [ "$speaker_backbone" = wavlm ]; then
    need+=(--need 2 "speaker model" microsoft/wavlm-base-sv "--speaker_backbone ge2e")
  fi
  if selected 6; then need+=(--text-encoder 6 "$acoustic_conf" "$acoustic_args"); fi
  if selected 7 && [ -n "$vocoder_init" ]; then need+=(--need 7 "pretrained vocoder" "$vocoder_init" "--vocoder_init ''"); fi
  if selected 8; then
    local voc=(); mapfile -t voc < <(stage8_vocoder)
    if [ ${#voc[@]} -eq 2 ] && [ "${voc[1]}" != "$vocoder_release" ]; then
      need+=(--need 8 vocoder "${voc[1]}" "--vocoder hifigan-universal")
    fi
  fi
  if selected 9 && [ -n "$asr_model" ]; then need+=(--need 9 "recogniser" "$asr_model" "--asr_model ''"); fi
  [ ${#need[@]} -gt 0 ] || return 0
  "$python" "$utils/check_models.py" --command "$recipe_command" "${need[@]}"
}

if ! models_report=$(check_models 2>&1); then
  while IFS= read -r line; do echo "$(date +%H:%M:%S) [pipeline] $line" >&2; done <<< "$models_report"
  if [ "$dry_run" = true ]; then log "(dry run: the stages above would fail)"; else
    die "a pretrained model is not available (see above); nothing was run"
  fi
fi

# Stages before --stage must be done for the current inputs: never build on stale or missing work.
for ((k = 1; k < stage && k <= 9; k++)); do
  stage_off "$k" && continue
  why=$(why_not_done "$k")
  if [ -n "$why" ]; then
    msg="stage $stage needs stage $k (${stage_names[k]}), which is not done for these options ($why): run from --stage $k"
    if [ "$dry_run" = true ]; then log "$msg"; else die "$msg"; fi
  fi
done

# ---- driver ----------------------------------------------------------------------------------
log "tag $tag: data $prepdir, features $store_root, experiment $expdir; ngpu $ngpu ($ngpu_from), device $device, nj $nj"
summary=()
total_start=$SECONDS
stage_pgid=""
on_interrupt() {  # stop the running stage and everything it started; it stays unmarked
  trap - INT TERM
  if [ -n "$stage_pgid" ]; then kill -TERM -- "-$stage_pgid" 2>/dev/null || true; wait 2>/dev/null || true; fi
  echo "$(date +%H:%M:%S) [pipeline] interrupted${current:+ during stage $current}; that stage is not marked done." \
       "Run the same command to continue: $recipe_command" >&2
  exit 130
}
trap on_interrupt INT TERM
current=""
for n in 1 2 3 4 5 6 7 8 9; do
  { [ "$n" -ge "$stage" ] && [ "$n" -le "$stop_stage" ]; } || continue
  name=${stage_names[n]}
  if stage_off "$n"; then
    log "stage 7 ($name): off (--train_vocoder false); stage 8 uses ${convert_vocoder:-${vocoder:-the default vocoder of the release}}"
    summary+=("stage 7 $name: off"); continue
  fi
  why=""
  if forced "$n"; then why="forced"; else why=$(why_not_done "$n"); fi
  if [ -z "$why" ]; then
    log "stage $n ($name): already done ($(marker_path "$n")), skipping"
    summary+=("stage $n $name: skipped (done)"); continue
  fi
  if [ "$dry_run" = true ]; then
    log "stage $n ($name): would run ($why)"
    summary+=("stage $n $name: would run"); continue
  fi
  if [ "$n" -eq 2 ]; then check_tag_identity; fi
  mkdir -p "$logdir" "$(dirname "$(marker_path "$n")")"
  log "stage $n ($name): start ($why); log: $logdir/stage$n.log"
  if [ -f "$(marker_path "$n")" ]; then retire_experiments "$n" "${why}"; fi
  rm -f "$(marker_path "$n")"
  start=$SECONDS
  current=$n
  rcfile=$(mktemp "${TMPDIR:-/tmp}/pipeline_rc.XXXXXX")
  # The stage runs as its own process group (set -m), so an interrupt can stop all it started.
  # (errexit is off around it: a failing stage must reach the echo, and `||` would switch off
  # errexit inside the stage itself.)
  set +e -m
  { ( set -euo pipefail; "stage$n" ) 2>&1; echo "$?" > "$rcfile"; } | tee -a "$logdir/stage$n.log" &
  stage_pid=$!
  set -e +m
  stage_pgid=$(cut -d' ' -f5 "/proc/$stage_pid/stat" 2>/dev/null || ps -o pgid= -p "$stage_pid" | tr -d ' ')
  wait "$stage_pid" || true
  stage_pgid=""
  rc=$(cat "$rcfile" 2>/dev/null || echo 1); rm -f "$rcfile"; rc=${rc:-1}
  current=""
  elapsed=$((SECONDS - start))
  if [ "$rc" -ne 0 ]; then
    # The error line of the stage; else the last line a job printed (not the runner's bookkeeping).
    cause=$(grep -hE '(error|ERROR):? |^[A-Za-z.]*Error: ' "$logdir/stage$n.log" | tail -n 1 \
            | sed 's/^[0-9:]* \[pipeline\] //' || true)
    if [ -z "$cause" ]; then
      cause=$(grep -vE '^(#|----)|\[pipeline\]|jobs failed|^\s*$' "$logdir/stage$n.log" | tail -n 1 || true)
    fi
    log "stage $n ($name): FAILED after ${elapsed}s (exit $rc); not marked done."
    if [ -n "$cause" ]; then log "  cause: $cause"; fi
    if grep -qE "Hugging Face|HF_HUB_OFFLINE|cannot load" <<< "$cause"; then
      log "  fix: make the model available (pre-fetch it into the Hugging Face cache) or run without the Hub:"
      log "       $recipe_command --content mel --acoustic_args '--set model.descriptor.encoder=packaged:all-MiniLM-L6-v2' --vocoder hifigan-universal"
    elif grep -qiE "CUDA|GPU" <<< "$cause"; then
      log "  fix: run on the CPU with --ngpu 0 --device cpu, or check the GPU (nvidia-smi)"
    elif grep -qiE "No space left" <<< "$cause"; then
      log "  fix: free disk space (features: $store_root; experiments: $exp_root), then run the same command"
    else
      log "  fix: the cause above (full log: $logdir/stage$n.log); then run the same command again: finished" \
          "stages are skipped, the dump keeps what it dumped and training resumes from its last checkpoint:"
      log "       $recipe_command"
    fi
    exit "$rc"
  fi
  missing=$(missing_outputs "$n" | tr '\n' ' ')
  [ -z "$missing" ] || die "stage $n ($name) finished but its outputs are missing: $missing"
  {
    printf '%s\ndeps=%s\nseconds=%s\nfinished=%s\n' "${stage_hash[n]}" "$(deps_signature "$n")" "$elapsed" \
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    if [ "$n" -eq 2 ]; then printf 'dataset=%s\ndump=%s\n' "$dataset" "$(stage_inputs 2)"; fi
  } > "$(marker_path "$n").tmp"
  mv "$(marker_path "$n").tmp" "$(marker_path "$n")"
  log "stage $n ($name): done in ${elapsed}s"
  summary+=("stage $n $name: ran in ${elapsed}s")
done
log "summary (${tag}, $((SECONDS - total_start))s in all):"
for line in "${summary[@]}"; do log "  $line"; done
