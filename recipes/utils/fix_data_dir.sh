#!/usr/bin/env bash
# Fix Kaldi-style data dirs in place: sort, drop duplicate keys and invalid lines, keep only the
# utterances present in every file, rebuild spk2utt; originals are kept in DIR/.backup/. Prints
# what was dropped, then validates.
#
#   fix_data_dir.sh DIR [DIR ...]
exec "${PYTHON:-python}" -m promptevc.data.validate --fix "$@"
