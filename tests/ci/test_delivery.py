"""image.yml, infra.yml, dependabot.yml and the .github README: how an image gets to prod."""

from __future__ import annotations

import re

import pytest
from workflow_model import GITHUB_DIR, WORKFLOWS_DIR, Definition, Step, load_yaml, workflow

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
    (step,) = preview
    assert step.body["with"]["command"] == "preview"
    assert step.body["with"]["comment-on-pr"] is True
    assert INFRA.doc["jobs"]["preview"]["permissions"]["pull-requests"] == "write"
    assert "infra/**" in INFRA.doc["on"]["pull_request"]["paths"]


def test_prod_is_deployed_after_the_image_push_pinned_by_digest() -> None:
    jobs = INFRA.doc["jobs"]
    assert jobs["image"]["uses"] == "./.github/workflows/image.yml"
    assert jobs["deploy"]["needs"] == "image"
    ups = [s for s in steps_using(INFRA, "pulumi/actions") if s.job == "deploy"]
    assert ups, "the deploy job runs pulumi up"
    pinned = "value: ${{ needs.image.outputs.image }}@${{ needs.image.outputs.digest }}"
    for step in ups:
        assert step.body["with"]["command"] == "up"
        assert step.body["with"]["stack-name"] == "prod"
        assert pinned in step.body["with"]["config-map"], f"{step.where}: image not by digest"


def test_bot_secrets_come_from_repository_secrets_or_pulumi_esc() -> None:
    ups = [s for s in steps_using(INFRA, "pulumi/actions") if s.job == "deploy"]
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
