"""``python -m loadtest <command>``: one entry point, each command owned by its own module.

Commands: ``run --target URL`` (a profile against a deployment, gated). The local environment
and the tools that orchestrate runs on it are ``python -m localenv``; the Bot API emulator is
``python -m botapi_emulator``.
"""

import importlib
import sys

_COMMANDS = {
    "run": ("loadtest.runner", "Run a load profile against --target URL and gate it."),
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the command's module, whose ``main(argv)`` parses its own options."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in _COMMANDS:
        lines = [f"  {name:<10} {doc}" for name, (_, doc) in _COMMANDS.items()]
        sys.stderr.write(
            "usage: python -m loadtest <command> [options]\n" + "\n".join(lines) + "\n"
        )
        return 2
    module = importlib.import_module(_COMMANDS[args[0]][0])
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    sys.exit(main())
