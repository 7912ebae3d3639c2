"""``python -m loadtest <command>``: one entry point, each command owned by its own module.

Commands: ``run`` (a profile, gated), ``emulator`` (the Bot API emulator), ``bench``
(generator throughput), ``capacity`` (one worker's knee and autoscaler advice).
"""

import importlib
import sys

_COMMANDS = {
    "run": ("loadtest.runner", "Run a load profile and gate it (local environment or --target)."),
    "emulator": ("loadtest.emulator", "Serve the Bot API emulator."),
    "bench": ("loadtest.bench", "Benchmark one generator core: telegram model vs FastHttpUser."),
    "capacity": ("loadtest.capacity", "Find one bot worker's knee and recommend autoscaling."),
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
