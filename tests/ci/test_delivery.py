"""image.yml, infra.yml, dependabot.yml and the .github README: how an image gets to prod."""

from __future__ import annotations

import re

import pytest

from tests.ci.workflow_model import (
    GITHUB_DIR,
    REPO_ROOT,
    WORKFLOWS_DIR,
    Definition,
    Step,
    load_yaml,
    make_calls,
    workflow,
)

IMAGE = workflow("image.yml")
INFRA = workflow("infra.yml")


def steps_using(definition: Definition, action: str) -> list[Step]:
    """Steps that use an action (by owner/repo)."""
    return [s for s in definition.steps() if str(s.body.get("uses", "")).startswith(action + "@")]


def test_hadolint_runs_before_the_image_is_built() -> None:
    jobs = IMAGE.doc["jobs"]
    assert any("make hadolint" in (s.run or "") for s in IMAGE.steps() if s.job == "hadolint")
    assert jobs["build"]["needs"] == "hadolint"


def test_the_image_is_built_from_the_bot_dockerfile_and_pushed_only_outside_prs() -> None:
    (build,) = steps_using(IMAGE, "docker/build-push-action")
    assert build.body["with"]["file"] == "bot/Dockerfile"
    assert build.body["with"]["push"] == "${{ github.event_name != 'pull_request' }}"
    (login,) = steps_using(IMAGE, "docker/login-action")
    assert login.body["with"]["registry"] == "ghcr.io"
    assert login.body["if"] == "github.event_name != 'pull_request'"


def test_main_gets_the_commit_sha_tag_and_releases_the_semver_tags() -> None:
    (meta,) = steps_using(IMAGE, "docker/metadata-action")
    tags = meta.body["with"]["tags"]
    assert "type=sha,format=long,prefix=" in tags
    assert "type=semver,pattern={{version}}" in tags
    assert IMAGE.doc["on"]["release"]["types"] == ["published"]


def test_the_image_digest_is_an_output_of_the_workflow() -> None:
    outputs = IMAGE.doc["on"]["workflow_call"]["outputs"]
    assert outputs["digest"]["value"] == "${{ jobs.build.outputs.digest }}"
    assert IMAGE.doc["jobs"]["build"]["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"


def test_prs_get_a_pulumi_preview_comment() -> None:
    preview = [s for s in steps_using(INFRA, "pulumi/actions") if s.job == "preview"]
    assert sorted(s.body["with"]["stack-name"] for s in preview) == ["platform-prod", "prod"]
    for step in preview:
        assert step.body["with"]["command"] == "preview"
        assert step.body["with"]["comment-on-pr"] is True
    assert INFRA.doc["jobs"]["preview"]["permissions"]["pull-requests"] == "write"
    assert "infra/**" in INFRA.doc["on"]["pull_request"]["paths"]


def test_prod_is_deployed_after_the_image_push_pinned_by_digest() -> None:
    jobs = INFRA.doc["jobs"]
    assert jobs["image"]["uses"] == "./.github/workflows/image.yml"
    assert jobs["deploy"]["needs"] == "image"
    deploy = [s for s in steps_using(INFRA, "pulumi/actions") if s.job == "deploy"]
    names = [s.body["with"]["stack-name"] for s in deploy]
    assert names[0] == "platform-prod", "the platform (cluster, operators) goes first"
    assert "platform-prod" not in names[1:]
    ups = [s for s in deploy if s.body["with"]["stack-name"] != "platform-prod"]
    assert ups, "the deploy job runs pulumi up"
    pinned = "value: ${{ needs.image.outputs.image }}@${{ needs.image.outputs.digest }}"
    for step in ups:
        assert step.body["with"]["command"] == "up"
        assert step.body["with"]["stack-name"] == "prod"
        assert pinned in step.body["with"]["config-map"], f"{step.where}: image not by digest"


def test_bot_secrets_come_from_repository_secrets_or_pulumi_esc() -> None:
    ups = [
        s
        for s in steps_using(INFRA, "pulumi/actions")
        if s.job == "deploy" and s.body["with"]["stack-name"] == "prod"
    ]
    conditions = sorted(s.body["if"] for s in ups)
    assert conditions == [
        "env.BOT_SECRETS_FROM == 'pulumi-esc'",
        "env.BOT_SECRETS_FROM == 'repository'",
    ]
    by_source = {s.body["if"].split("'")[1]: s.body["with"]["config-map"] for s in ups}
    assert "toJSON(secrets.BOT_TOKEN)" in by_source["repository"]
    assert "secret: true" in by_source["repository"]
    assert "secrets." not in by_source["pulumi-esc"]


@pytest.mark.parametrize("ecosystem", ["uv", "github-actions"])
def test_dependabot_updates_uv_and_actions_with_a_cooldown(ecosystem: str) -> None:
    config = load_yaml(GITHUB_DIR / "dependabot.yml")
    (update,) = [u for u in config["updates"] if u["package-ecosystem"] == ecosystem]
    assert update["cooldown"]["default-days"] >= 3


def test_dependabot_watches_the_composite_action() -> None:
    config = load_yaml(GITHUB_DIR / "dependabot.yml")
    (actions,) = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert "/.github/actions/setup" in actions["directories"]


def test_the_readme_table_lists_every_workflow() -> None:
    readme = (GITHUB_DIR / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([\w-]+\.yml)` \|", readme, flags=re.MULTILINE))
    assert rows == {p.name for p in WORKFLOWS_DIR.glob("*.yml")}


def dockerfiles_built() -> list[str]:
    """Every Dockerfile a workflow builds."""
    found = set()
    for name in ("image.yml", "load-gate.yml"):
        for step in steps_using(workflow(name), "docker/build-push-action"):
            found.add(str(step.body["with"]["file"]))
    return sorted(found)


@pytest.mark.parametrize("dockerfile", dockerfiles_built())
def test_every_built_dockerfile_exists(dockerfile: str) -> None:
    member = (REPO_ROOT / dockerfile).parent
    if not (member / "pyproject.toml").is_file():
        pytest.fail(f"{dockerfile}: {member.name} is not a workspace member")
    if not (REPO_ROOT / dockerfile).is_file():
        pytest.skip(f"{dockerfile} is not in this checkout yet (its member's branch is not merged)")


def test_the_shared_setup_installs_the_locked_workspace() -> None:
    action = load_yaml(GITHUB_DIR / "actions" / "setup" / "action.yml")
    steps = action["runs"]["steps"]
    assert steps[0]["with"]["python-version-file"] == ".python-version"
    assert steps[-1]["run"] == "make setup"


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS_DIR.glob("*.yml")))
def test_jobs_that_call_make_set_up_first(name: str) -> None:
    definition = workflow(name)
    for job_id in definition.doc["jobs"]:
        steps = [s for s in definition.steps() if s.job == job_id]
        setup = [s.index for s in steps if s.body.get("uses") == "./.github/actions/setup"]
        makes = [s.index for s in steps if make_calls(s)]
        if makes:
            assert setup, f"{name} job {job_id!r} calls make without the setup action"
            assert setup[0] < makes[0], f"{name} job {job_id!r} calls make before setup"
