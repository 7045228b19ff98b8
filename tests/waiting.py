"""One way for tests to wait: poll a condition until it holds, with a generous deadline.

No test waits for time to pass; each waits for something it can see (a row, a log line), and
fails at once, with the output, when the process it watches exits first.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence

import pytest


def wait_until(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float = 120,
    alive: Sequence[subprocess.Popen[str]] = (),
    output: Callable[[], str] = lambda: "",
    poll: float = 0.1,
) -> None:
    """Return once ``check()`` is true; fail when a process of *alive* ends first, or when
    *timeout* seconds pass. *output* supplies what to show on failure (the processes' logs)."""
    deadline = time.monotonic() + timeout
    while not check():
        if any(proc.poll() is not None for proc in alive):
            pytest.fail(f"the process ended before {what}:\n{output()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{output()[-3000:]}")
        time.sleep(poll)  # the polling interval, inside the deadline
