"""Training: one loop (:mod:`.loop`) for every model kind, and a small task module per kind.

- :mod:`.loop` — ``fit(task, exp_dir)``: seeding, devices, DDP, precision, accumulation,
  clipping, non-finite steps, logging/validation/checkpoint cadence, resume, export.
- :mod:`.config` — :class:`~.config.TrainConfig`, the ``train:`` vocabulary shared by every task.
- :mod:`.optim` — optimisers and learning-rate schedules.
- :mod:`.checkpoint` — resume checkpoints; :mod:`.experiment` — experiment dirs; :mod:`.distributed` — DDP.
- Tasks: :mod:`.acoustic` (acoustic model + prompt mapper), :mod:`.evaluator` (emotion
  evaluator), :mod:`.vocoder` (generator + discriminators); :mod:`.losses`.

``promptevc export`` dispatches on the kind recorded in ``EXP/experiment.json``
(:func:`.loop.export_release`).
"""
