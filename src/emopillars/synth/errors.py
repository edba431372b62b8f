"""What can stop a synthesis run. Every one of them leaves the finished work on disk and says what to do."""

from __future__ import annotations


class SynthesisError(RuntimeError):
    """A run that cannot go on (backend down, corrupt checkpoint, disk full); finished work stays on disk."""


class CheckpointError(SynthesisError, ValueError):
    """A checkpoint file that is damaged beyond a torn last line."""


class DamagedRunError(SynthesisError, ValueError):
    """A file of the output folder (config, plots snapshot, balancer state) that cannot be read."""


class ConfigMismatchError(SynthesisError, ValueError):
    """An existing output folder was made with a different configuration."""


class RunLockedError(SynthesisError):
    """Another run is working in the same output folder."""


class WiringError(SynthesisError, ValueError):
    """A pipeline whose steps read fields that no earlier step (or the pipeline) produces."""


class LLMCallError(SynthesisError):
    """LLM calls failed for a reason that is not the item's (server, network, key, model name).

    ``kind`` is the :class:`~emopillars.llm.types.ErrorKind` that stopped the run (``"fatal"`` or
    ``"transient"``). The failed rows are not recorded: a rerun after the fix retries them.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
