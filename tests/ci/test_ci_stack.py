"""The workflows against the infra program: stack config keys, and the names the load gate reaches.

The `ci` stack's objects are built offline by infra's own pure functions (what `make manifests
STACK=ci` writes), with the non-secret config the workflow passes through `config-map`, so the
Services, ports and namespaces the load gate port-forwards to are the ones that stack creates.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from bot_contract import webhook
from infra.config import PROJECT, SECRET_KEYS, is_pinned, load_stack
from infra.manifests import autoscaling, build
from tests.ci.workflow_model import REPO_ROOT, Step, load_yaml, workflow

LOAD_GATE = workflow("load-gate.yml")
GATE_ENV: dict[str, str] = {str(k): str(v) for k, v in LOAD_GATE.doc["jobs"]["gate"]["env"].items()}
SCHEMA_KEYS = set(load_yaml(REPO_ROOT / "Pulumi.yaml")["config"])


def pulumi_steps(name: str) -> list[Step]:
    """Steps of a workflow that use pulumi/actions."""
    definition = workflow(name)
    return [s for s in definition.steps() if str(s.body.get("uses", "")).startswith("pulumi/")]


def config_map(step: Step) -> dict[str, dict[str, Any]]:
    """The step's `config-map` as key -> {value, secret}."""
    raw = step.body["with"].get("config-map", "")
    parsed = yaml.safe_load(raw) or {}
    assert isinstance(parsed, dict)
    return parsed


def resolved(value: Any) -> str:
    """A config-map value with `${{ env.X }}` replaced from the job env and other expressions
    replaced by a stand-in (a commit SHA, a secret) so the infra parser can read it."""
    text = str(value)
    text = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: GATE_ENV[m.group(1)], text)
    return re.sub(r"\$\{\{[^}]*\}\}", "0123abcd", text)


@pytest.mark.parametrize("name", ["infra.yml", "load-gate.yml"])
def test_every_config_key_the_workflows_set_is_in_the_schema(name: str) -> None:
    steps = [s for s in pulumi_steps(name) if s.body["with"].get("config-map")]
    assert steps
    for step in steps:
        for full_key, entry in config_map(step).items():
            namespace, _, key = full_key.partition(":")
            assert namespace == PROJECT, f"{step.where}: {full_key} is not in {PROJECT}:"
            if entry.get("secret"):
                assert key in SECRET_KEYS, f"{step.where}: {key} is not a secret the program reads"
            else:
                assert key in SCHEMA_KEYS, f"{step.where}: {key} is not in Pulumi.yaml's config"


def test_secrets_are_passed_as_pulumi_secrets_only() -> None:
    for name in ("infra.yml", "load-gate.yml"):
        for step in pulumi_steps(name):
            for full_key, entry in config_map(step).items():
                key = full_key.partition(":")[2]
                if key in SECRET_KEYS:
                    assert entry["secret"] is True, f"{step.where}: {key} must be secret: true"


@pytest.fixture(scope="module")
def ci_stack() -> tuple[Any, list[dict[str, Any]]]:
    """The `ci` stack's config and objects, as the load gate deploys it."""
    (up,) = [s for s in pulumi_steps("load-gate.yml") if s.body["with"]["command"] == "up"]
    overrides = {
        full_key.partition(":")[2]: resolved(entry["value"])
        for full_key, entry in config_map(up).items()
        if not entry.get("secret")
    }
    cfg = load_stack(REPO_ROOT, "ci", overrides)
    return cfg, build(cfg, own_db_password=False).all_objects()


def find(objects: list[dict[str, Any]], kind: str, namespace: str, name: str) -> dict[str, Any]:
    """The one object of that kind, namespace and name."""
    found = [
        o
        for o in objects
        if o["kind"] == kind
        and o["metadata"]["name"] == name
        and o["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"the ci stack has no {kind} {namespace}/{name}"
    return found[0]


def service_ports(service: dict[str, Any]) -> set[str]:
    """The Service's ports, as strings."""
    return {str(p["port"]) for p in service["spec"]["ports"]}


def test_the_load_gate_uses_the_kind_cluster_the_ci_stack_expects(
    ci_stack: tuple[Any, list[dict[str, Any]]],
) -> None:
    cfg, _ = ci_stack
    assert cfg.cluster.mode == "existing"
    assert cfg.cluster.kube_context == f"kind-{GATE_ENV['KIND_CLUSTER']}"


def test_the_load_gate_port_forwards_to_services_the_ci_stack_creates(
    ci_stack: tuple[Any, list[dict[str, Any]]],
) -> None:
    cfg, objects = ci_stack
    namespace = GATE_ENV["BOT_NAMESPACE"]
    bot = find(objects, "Service", namespace, GATE_ENV["BOT_SERVICE"])
    assert GATE_ENV["BOT_SERVICE_PORT"] in service_ports(bot)
    find(objects, "Deployment", namespace, GATE_ENV["BOT_SERVICE"])  # `rollout status` waits on it
    emulator = find(objects, "Service", namespace, GATE_ENV["EMULATOR_SERVICE"])
    assert GATE_ENV["EMULATOR_SERVICE_PORT"] in service_ports(emulator)
    prometheus = "http://{}.{}.svc:{}".format(
        GATE_ENV["PROMETHEUS_SERVICE"],
        GATE_ENV["PROMETHEUS_NAMESPACE"],
        GATE_ENV["PROMETHEUS_SERVICE_PORT"],
    )
    assert autoscaling.prometheus_url(cfg) == prometheus


def test_the_ci_stack_runs_the_emulator_but_no_in_cluster_locust(
    ci_stack: tuple[Any, list[dict[str, Any]]],
) -> None:
    cfg, objects = ci_stack
    assert cfg.loadgen.emulator
    assert not [o for o in objects if o["kind"] == "Job" and "locust" in o["metadata"]["name"]]
    images = {c["image"] for o in objects if o["kind"] == "Deployment" for c in _containers(o)}
    assert {resolved(GATE_ENV["BOT_IMAGE"]), resolved(GATE_ENV["LOADTEST_IMAGE"])} <= images


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


def test_the_gate_posts_to_the_bots_webhook_path() -> None:
    load = [s for s in LOAD_GATE.steps() if "python -m loadtest run" in (s.run or "")]
    (step,) = load
    target = re.search(r"--target\s+(\S+)", step.run or "")
    assert target
    assert target.group(1).endswith(webhook.WEBHOOK_PATH)


def test_the_prod_deploy_passes_an_image_the_prod_stack_accepts_as_pinned() -> None:
    ups = [
        s
        for s in pulumi_steps("infra.yml")
        if s.body["with"]["command"] == "up" and s.body["with"]["stack-name"] == "prod"
    ]
    assert ups
    image = "ghcr.io/owner/repo/bot"
    digest = "sha256:" + "ab" * 32
    for step in ups:
        value = str(config_map(step)[f"{PROJECT}:botImage"]["value"])
        value = value.replace("${{ needs.image.outputs.image }}", image)
        value = value.replace("${{ needs.image.outputs.digest }}", digest)
        assert "@sha256:" in value, f"{step.where}: {value} is not pinned by digest"
        assert is_pinned(value)
        cfg = load_stack(REPO_ROOT, "prod", {"botImage": value})
        assert cfg.bot.image == f"{image}@{digest}"
