"""The CLI's user-facing error, in its own module.

``python -m emopillars.cli.main`` runs ``main.py`` as ``__main__``, a second copy of that module: an exception
class defined there would exist twice, and ``except CLIError`` in one copy would miss the other's. Defined
here, it is one class however the CLI is started; ``emopillars.cli.main`` re-exports it.
"""

from __future__ import annotations


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2, no traceback."""
