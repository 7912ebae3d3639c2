"""Every workflow: real make targets, pinned actions, permissions, timeouts, no leaked secret."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.ci.workflow_model import (
    REPO_ROOT,
    Definition,
    Step,
    all_definitions,
    make_calls,
    makefile_targets,
)

if TYPE_CHECKING:
    from pathlib import Path

DEFINITIONS = all_definitions()
IDS = [d.name for d in DEFINITIONS]

# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z` on one line.
PINNED_RE = re.compile(
    r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s*v\d+\.\d+\.\d+\s*$", re.MULTILINE
)
# Tools that have a make target: a workflow calls the target, so CI runs the same string as here.
TOOLS_BEHIND_MAKE = ("ruff", "mypy", "pytest", "lint-imports", "hadolint", "zizmor", "actionlint")


def remote_uses(definition: Definition) -> list[str]:
    """Every `uses:` value that is not a local action or reusable workflow."""
    found = [str(s.body["uses"]) for s in definition.steps() if "uses" in s.body]
    for job in (definition.doc.get("jobs") or {}).values():
        if "uses" in job:
            found.append(str(job["uses"]))
    return [u for u in found if not u.startswith("./")]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_run_steps_call_only_make_targets_that_exist(definition: Definition) -> None:
    targets = makefile_targets()
    for step in definition.steps():
        for goals in make_calls(step):
            assert goals, f"{step.where}: bare `make` runs the default goal, name the target"
            missing = [g for g in goals if g not in targets]
            assert not missing, f"{step.where}: no Makefile target {missing}"


def commands(script: str) -> list[str]:
    """The command word of every simple command in a shell script (after env assignments, sudo)."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\||\$\(|\(|\{", line):
            words = [w for w in part.split() if not re.match(r"^\w+=", w) and w != "sudo"]
            if words and not words[0].startswith("#"):
                found.append(words[0])
    return found


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_tools_with_a_make_target_are_called_through_make(definition: Definition) -> None:
    for step in definition.steps():
        called = set(commands(step.run or "")).intersection(TOOLS_BEHIND_MAKE)
        assert not called, f"{step.where}: call `make ...` instead of {sorted(called)}"


def test_command_words_are_found() -> None:
    script = "make hadolint && FOO=1 sudo ruff check . | tee x\nfor x in $(pytest -q); do :; done"
    assert {"make", "ruff", "tee", "pytest"} <= set(commands(script))
    assert "hadolint" not in commands(script)


def test_make_calls_are_found_and_matrix_goals_expand() -> None:
    """The parser behind the target check sees literal goals and matrix-driven ones."""
    job = {"strategy": {"matrix": {"target": ["lint", "typecheck"]}}}
    matrix_step = Step(
        "x.yml", "j", 0, {"run": 'make "$T"', "env": {"T": "${{ matrix.target }}"}}, job
    )
    assert make_calls(matrix_step) == [["lint"], ["typecheck"]]
    literal = Step("x.yml", "j", 0, {"run": "echo hi && make manifests STACK=prod # why"}, {})
    assert make_calls(literal) == [["manifests"]]
    assert make_calls(Step("x.yml", "j", 0, {"run": "makefile-lint x"}, {})) == []


def test_makefile_target_parser_reads_rules_not_assignments(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text("RUN := uv run\nX ?= 1\n.PHONY: a\na: ## doc\n\t$(RUN) a\nb-c: a\n")
    assert makefile_targets(makefile) == {"a", "b-c"}


def unpinned_lines(text: str) -> list[str]:
    """Lines with a remote `uses:` that is not `@<40-hex sha> # vX.Y.Z`."""
    bad = []
    for line in text.splitlines():
        match = re.search(r"uses:\s*(\S+)", line.split(" #")[0])
        if match and not match.group(1).startswith("./") and not PINNED_RE.search(line):
            bad.append(line.strip())
    return bad


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_every_action_is_pinned_by_commit_sha_with_a_version_comment(
    definition: Definition,
) -> None:
    assert not unpinned_lines(definition.text), f"{definition.name}: not `@<sha> # vX.Y.Z`"
    # Every parsed `uses:` was seen on such a line (no flow-style mapping hides one).
    pinned = {f"{m.group(1)}@{m.group(2)}" for m in PINNED_RE.finditer(definition.text)}
    for ref in remote_uses(definition):
        assert ref in pinned, f"{definition.name}: `{ref}` is not pinned as `@<sha> # vX.Y.Z`"


@pytest.mark.parametrize(
    "line",
    [
        "- uses: actions/checkout@v4",
        "- uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8",
        "- uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5",
        "- uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd90 # v5.0.0",
        "- uses: docker://alpine:3",
    ],
)
def test_the_pin_check_rejects_tags_short_shas_and_vague_comments(line: str) -> None:
    assert unpinned_lines(line) == [line]


def test_the_pin_check_accepts_a_full_pin_and_local_actions() -> None:
    text = (
        "- uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n"
        "- uses: ./.github/actions/setup\n"
    )
    assert unpinned_lines(text) == []


def test_one_action_has_one_pin_across_all_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for definition in DEFINITIONS:
        for ref in remote_uses(definition):
            action, sha = ref.split("@")
            pins.setdefault(action, set()).add(sha)
    drift = {action: shas for action, shas in pins.items() if len(shas) > 1}
    assert not drift, f"the same action at different commits: {drift}"


WORKFLOWS = [d for d in DEFINITIONS if "jobs" in d.doc]
WORKFLOW_IDS = [d.name for d in WORKFLOWS]


@pytest.mark.parametrize("definition", WORKFLOWS, ids=WORKFLOW_IDS)
def test_permissions_are_empty_by_default_and_granted_per_job(definition: Definition) -> None:
    assert definition.doc.get("permissions") == {}, (
        f"{definition.name}: top-level `permissions: {{}}`"
    )
    for job_id, job in definition.doc["jobs"].items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"{definition.name} job {job_id!r}: no `permissions`"
        assert "write-all" not in str(granted), f"{definition.name} job {job_id!r}: write-all"


@pytest.mark.parametrize("definition", WORKFLOWS, ids=WORKFLOW_IDS)
def test_every_job_has_a_timeout(definition: Definition) -> None:
    for job_id, job in definition.doc["jobs"].items():
        if "uses" in job:  # a reusable-workflow call: its own jobs carry the timeouts
            continue
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int), f"{definition.name} job {job_id!r}: no timeout-minutes"
        assert 0 < timeout <= 90, f"{definition.name} job {job_id!r}: timeout {timeout}"


@pytest.mark.parametrize("definition", WORKFLOWS, ids=WORKFLOW_IDS)
def test_every_job_runs_in_a_concurrency_group(definition: Definition) -> None:
    """A workflow-level group, or one on every job that runs steps (reusable calls inherit)."""
    groups = [("workflow", definition.doc.get("concurrency"))]
    if groups[0][1] is None:
        jobs = definition.doc["jobs"].items()
        groups = [(f"job {k!r}", j.get("concurrency")) for k, j in jobs if "uses" not in j]
    for where, concurrency in groups:
        assert isinstance(concurrency, dict), f"{definition.name} {where}: no concurrency"
        assert concurrency.get("group"), f"{definition.name} {where}: concurrency without a group"
        assert "cancel-in-progress" in concurrency, f"{definition.name} {where}: say if it cancels"


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_checkout_never_persists_credentials(definition: Definition) -> None:
    for step in definition.steps():
        if str(step.body.get("uses", "")).startswith("actions/checkout@"):
            with_ = step.body.get("with") or {}
            assert with_.get("persist-credentials") is False, f"{step.where}: persist-credentials"


def secret_env_names(step: Step) -> set[str]:
    """Env variables of the step that carry a secret (a comparison such as `!= ''` does not)."""
    return {
        name
        for name, value in step.env.items()
        if "secrets." in value and not re.search(r"[!=]=", value)
    }


def check_no_secret_in_scripts(definition: Definition) -> None:
    """Fail when a run script expands a secret or prints an env variable that holds one."""
    for step in definition.steps():
        script = step.run or ""
        assert "secrets." not in script, f"{step.where}: pass secrets through env, not the script"
        for name in secret_env_names(step):
            for line in script.splitlines():
                words = line.split()
                if words and words[0] in {"echo", "printf", "cat"}:
                    assert name not in line, f"{step.where}: prints secret env {name}"


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_no_secret_is_expanded_into_or_echoed_by_a_script(definition: Definition) -> None:
    check_no_secret_in_scripts(definition)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"run": 'echo "$TOKEN"', "env": {"TOKEN": "${{ secrets.TOKEN }}"}}, "prints secret env"),
        ({"run": "curl -H 'x: ${{ secrets.TOKEN }}' x"}, "pass secrets through env"),
    ],
)
def test_secret_check_catches_a_leak(step: dict[str, object], message: str) -> None:
    leaky = Definition(REPO_ROOT / "leaky.yml", {"jobs": {"j": {"steps": [step]}}}, "")
    with pytest.raises(AssertionError, match=message):
        check_no_secret_in_scripts(leaky)
