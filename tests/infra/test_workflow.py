"""The infra workflow deploys from a refreshed state (defect 3)."""

from __future__ import annotations

from typing import Any

import yaml

from tests.infra.infra_harness import PROJECT_DIR


def _up_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for job in doc["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("pulumi/actions@")
        and step.get("with", {}).get("command") == "up"
    ]


def refreshes_before_up(doc: dict[str, Any]) -> bool:
    steps = _up_steps(doc)
    return bool(steps) and all(step["with"].get("refresh") is True for step in steps)


def test_every_prod_up_refreshes_first() -> None:
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/infra.yml").read_text(encoding="utf-8"))
    assert refreshes_before_up(doc)


def test_the_refresh_check_rejects_a_plain_up() -> None:
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/infra.yml").read_text(encoding="utf-8"))
    for step in _up_steps(doc):
        del step["with"]["refresh"]
    assert not refreshes_before_up(doc)


def _load_gate() -> dict[str, Any]:
    text = (PROJECT_DIR / ".github/workflows/load-gate.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def bot_load_paths(doc: dict[str, Any]) -> list[str]:
    """Problems with how the gate's load reaches the bot: it must enter through the NodePort
    (kube-proxy spreads connections over every pod), never a port-forward (one pod)."""
    from infra.config import load_stack
    from infra.manifests import bot

    job = doc["jobs"]["gate"]
    env = job["env"]
    steps = job["steps"]
    kind = next(s for s in steps if str(s.get("uses", "")).startswith("helm/kind-action@"))
    kind_config = yaml.safe_load((PROJECT_DIR / kind["with"]["config"]).read_text("utf-8"))
    mappings = kind_config["nodes"][0]["extraPortMappings"]
    service = bot.service(load_stack(PROJECT_DIR, "ci"))
    node_port = service["spec"]["ports"][0].get("nodePort")
    problems = []
    if not any(
        m["containerPort"] == node_port and str(m["hostPort"]) == env["BOT_HOST_PORT"]
        for m in mappings
    ):
        problems.append(f"no kind port mapping of the Service's nodePort {node_port}")
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    if '"$BOT_SERVICE"' in runs or "svc/tgbot" in runs:
        problems.append("the bot is port-forwarded: one pod gets all the load")
    if "--target http://127.0.0.1:${BOT_HOST_PORT}/" not in runs:
        problems.append("the load does not target the NodePort's host port")
    return problems


def test_the_load_gate_drives_every_replica_through_the_node_port() -> None:
    """Defect 11: `kubectl port-forward svc/tgbot` forwards to a single pod."""
    assert bot_load_paths(_load_gate()) == []


def test_the_node_port_check_rejects_a_port_forward() -> None:
    doc = _load_gate()
    step = next(s for s in doc["jobs"]["gate"]["steps"] if "port-forward" in str(s.get("run")))
    step["run"] += '\nforward "$BOT_NAMESPACE" "$BOT_SERVICE" 18080 "$BOT_SERVICE_PORT"\n'
    assert bot_load_paths(doc)
