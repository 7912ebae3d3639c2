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
