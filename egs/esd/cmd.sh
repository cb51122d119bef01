# Job back-ends (Kaldi style), sourced by recipes/pipeline.sh. Local parallel jobs by default.
#   train_cmd   CPU jobs (data prep, intensity labels, units, CPU training)
#   decode_cmd  CPU jobs of the feature dump, conversion and evaluation
#   cuda_cmd    GPU jobs: training with --ngpu N, and the dump/conversion/evaluation when the device
#               is cuda; the pipeline adds --gpu N itself, so only these jobs ask for GPUs.
# On a Slurm cluster switch to recipes/utils/slurm.sh (Ctrl-C cancels the submitted jobs); put
# partition/account flags in SLURM_EXTRA_ARGS and give --ngpu N explicitly (the login node has no GPU).
utils_dir=../../recipes/utils
export train_cmd="$utils_dir/run_local.sh"
export cuda_cmd="$utils_dir/run_local.sh"
export decode_cmd="$utils_dir/run_local.sh"
# export train_cmd="$utils_dir/slurm.sh --mem 16G --time 8:00:00 --num_threads 4"
# export decode_cmd="$utils_dir/slurm.sh --mem 8G --time 4:00:00 --num_threads 2"
# export cuda_cmd="$utils_dir/slurm.sh --mem 64G --time 72:00:00 --num_threads 8"
# export SLURM_EXTRA_ARGS="--partition=gpu --account=myproject"
