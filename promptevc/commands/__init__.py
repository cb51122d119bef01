"""One module per ``promptevc`` subcommand (see :mod:`promptevc.cli`).

Each module defines ``NAME`` (the subcommand), ``HELP`` (one line), optional ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args) -> int``. Keep imports at module level light
(argparse wiring only); import torch and friends inside ``run`` so ``--help`` stays fast.
"""
