"""``python -m localenv <command>``: one entry point, each command owned by its own module."""

import importlib
import sys

_COMMANDS = {
    "up": ("localenv.up", "Bring the local environment up and keep it up until Ctrl-C."),
    "demo": ("localenv.demo", "Local environment plus a gated load run (python -m loadtest run)."),
    "capacity": ("localenv.capacity.ramp", "Find one bot worker's knee; recommend autoscaling."),
    "bench-loadgen": ("localenv.bench_loadgen", "One generator core: telegram model vs plain."),
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the command's module, whose ``main(argv)`` parses its own options."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in _COMMANDS:
        lines = [f"  {name:<14} {doc}" for name, (_, doc) in _COMMANDS.items()]
        sys.stderr.write(
            "usage: python -m localenv <command> [options]\n" + "\n".join(lines) + "\n"
        )
        return 2
    module = importlib.import_module(_COMMANDS[args[0]][0])
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    sys.exit(main())
