# Job back-ends (Kaldi style), sourced by recipes/pipeline.sh. Local parallel jobs by default.
# On a Slurm cluster switch to recipes/utils/slurm.sh (the pipeline adds --gpu N to cuda_cmd for
# training; put partition/account flags in SLURM_EXTRA_ARGS).
utils_dir=../../recipes/utils
export train_cmd="$utils_dir/run_local.sh"
export cuda_cmd="$utils_dir/run_local.sh"
export decode_cmd="$utils_dir/run_local.sh"
# export train_cmd="$utils_dir/slurm.sh --mem 16G --time 8:00:00 --num_threads 4"
# export cuda_cmd="$utils_dir/slurm.sh --mem 64G --time 72:00:00 --num_threads 8"
# export decode_cmd="$utils_dir/slurm.sh --mem 16G --time 8:00:00 --gpu 1"
# export SLURM_EXTRA_ARGS="--partition=gpu --account=myproject"
