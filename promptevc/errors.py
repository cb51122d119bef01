"""User-facing errors.

Anything a user can cause (a bad file, a bad option, a missing model) raises a subclass of
:class:`PromptEVCError` whose message is one readable line naming the thing, the value and the
fix. The CLI prints that line and exits non-zero; any other exception is a bug and keeps its
traceback.
"""


class PromptEVCError(Exception):
    """Base class for errors caused by user input; the message is shown as is."""


class ConfigError(PromptEVCError):
    """A configuration file or override is invalid."""


class AudioError(PromptEVCError):
    """An audio file cannot be read, or fails the input policy (too short, silent, ...)."""


class OutputExistsError(PromptEVCError):
    """An output file exists and ``--overwrite`` was not given, or would clobber the input."""


class PromptError(PromptEVCError):
    """A prompt is empty or cannot be understood."""


class ModelLoadError(PromptEVCError):
    """A release, vocoder or checkpoint cannot be found or does not match what is expected."""


class TrainingError(PromptEVCError):
    """Training cannot go on (e.g. the loss stayed non-finite); the message says what to change."""
