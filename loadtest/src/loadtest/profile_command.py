"""``python -m loadtest profile NAME [--set TABLE.KEY=VALUE]...``: a resolved profile as JSON.

It loads the profile the way a run does (the same overrides and checks) and prints its shape
(with every stage), delivery and gates, so a tool that orchestrates runs (``python -m localenv
capacity``) plans from the suite's own reading instead of parsing the TOML itself. Exit 2 with
one line on an unknown profile or an invalid value.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from loadtest.profiles import describe_profile, load_profile, profile_names

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Print the resolved profile; 0, or 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="python -m loadtest profile", description=__doc__)
    parser.add_argument("profile", help=f"one of {profile_names()} or a path")
    parser.add_argument(
        "--set", action="append", default=[], metavar="TABLE.KEY=VALUE", help="an override"
    )
    args = parser.parse_args(argv)
    try:
        profile = load_profile(args.profile, args.set)
    except ValueError as error:
        sys.stderr.write(f"loadtest profile: {error}\n")
        return 2
    sys.stdout.write(json.dumps(describe_profile(profile), indent=2, sort_keys=True) + "\n")
    return 0
