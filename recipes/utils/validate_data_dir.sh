#!/usr/bin/env bash
# Validate Kaldi-style data dirs (sorted, unique keys, consistent utt2spk/spk2utt, every utterance
# in text/utt2emo/utt2intensity, labels in EMOTIONS, intensities in [0, 1], audio files exist).
#
#   validate_data_dir.sh [--no-check-files] DIR [DIR ...]
#
# Prints one readable line per problem and exits 1 if there is any. The checks live in
# promptevc/data/validate.py.
exec "${PYTHON:-python}" -m promptevc.data.validate "$@"
