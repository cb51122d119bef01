#!/usr/bin/env bash
# Local parallel job runner with Kaldi's run.pl interface (the default back-end in cmd.sh).
#
#   run_local.sh [--max_jobs_run N] [--gpu N] [--mem X] [--time T] [JOB=1:N] LOGFILE COMMAND [ARGS...]
#
# With JOB=a:b the command runs once per job id, JOB replaced by the id in LOGFILE and in every
# argument; at most --max_jobs_run (default: number of CPU cores) run at once. Each log gets the
# command at the top and "# Accounting: time=..." / "# Ended (code N)" at the bottom, as run.pl
# writes them. Arguments are passed as they are (no shell re-parsing, so prompts with spaces
# survive); a single COMMAND string containing shell syntax is run with bash -c instead.
# The command line at the top of each log is shell-quoted, so it can be pasted back into a shell.
# Exits 0 when every job succeeded, else prints how many failed and where the log is.
# --gpu N gives each job N GPUs of its own: CUDA_VISIBLE_DEVICES is set per job from the GPUs
# visible here (CUDA_VISIBLE_DEVICES, else nvidia-smi), at most (#GPUs / N) jobs run at once,
# and job k takes GPU slot (k - first) mod that. --mem, --time, --num_threads and --partition
# are accepted for compatibility with slurm.sh and ignored. SIGINT/SIGTERM stop every job.
set -u

max_jobs_run=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1)  # not OMP-limited
gpu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --max_jobs_run|--max-jobs-run) max_jobs_run=$2; shift 2 ;;
    --gpu) gpu=$2; shift 2 ;;
    --mem|--time|--num_threads|--num-threads|--partition) shift 2 ;;
    --*) echo "$0: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done

jobvar=""; first=1; last=1
if [[ $# -gt 0 && "$1" =~ ^([A-Z][A-Z0-9_]*)=([0-9]+):([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; first=${BASH_REMATCH[2]}; last=${BASH_REMATCH[3]}
  shift
  [ "$first" -le "$last" ] || { echo "$0: empty job range $first:$last" >&2; exit 1; }
elif [[ $# -gt 0 && "$1" =~ ^([A-Z][A-Z0-9_]*)=([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; first=${BASH_REMATCH[2]}; last=$first
  shift
fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--max_jobs_run N] [JOB=1:N] LOGFILE COMMAND [ARGS...]" >&2
  exit 1
fi
logfile=$1; shift

gpu_list=()
if [ "$gpu" -gt 0 ]; then
  if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
    IFS=, read -r -a gpu_list <<< "$CUDA_VISIBLE_DEVICES"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
    for ((i = 0; i < n; i++)); do gpu_list+=("$i"); done
  fi
  slots=$(( ${#gpu_list[@]} / gpu ))
  if [ "$slots" -ge 1 ] && [ "$max_jobs_run" -gt "$slots" ]; then max_jobs_run=$slots; fi
fi

gpus_for() {  # job id -> comma-separated GPU ids for that job ("" when none are known)
  local slots=$(( ${#gpu_list[@]} / gpu )) slot i out=()
  [ "$slots" -ge 1 ] || return 0
  slot=$(( ($1 - first) % slots ))
  for ((i = slot * gpu; i < (slot + 1) * gpu; i++)); do out+=("${gpu_list[$i]}"); done
  (IFS=,; printf '%s' "${out[*]}")
}

run_one() {  # $1 = job id; runs the command with substitution, writing its own log
  local id=$1 log=$logfile
  local -a cmd=("${@:2}")
  if [ -n "$jobvar" ]; then
    log=${log//$jobvar/$id}
    local i
    for i in "${!cmd[@]}"; do cmd[$i]=${cmd[$i]//$jobvar/$id}; done
  fi
  mkdir -p "$(dirname "$log")"
  local start=$SECONDS rc
  local -a envs=()
  if [ "$gpu" -gt 0 ]; then
    local g; g=$(gpus_for "$id")
    if [ -n "$g" ]; then envs=(env "CUDA_VISIBLE_DEVICES=$g"); fi
  fi
  {
    if [ ${#cmd[@]} -eq 1 ]; then printf '# %s\n' "${cmd[0]}"; else printf '#'; printf ' %q' "${cmd[@]}"; echo; fi
    if [ ${#envs[@]} -gt 0 ]; then echo "# ${envs[1]}"; fi
    echo "# Started at $(date)"
  } > "$log"
  if [ ${#cmd[@]} -eq 1 ]; then
    "${envs[@]}" bash -c "${cmd[0]}" >> "$log" 2>&1 </dev/null
  else
    "${envs[@]}" "${cmd[@]}" >> "$log" 2>&1 </dev/null
  fi
  rc=$?
  {
    echo "# Accounting: time=$((SECONDS - start)) threads=1"
    echo "# Ended (code $rc) at $(date)"
  } >> "$log"
  return $rc
}

declare -A pids=()
failed=0
stop_jobs() {  # interrupted: stop the jobs (and what they started), then give up
  local p
  for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  wait
  echo "$0: interrupted; stopped the running jobs (log: $logfile)" >&2
  exit 130
}
trap stop_jobs INT TERM
for ((id = first; id <= last; id++)); do
  # Keep at most max_jobs_run jobs in flight.
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs_run" ]; do wait -n 2>/dev/null || true; done
  run_one "$id" "$@" &
  pids[$id]=$!
done
for id in "${!pids[@]}"; do
  wait "${pids[$id]}" || failed=$((failed + 1))
done
njobs=$((last - first + 1))
if [ "$failed" -gt 0 ]; then
  shown=$logfile; [ -n "$jobvar" ] && shown="${logfile//$jobvar/*}"
  echo "$0: $failed / $njobs jobs failed, log is in $shown" >&2
  exit 1
fi
exit 0
