"""The member's promise: standard library only, nothing of ours (import-linter covers ours)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import autoscaler_model

SOURCE = Path(autoscaler_model.__file__).parent


def test_imports_only_the_standard_library() -> None:
    outside = set()
    for module in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top != "autoscaler_model" and top not in sys.stdlib_module_names:
                    outside.add(f"{module.name}: {name}")
    assert not outside
