"""A test hook: die at a named point, as a kill -9 would, to prove what a crash there leaves behind.

Only the test suite sets ``PMD_TEST_KILL_AT``; unset (always, in use) it costs one environment lookup.
"""

from __future__ import annotations

import os
import signal


def kill_point(name: str) -> None:
    """SIGKILL this process when ``PMD_TEST_KILL_AT`` names this point (no cleanup, no atexit: a real crash)."""
    if os.environ.get("PMD_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
