"""data/corpora"""
