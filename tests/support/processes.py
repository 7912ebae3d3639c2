"""Child processes of tests: what they need to behave like a user's."""

from __future__ import annotations

import signal


def interruptible() -> None:
    """``preexec_fn`` for children a test will send Ctrl-C (SIGINT) to.

    A non-interactive shell starts background jobs (``.ci/run &``) with SIGINT ignored, and an
    ignored signal stays ignored across exec: the child would never see the test's Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
