"""tests/waiting.py fails as it should: a watched process that ends, a condition that never holds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.waiting import wait_until


def test_returns_once_the_condition_holds() -> None:
    calls = iter([False, False, True])
    wait_until("the third look", lambda: next(calls), timeout=60, poll=0)


def test_fails_when_the_watched_process_ends_first() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], text=True)
    proc.wait(timeout=60)
    with pytest.raises(pytest.fail.Exception, match="ended before the row"):
        wait_until("the row", lambda: False, alive=[proc], output=lambda: "its log")


def test_fails_at_the_deadline_with_the_output() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"(?s)waiting for the row.*its log"):
        wait_until("the row", lambda: False, timeout=0, output=lambda: "its log", poll=0)
