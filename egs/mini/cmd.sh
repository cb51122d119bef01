# Job back-ends (Kaldi style), sourced by recipes/pipeline.sh; the same roles as egs/esd/cmd.sh
# (train_cmd, decode_cmd: CPU jobs; cuda_cmd: GPU jobs, the pipeline adds --gpu N). Local jobs by
# default; recipes/utils/slurm.sh on a cluster.
utils_dir=../../recipes/utils
export train_cmd="$utils_dir/run_local.sh"
export cuda_cmd="$utils_dir/run_local.sh"
export decode_cmd="$utils_dir/run_local.sh --max_jobs_run 2"
# export train_cmd="$utils_dir/slurm.sh --mem 8G --time 4:00:00"
# export cuda_cmd="$utils_dir/slurm.sh --mem 32G --time 24:00:00"
# export decode_cmd="$utils_dir/slurm.sh --mem 8G --time 4:00:00"
