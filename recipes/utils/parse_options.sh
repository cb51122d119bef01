#!/usr/bin/env bash
# Kaldi-style option parsing, meant to be *sourced* after the caller has set its defaults:
#
#   stage=1; nj=4; use_gpu=false
#   . recipes/utils/parse_options.sh || exit 1
#
# Every "--some-name VALUE" or "--some_name VALUE" (also "--name=VALUE") sets the shell variable
# some_name, which must already exist (a typo is an error, not a silent new variable). A default
# of true/false makes the option boolean: its value must be true or false. "--config FILE" (or
# "--conf FILE") sources FILE (name=value lines) before the remaining options. "--help" prints $help_message.
# Positional arguments stay in "$@".

__po_die() { echo "$0: $*" >&2; exit 1; }

while true; do
  [ $# -eq 0 ] && break
  case "$1" in
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; else echo "$0: no help available"; fi
      exit 0 ;;
    --config|--conf)
      [ $# -ge 2 ] || __po_die "--config needs a file"
      [ -f "$2" ] || __po_die "--config $2: no such file"
      # shellcheck disable=SC1090
      . "$2" || __po_die "--config $2: failed to source"
      shift 2 ;;
    --config=*|--conf=*)
      __po_cfg="${1#*=}"
      [ -f "$__po_cfg" ] || __po_die "--config $__po_cfg: no such file"
      # shellcheck disable=SC1090
      . "$__po_cfg" || __po_die "--config $__po_cfg: failed to source"
      shift ;;
    --*=*)
      __po_name="${1%%=*}"; __po_name="${__po_name#--}"; __po_name="${__po_name//-/_}"
      __po_value="${1#*=}"
      shift
      set -- "--${__po_name}" "$__po_value" "$@" ;;
    --*)
      __po_name="${1#--}"; __po_name="${__po_name//-/_}"
      [[ "$__po_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || __po_die "invalid option name: $1"
      eval "__po_isset=\${${__po_name}+x}"
      if [ -z "$__po_isset" ]; then
        __po_die "unknown option $1 (see $0 --help)"
      fi
      [ $# -ge 2 ] || __po_die "option $1 needs a value"
      eval "__po_old=\"\${${__po_name}}\""
      if [ "$__po_old" = "true" ] || [ "$__po_old" = "false" ]; then
        [ "$2" = "true" ] || [ "$2" = "false" ] || __po_die "option $1: value must be true or false, got '$2'"
      fi
      printf -v "$__po_name" '%s' "$2"
      shift 2 ;;
    *) break ;;
  esac
done
unset __po_name __po_value __po_isset __po_old __po_cfg
true
