#!/usr/bin/env bash
# Slurm back-end with the same interface as run_local.sh (choose it in cmd.sh):
#
#   slurm.sh [--gpu N] [--mem 16G] [--time 24:00:00] [--partition P] [--num_threads N]
#            [--max_jobs_run N] [JOB=1:N] LOGFILE COMMAND [ARGS...]
#
# Submits one job array through `sbatch --wait` (a job id per array task, JOB replaced by
# $SLURM_ARRAY_TASK_ID in the log name and the arguments), waits for it, then checks every
# task's log for "# Ended (code 0)" and reports how many failed. The generated batch script
# and Slurm's own output go to <logdir>/q/. Extra sbatch flags: SLURM_EXTRA_ARGS in cmd.sh.
# GPUs are requested only with --gpu N (the pipeline adds it to GPU stages only). Ctrl-C or
# SIGTERM cancels the submitted job array (scancel) before exiting, so nothing keeps running
# on the cluster. Logged command lines are shell-quoted.
set -u

gpu=0; mem=""; time_limit=""; partition=""; num_threads=1; max_jobs_run=""
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu) gpu=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --time) time_limit=$2; shift 2 ;;
    --partition) partition=$2; shift 2 ;;
    --num_threads|--num-threads) num_threads=$2; shift 2 ;;
    --max_jobs_run|--max-jobs-run) max_jobs_run=$2; shift 2 ;;
    --*) echo "$0: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done

jobvar=""; first=1; last=1
if [[ $# -gt 0 && "$1" =~ ^([A-Z][A-Z0-9_]*)=([0-9]+):([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; first=${BASH_REMATCH[2]}; last=${BASH_REMATCH[3]}; shift
elif [[ $# -gt 0 && "$1" =~ ^([A-Z][A-Z0-9_]*)=([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; first=${BASH_REMATCH[2]}; last=$first; shift
fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [options] [JOB=1:N] LOGFILE COMMAND [ARGS...]" >&2
  exit 1
fi
command -v sbatch >/dev/null || { echo "$0: sbatch not found; use run_local.sh in cmd.sh" >&2; exit 1; }
logfile=$1; shift
logdir=$(dirname "$logfile")
qdir=$logdir/q
mkdir -p "$qdir"
base=$(basename "$logfile"); [ -n "$jobvar" ] && base=${base//$jobvar/array}
script=$qdir/${base%.log}.sh

{
  echo '#!/usr/bin/env bash'
  echo "cd $(printf '%q' "$PWD")"
  echo "id=\${SLURM_ARRAY_TASK_ID:-$first}"
  printf 'log=%q\n' "$logfile"
  printf 'cmd=('; printf '%q ' "$@"; echo ')'
  if [ -n "$jobvar" ]; then
    echo "log=\${log//$jobvar/\$id}"
    echo "for i in \"\${!cmd[@]}\"; do cmd[\$i]=\${cmd[\$i]//$jobvar/\$id}; done"
  fi
  cat <<'BODY'
mkdir -p "$(dirname "$log")"
start=$SECONDS
{ if [ ${#cmd[@]} -eq 1 ]; then printf '# %s\n' "${cmd[0]}"; else printf '#'; printf ' %q' "${cmd[@]}"; echo; fi
  echo "# Started at $(date) on $(hostname)"; } > "$log"
if [ ${#cmd[@]} -eq 1 ]; then bash -c "${cmd[0]}" >> "$log" 2>&1; else "${cmd[@]}" >> "$log" 2>&1; fi
rc=$?
{ echo "# Accounting: time=$((SECONDS - start)) threads=${SLURM_CPUS_PER_TASK:-1}"; echo "# Ended (code $rc) at $(date)"; } >> "$log"
exit $rc
BODY
} > "$script"
chmod +x "$script"

array="$first-$last"; [ -n "$max_jobs_run" ] && array="$array%$max_jobs_run"
sb_args=(--wait --array="$array" --cpus-per-task="$num_threads" -o "$qdir/${base%.log}.%a.out" -J "$(basename "${script%.sh}")")
[ "$gpu" -gt 0 ] && sb_args+=(--gres="gpu:$gpu")
[ -n "$mem" ] && sb_args+=(--mem="$mem")
[ -n "$time_limit" ] && sb_args+=(--time="$time_limit")
[ -n "$partition" ] && sb_args+=(--partition="$partition")
# shellcheck disable=SC2206
[ -n "${SLURM_EXTRA_ARGS:-}" ] && sb_args+=(${SLURM_EXTRA_ARGS})
# --parsable prints the job id at submission; --wait then blocks until the array ends. sbatch runs
# in the background so that an interrupt reaches our trap, which cancels the array.
submit_log="$qdir/${base%.log}.submit.log"
cancel() {
  local id
  id=$(grep -m1 -oE '^[0-9]+' "$submit_log" 2>/dev/null)
  if [ -n "$id" ]; then
    scancel "$id" 2>/dev/null && echo "$0: interrupted; cancelled Slurm job $id" >&2
  else
    echo "$0: interrupted before Slurm returned a job id; check squeue" >&2
  fi
  kill -TERM "$sb_pid" 2>/dev/null
  exit 130
}
sbatch --parsable "${sb_args[@]}" "$script" > "$submit_log" 2>&1 &
sb_pid=$!
trap cancel INT TERM
wait "$sb_pid"
sb_rc=$?
trap - INT TERM

failed=0
for ((id = first; id <= last; id++)); do
  log=$logfile; [ -n "$jobvar" ] && log=${log//$jobvar/$id}
  grep -q '^# Ended (code 0)' "$log" 2>/dev/null || failed=$((failed + 1))
done
njobs=$((last - first + 1))
if [ "$failed" -gt 0 ] || [ "$sb_rc" -ne 0 ]; then
  shown=$logfile; [ -n "$jobvar" ] && shown="${logfile//$jobvar/*}"
  echo "$0: $failed / $njobs jobs failed (sbatch exit $sb_rc), log is in $shown; sbatch output in $qdir" >&2
  exit 1
fi
exit 0
