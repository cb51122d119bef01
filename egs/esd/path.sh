# Environment for the recipe, sourced by recipes/pipeline.sh.
export PYTHONUNBUFFERED=1
# Hugging Face models (RoBERTa, HuBERT, SpeechT5 HiFi-GAN) are downloaded once into the cache;
# on an offline cluster node pre-fetch them and uncomment:
# export HF_HUB_OFFLINE=1
# export HF_HOME=/shared/hf-cache
