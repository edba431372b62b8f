"""Stop signals inside a synthesis run: SIGTERM and SIGINT both raise, even when SIGINT was inherited ignored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")

CHILD = """
import signal, sys
from emopillars.synth.signals import Terminated, sigterm_as_interrupt
try:
    with sigterm_as_interrupt():
        print("ready", flush=True)
        sys.stdin.readline()  # blocks until a signal interrupts it or stdin closes
    print("not interrupted", flush=True)
except Terminated:
    print("terminated", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
# after the block, the inherited disposition is back
print("restored" if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else "not restored", flush=True)
"""


@pytest.mark.parametrize(("sig", "says"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")])
def test_a_stop_signal_raises_even_when_sigint_was_inherited_ignored(sig, says):
    # a command started in the background by a script (`cmd &`) inherits SIGINT ignored
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        env={**os.environ, "PYTHONPATH": SRC},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout.readline().strip() == "ready"  # inside the block: the handlers are in place
        proc.send_signal(sig)  # pending in the child before stdin closes below
        out, _ = proc.communicate(input="", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.split() == [says, "restored"]
