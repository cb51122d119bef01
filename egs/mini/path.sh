# Environment for the recipe, sourced by recipes/pipeline.sh.
export PYTHONUNBUFFERED=1
# Offline by design: the mini recipe must never reach the network (the tiny configs use the
# packaged MiniLM prompt encoder and mel content features).
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
# Two CPU cores are shared by two parallel jobs: one thread each.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
