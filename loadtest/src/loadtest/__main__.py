"""``python -m loadtest run --target URL [options]`` and ``python -m loadtest profile NAME``.

``run`` (:mod:`loadtest.runner`) gates a deployment; ``profile`` (:mod:`loadtest.profile_command`)
prints a resolved profile. The local environment and the tools that orchestrate runs on it are
``python -m localenv``; the Bot API emulator is ``python -m botapi_emulator``.
"""

import sys

from loadtest import profile_command, runner

_COMMANDS = {"run": runner.main, "profile": profile_command.main}


def main(argv: list[str] | None = None) -> int:
    """Run the command's ``main`` with the options after it."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in _COMMANDS:
        sys.stderr.write(
            "usage: python -m loadtest run --target URL [options]\n"
            "       python -m loadtest profile NAME [--set TABLE.KEY=VALUE]...\n"
            "  (the local environment: python -m localenv up|demo|capacity|bench-loadgen)\n"
        )
        return 2
    return _COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
