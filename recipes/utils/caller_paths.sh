#!/usr/bin/env bash
# Sourced by egs/<corpus>/run.sh *before* it changes into the egs folder:
#
#   . "$here/../../recipes/utils/caller_paths.sh"; caller_paths "$@"   # -> array caller_args
#
# Copies "$@" into the array caller_args with the value of every path option made absolute from
# the caller's working directory, so `./egs/esd/run.sh --esd_root corpus/ESD` means ./corpus/ESD
# where the user typed it, not egs/esd/corpus/ESD. Always paths: the options in
# caller_path_options; paths when such a file or folder exists (else a name, e.g. a packaged
# config or a Hub repo id): caller_maybe_path_options. Defaults and conf/pipeline.conf stay
# relative to the egs folder, as in Kaldi. Also exports RECIPE_COMMAND, the command as typed,
# shell-quoted, for messages that tell the user what to run.
caller_path_options=" corpus_root esd_root data_root exp_root dump_root results_md convert_prompts local_data conf_dir config conf "
caller_maybe_path_options=" evaluator_conf acoustic_conf vocoder_conf vocoder vocoder_init convert_vocoder content_model asr_model "

caller_abs() {  # PATH -> absolute from $PWD ("" and "auto" are kept)
  case $1 in ""|auto|/*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac
}

caller_paths() {
  caller_args=()
  local name value key inline
  RECIPE_COMMAND=$(printf '%q ' "$0" "$@"); RECIPE_COMMAND=${RECIPE_COMMAND% }
  export RECIPE_COMMAND
  while [ $# -gt 0 ]; do
    case $1 in
      --*=*) name=${1%%=*}; value=${1#*=}; inline=1 ;;
      --*) if [ $# -lt 2 ]; then caller_args+=("$1"); shift; continue; fi
           name=$1; value=$2; inline=0 ;;
      *) caller_args+=("$1"); shift; continue ;;
    esac
    key=${name#--}; key=${key//-/_}
    if [[ "$caller_path_options" == *" $key "* ]]; then
      value=$(caller_abs "$value")
    elif [[ "$caller_maybe_path_options" == *" $key "* && -n "$value" && -e "$value" ]]; then
      value=$(caller_abs "$value")
    fi
    if [ "$inline" -eq 1 ]; then caller_args+=("$name=$value"); shift; else caller_args+=("$name" "$value"); shift 2; fi
  done
}
