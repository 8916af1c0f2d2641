"""The training side's one-line user errors (all EncoreError, so the CLI prints one line)."""

from __future__ import annotations

from live.core.errors import EncoreError


class CorpusError(EncoreError):
    """A corpus that cannot be built or read: empty, no usable melody, wrong file."""


class CheckpointError(EncoreError):
    """A run folder or checkpoint that cannot be used (another arch, missing, foreign)."""


class ExportError(EncoreError):
    """An export that failed its own check; nothing was written."""


class MissingExtraError(EncoreError):
    """A command that needs an optional extra that is not installed."""

    def __init__(self, module: str, extra: str, command: str):
        super().__init__(
            f"'{command}' needs {module}, which is not installed; "
            f"install the extra: pip install -e '.[{extra}]'"
        )


class TrainConfigError(EncoreError):
    """Training options that do not fit together."""


class TrainingProcessError(EncoreError):
    """One of several training processes (DDP) failed; its own message came first."""


class TrainingDiverged(EncoreError):
    """The loss (or a weight) stopped being a number: training stopped, and nothing of
    that step on was saved, so the run's last checkpoint is its last good one."""
