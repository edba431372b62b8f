"""SIGTERM (what schedulers, ``kill`` and ``docker stop`` send) handled like Ctrl-C.

Inside :func:`sigterm_as_interrupt` a SIGTERM raises :class:`Terminated`, a ``KeyboardInterrupt``, in the
main thread: every path written for Ctrl-C runs -- the batch in flight is cancelled, the answers that
landed are written as whole checkpoint lines, the manifest says "interrupted" -- and the CLI exits 143
(128 + 15) with a message saying how to resume. A second SIGTERM while stopping is logged, not raised,
so it cannot cut the cleanup short.

SIGINT is made to raise ``KeyboardInterrupt`` inside the block too, whatever the process inherited: a command
started in the background by a non-interactive shell (``emopillars synthesize ... &`` in a script or a CI job)
inherits SIGINT *ignored*, Python then installs no ``KeyboardInterrupt`` handler, and ``kill -INT`` (or a
supervisor's Ctrl-C) was silently ignored while the run went on. A stop request always stops the run cleanly.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

EXIT_SIGTERM = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """A SIGTERM arrived (raised like Ctrl-C's KeyboardInterrupt so that the same cleanup runs)."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` and SIGINT ``KeyboardInterrupt`` in the main thread
    (elsewhere: a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum, frame) -> None:
        nonlocal raised
        if raised:
            logger.warning("SIGTERM again: already stopping, saving finished work first")
            return
        raised = True
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
