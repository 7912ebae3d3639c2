"""A model of the repository's GitHub workflows for tests: steps, make calls, load-suite contract.

The load suite's CLI contract (the flags of ``python -m loadtest run`` and its report files) is
read from the suite itself when it exposes it (``loadtest.runner.build_parser()``, and the file
names ``SUMMARY``, ``JUNIT``, ``CHART`` in ``loadtest.report``); until then it is encoded once,
here, from the shared interface agreed in the team's brief, so the tests keep checking the
workflow against that contract.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
GITHUB_DIR = REPO_ROOT / ".github"
WORKFLOWS_DIR = GITHUB_DIR / "workflows"
PROFILES_DIR = REPO_ROOT / "loadtest" / "profiles"

# The agreed profile names (shared interfaces): the load gate may offer only these.
CONTRACT_PROFILES = ("steady", "peak", "variable", "step")

_TARGET_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)")


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a workflow or action file; YAML 1.1 reads the key ``on`` as True, so map it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a mapping"
    if True in data:
        data["on"] = data.pop(True)
    return data


@dataclass(frozen=True)
class Step:
    """One step of a job (or of a composite action), with what is needed to judge it."""

    file: str
    job: str
    index: int
    body: dict[str, Any]
    job_body: dict[str, Any]

    @property
    def where(self) -> str:
        """A readable location for assertion messages."""
        return f"{self.file} job {self.job!r} step {self.index} ({self.body.get('name', '')})"

    @property
    def run(self) -> str | None:
        """The shell script of a ``run:`` step."""
        value = self.body.get("run")
        return value if isinstance(value, str) else None

    @property
    def env(self) -> dict[str, str]:
        """Workflow-independent env of the step: the job's env overlaid by the step's."""
        merged: dict[str, str] = {}
        for source in (self.job_body.get("env") or {}, self.body.get("env") or {}):
            merged.update({str(k): str(v) for k, v in source.items()})
        return merged

    def matrix_values(self, key: str) -> list[str]:
        """Values of ``matrix.<key>`` in this step's job (empty when there is no such axis)."""
        matrix = (self.job_body.get("strategy") or {}).get("matrix") or {}
        return [str(v) for v in matrix.get(key, [])]


@dataclass(frozen=True)
class Definition:
    """A workflow or composite action: its path, parsed document and raw text."""

    path: Path
    doc: dict[str, Any]
    text: str

    @property
    def name(self) -> str:
        """Path relative to the repository root."""
        return self.path.relative_to(REPO_ROOT).as_posix()

    def steps(self) -> list[Step]:
        """Every step, in order, of every job (or the composite action's steps)."""
        if "jobs" not in self.doc:
            runs = self.doc.get("runs") or {}
            steps = runs.get("steps", [])
            return [Step(self.name, "(composite)", i, s, {}) for i, s in enumerate(steps)]
        out = []
        for job_id, job in self.doc["jobs"].items():
            for i, step in enumerate(job.get("steps", [])):
                out.append(Step(self.name, job_id, i, step, job))
        return out


def all_definitions() -> list[Definition]:
    """Every workflow under .github/workflows and every composite action under .github/actions."""
    paths = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(GITHUB_DIR.glob("actions/*/action.yml"))
    return [Definition(p, load_yaml(p), p.read_text(encoding="utf-8")) for p in paths]


def workflow(name: str) -> Definition:
    """One workflow by file name, e.g. ``load-gate.yml``."""
    path = WORKFLOWS_DIR / name
    return Definition(path, load_yaml(path), path.read_text(encoding="utf-8"))


def makefile_targets(path: Path = REPO_ROOT / "Makefile") -> set[str]:
    """Targets defined in a Makefile (rule lines ``name: ...``, not variable assignments)."""
    targets: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(("\t", "#", ".")):
            continue
        match = _TARGET_RE.match(line)
        if match:
            targets.add(match.group(1))
    return targets


def make_calls(step: Step) -> list[list[str]]:
    """The goals of every ``make`` command in a run step, with matrix-driven env expanded.

    ``make "$TARGET"`` with ``TARGET: ${{ matrix.target }}`` yields one call per matrix value;
    ``VAR=value`` arguments are dropped, they are not goals.
    """
    script = step.run or ""
    calls: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        for command in re.split(r"&&|\|\||;", line):
            words = shlex.split(command, comments=True)
            if not words or words[0] != "make":
                continue
            goals = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
            calls.extend(_expand_matrix(goals, step))
    return calls


def _expand_matrix(goals: list[str], step: Step) -> list[list[str]]:
    for i, goal in enumerate(goals):
        var = re.fullmatch(r"\$\{?(\w+)\}?", goal)
        expr = step.env.get(var.group(1), "") if var else goal
        matrix = re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", expr)
        if matrix:
            values = step.matrix_values(matrix.group(1))
            assert values, f"{step.where}: {goal} comes from an unknown matrix axis"
            return [[*goals[:i], v, *goals[i + 1 :]] for v in values]
        assert not var, f"{step.where}: make goal {goal} is not a literal or a matrix value"
    return [goals]


@dataclass(frozen=True)
class LoadSuiteContract:
    """What ``python -m loadtest run`` accepts and writes, and where that knowledge came from."""

    flags: frozenset[str]
    report_files: tuple[str, ...]
    source: str
    inspect: dict[str, Any] = field(default_factory=dict)

    def rejects(self, argv: list[str]) -> str | None:
        """Why the suite's ``run`` parser refuses ``argv``, or None when it accepts it."""
        error = _inspect_runner(argv).get("parse_error")
        return str(error) if error else None


# Runs in a child process: importing the load suite imports locust, whose gevent monkey-patching
# must never reach the asyncio tests of this pytest process.
_INSPECT = """
import argparse, contextlib, importlib, io, json, sys
parser = importlib.import_module("loadtest.runner").build_parser()
out = {
    "flags": sorted(o for a in parser._actions for o in a.option_strings if o[:2] == "--"),
    "report_files": list(importlib.import_module("loadtest.report").REPORT_FILES),
}
err = io.StringIO()
try:
    with contextlib.redirect_stderr(err):
        parser.parse_args(json.loads(sys.argv[1]))
    out["parse_error"] = None
except (SystemExit, argparse.ArgumentError) as error:
    out["parse_error"] = err.getvalue().strip() or str(error) or "rejected"
print(json.dumps(out))
"""


def _inspect_runner(argv: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _INSPECT, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, f"inspecting loadtest.runner failed:\n{result.stderr}"
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def load_suite_contract() -> LoadSuiteContract:
    """What ``loadtest.runner.build_parser()`` accepts and ``loadtest.report`` writes."""
    info = _inspect_runner([])
    return LoadSuiteContract(
        frozenset(info["flags"]),
        tuple(info["report_files"]),
        "loadtest.runner.build_parser()",
        info,
    )


def shell_words(command: str, env: dict[str, str]) -> list[str]:
    """Split a shell command, replacing ``"$VAR"`` by the step env's value (or ``<VAR>``)."""

    def substitute(match: re.Match[str]) -> str:
        return env.get(match.group(1), f"<{match.group(1)}>")

    return shlex.split(re.sub(r"\$\{?(\w+)\}?", substitute, command))
