"""load-gate.yml against the load suite: the profile, the flags it passes, the report it uses."""

from __future__ import annotations

import re

import pytest

from tests.ci.workflow_model import (
    CONTRACT_PROFILES,
    PROFILES_DIR,
    Definition,
    LoadSuiteContract,
    Step,
    shell_words,
    workflow,
)

WORKFLOW = workflow("load-gate.yml")
JOB = WORKFLOW.doc["jobs"]["gate"]
ENV: dict[str, str] = {str(k): str(v) for k, v in JOB["env"].items()}


def load_step(definition: Definition = WORKFLOW) -> Step:
    """The one step that runs ``python -m loadtest run``."""
    steps = [s for s in definition.steps() if "python -m loadtest run" in (s.run or "")]
    assert len(steps) == 1, "load-gate.yml must run `python -m loadtest run` exactly once"
    return steps[0]


def run_argv(step: Step) -> list[str]:
    """The arguments after ``python -m loadtest run``, with ``$VAR`` from the job env resolved."""
    command = " ".join((step.run or "").split())  # `run: >-` folds, a literal block may not
    words = shell_words(command, step.env)
    start = words.index("loadtest") + 2
    assert words[start - 1] == "run", f"expected `loadtest run`, got {words}"
    return words[start:]


def step_using(action: str) -> list[Step]:
    """Steps of the gate job that use an action (by owner/repo)."""
    return [s for s in WORKFLOW.steps() if str(s.body.get("uses", "")).startswith(action + "@")]


def profiles_offered() -> list[str]:
    """The default profile and every profile the manual trigger offers."""
    default = re.fullmatch(r"\$\{\{\s*inputs\.profile\s*\|\|\s*'(\w+)'\s*\}\}", ENV["PROFILE"])
    assert default, f"PROFILE must be `${{{{ inputs.profile || '<default>' }}}}`: {ENV['PROFILE']}"
    dispatch = WORKFLOW.doc["on"]["workflow_dispatch"]["inputs"]["profile"]
    assert dispatch["default"] == default.group(1), "dispatch and scheduled runs differ in profile"
    return [default.group(1), *dispatch["options"]]


def test_the_gate_runs_the_peak_profile_by_default() -> None:
    assert profiles_offered()[0] == "peak"
    argv = run_argv(load_step())
    assert argv[argv.index("--profile") + 1] == ENV["PROFILE"]


def test_every_offered_profile_exists_in_the_load_suite() -> None:
    offered = profiles_offered()
    assert set(offered) <= set(CONTRACT_PROFILES), f"not an agreed profile: {offered}"
    if not PROFILES_DIR.is_dir():
        pytest.skip(f"{PROFILES_DIR} does not exist yet (the load suite is not merged)")
    missing = [p for p in offered if not (PROFILES_DIR / f"{p}.toml").is_file()]
    assert not missing, f"profiles offered by load-gate.yml but not in {PROFILES_DIR}: {missing}"


def test_the_load_suite_parser_accepts_the_workflow_flags(load_suite: LoadSuiteContract) -> None:
    argv = run_argv(load_step())
    refused = load_suite.rejects(argv)
    assert refused is None, (
        f"`loadtest run {' '.join(argv)}` refused ({load_suite.source}): {refused}"
    )
    values = dict(zip(argv[::2], argv[1::2], strict=False))
    assert values["--target"].startswith("http://127.0.0.1:"), "the bot by port-forward"
    assert values["--prometheus"].startswith("http://127.0.0.1:"), "Prometheus by port-forward"
    assert values["--report-dir"] == ENV["REPORT_DIR"]


def test_the_parser_check_rejects_an_unknown_flag(load_suite: LoadSuiteContract) -> None:
    """The flag check can fail: a flag the suite does not define is refused."""
    assert load_suite.rejects(["--no-such-flag", "x"]) is not None


def test_the_workflow_passes_only_flags_of_the_contract(load_suite: LoadSuiteContract) -> None:
    passed = {w for w in run_argv(load_step()) if w.startswith("--")}
    assert passed <= load_suite.flags, (
        f"unknown to {load_suite.source}: {passed - load_suite.flags}"
    )
    assert {"--target", "--prometheus", "--report-dir", "--profile"} <= passed


def test_the_uploaded_report_is_the_folder_the_suite_writes() -> None:
    (upload,) = step_using("actions/upload-artifact")
    assert upload.body["if"] == "always()", "upload the report also when a gate fails"
    assert upload.body["with"]["path"].rstrip("/") == ENV["REPORT_DIR"]


def test_the_junit_gates_become_a_check_that_fails_on_a_breach(
    load_suite: LoadSuiteContract,
) -> None:
    (reporter,) = step_using("dorny/test-reporter")
    with_ = reporter.body["with"]
    directory, _, name = with_["path"].rpartition("/")
    assert directory == ENV["REPORT_DIR"]
    assert name in load_suite.report_files, f"the suite writes {load_suite.report_files}"
    assert name == "junit.xml"
    assert with_["reporter"] == "java-junit"
    assert with_["fail-on-error"] is True
    assert reporter.body["if"].startswith("always()")
    assert JOB["permissions"].get("checks") == "write", "a check run needs checks: write"


def test_the_ci_stack_is_brought_up_with_the_fresh_image_and_always_destroyed() -> None:
    pulumi = step_using("pulumi/actions")
    commands = [(s.body["with"]["command"], s.body["with"]["stack-name"]) for s in pulumi]
    assert commands == [("up", "ci"), ("destroy", "ci")]
    up, destroy = pulumi
    assert "${{ env.BOT_IMAGE }}" in up.body["with"]["config-map"]
    assert destroy.body["if"].startswith("always()")
    assert up.body["with"]["cloud-url"] == destroy.body["with"]["cloud-url"]
    # The image reaches kind before Pulumi deploys it.
    order = [s.index for s in WORKFLOW.steps() if "kind load docker-image" in (s.run or "")]
    assert order, "the freshly built image must be loaded into kind"
    assert order[0] < up.index < load_step().index < destroy.index


def test_the_pr_trigger_is_the_load_gate_label() -> None:
    assert "'load-gate'" in JOB["if"]
    assert "schedule" in WORKFLOW.doc["on"]
    assert "workflow_dispatch" in WORKFLOW.doc["on"]
