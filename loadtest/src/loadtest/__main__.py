"""``python -m loadtest run --target URL [options]``: a profile against a deployment, gated.

The load suite's one command (:mod:`loadtest.runner`). The local environment and the tools that
orchestrate runs on it are ``python -m localenv``; the Bot API emulator is ``python -m
botapi_emulator``.
"""

import sys

from loadtest import runner


def main(argv: list[str] | None = None) -> int:
    """Run ``run``'s ``main`` with the options after it."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["run"]:
        sys.stderr.write(
            "usage: python -m loadtest run --target URL [options]\n"
            "  (the local environment: python -m localenv up|demo|capacity|bench-loadgen)\n"
        )
        return 2
    return runner.main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
