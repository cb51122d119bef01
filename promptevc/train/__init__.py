"""Training: experiment dirs, resume checkpoints, DDP, and one trainer module per model kind.

Trainer modules (``acoustic``, ``evaluator``, ``vocoder``) each provide
``export_release(exp_dir, out_dir, checkpoint=None)``; ``promptevc export`` dispatches on the
kind recorded in ``EXP/experiment.json``.
"""

TRAINERS = {
    "acoustic": "promptevc.train.acoustic",
    "evaluator": "promptevc.train.evaluator",
    "vocoder": "promptevc.train.vocoder",
}
