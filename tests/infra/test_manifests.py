"""Every object of every stack passes schema validation: built-in kinds with kubernetes-validate
(strict, at the stack's k8sVersion), custom resources against their CRD schemas. Also checks the
mock-captured inputs (what Pulumi would really send) and the `make manifests` writer."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import kubernetes_validate
import pytest
import yaml

from infra.manifests import __main__ as manifests_cli
from infra.manifests import build
from tests.infra.infra_harness import SECRET_SIG, validate_builtin, validate_custom

if TYPE_CHECKING:
    from pathlib import Path

    from infra.config import StackConfig
    from tests.infra.infra_harness import ProgramRun

BUILT_IN_KINDS = {
    "Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
    "NetworkPolicy", "Job", "Ingress", "ConfigMap", "Secret",
}  # fmt: skip
CUSTOM_KINDS = {
    "ServiceMonitor", "PodMonitor", "PrometheusRule", "ScaledObject", "VerticalPodAutoscaler",
    "Cluster", "Pooler",
}  # fmt: skip
#: Kinds ../shared/crd-schemas lacks: tests/infra/test_charts.py validates them against the CRD the
#: stack's own chart (cloudnative-pg) installs.
CHART_CRD_ONLY = {"ScheduledBackup"}


def _validate(obj: dict[str, Any], cfg: StackConfig) -> None:
    kind = obj["kind"]
    if kind in BUILT_IN_KINDS:
        validate_builtin(obj, cfg.cluster.k8s_version)
    elif kind not in CHART_CRD_ONLY:
        assert kind in CUSTOM_KINDS, f"unexpected kind {kind}"
        assert validate_custom(obj) == [], f"{kind}/{obj['metadata']['name']}"


def test_every_object_validates(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    for own_password in (False, True):
        objects = build(cfg, own_db_password=own_password).all_objects()
        for obj in objects:
            _validate(obj, cfg)
        kinds = {obj["kind"] for obj in objects}
        assert {"Deployment", "Service", "Job", "Secret", "Cluster", "Pooler"} <= kinds


def _unwrap(value: Any) -> Any:
    """Mock inputs → plain object: unwrap secrets, turn integral floats back into ints."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return _unwrap(value["value"])
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def test_mock_captured_inputs_validate(program_run: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = program_run
    checked = 0
    for registration in run.registrations:
        if not registration.type.startswith("kubernetes:") or "helm.sh" in registration.type:
            continue
        obj = _unwrap(registration.inputs)
        _validate(obj, cfg)
        checked += 1
    assert checked >= 10


def test_strict_validation_catches_unknown_fields() -> None:
    """The validators can fail: an unknown field and a wrong type are both rejected."""
    from tests.infra.infra_harness import stack_config

    cfg = stack_config("dev")
    objects = build(cfg, own_db_password=False)
    deployment = copy.deepcopy(next(o for o in objects.bot if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["htpGet"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_builtin(deployment, cfg.cluster.k8s_version)
    pooler = copy.deepcopy(next(o for o in objects.database if o["kind"] == "Pooler"))
    pooler["spec"]["instances"] = "two"
    assert validate_custom(pooler)


def test_hpa_tolerance_field_needs_1_33() -> None:
    """Strict validation follows k8sVersion: behavior tolerance exists from 1.33 on only."""
    from tests.infra.infra_harness import stack_config

    cfg = stack_config("dev")
    hpa = copy.deepcopy(build(cfg, own_db_password=False).autoscaling[0])
    hpa["spec"]["behavior"]["scaleUp"]["tolerance"] = "0.05"
    validate_builtin(hpa, "1.33")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_builtin(hpa, "1.32")


@pytest.mark.parametrize("stack", ["dev", "platform-prod", "prod"])
def test_make_manifests_writes_and_validates_every_object(tmp_path: Path, stack: str) -> None:
    from tests.infra.infra_harness import PROJECT_DIR

    out = tmp_path / stack
    assert manifests_cli.main([stack, "--project-dir", str(PROJECT_DIR), "--out", str(out)]) == 0
    files = sorted(out.glob("*.yaml"))
    objects = [f for f in files if "-chart-" not in f.name]
    charts = [f for f in files if "-chart-" in f.name]
    rendered = sorted(out.glob("chart-*/*.yaml"))
    platform_stack = stack != "prod"
    assert bool(charts) == platform_stack, "chart specs are written for a platform"
    assert bool(rendered) == platform_stack, "and their rendered children"
    for path in [*objects, *rendered]:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert len(docs) == 1
        assert docs[0]["kind"].lower() in path.name
        assert "&id" not in path.read_text(encoding="utf-8"), "no YAML anchors"
    if stack != "platform-prod":
        secret = next(f for f in objects if "secret-" in f.name and "tgbot-secrets" in f.name)
        assert "<secret:" in secret.read_text(encoding="utf-8")


def test_make_manifests_fails_on_an_invalid_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.infra.infra_harness import PROJECT_DIR

    real_build = manifests_cli.build

    def broken_build(cfg: StackConfig, *, own_db_password: bool) -> Any:
        objects = real_build(cfg, own_db_password=own_db_password)
        if objects.bot:
            objects.bot[0]["spec"]["replicaz"] = 3
        if objects.database:
            objects.database[-1]["spec"]["notAField"] = True
        return objects

    monkeypatch.setattr(manifests_cli, "build", broken_build)
    out = tmp_path / "prod"
    assert manifests_cli.main(["prod", "--project-dir", str(PROJECT_DIR), "--out", str(out)]) == 1


def test_make_manifests_rejects_unknown_stack(tmp_path: Path) -> None:
    from tests.infra.infra_harness import PROJECT_DIR

    code = manifests_cli.main(["nope", "--project-dir", str(PROJECT_DIR), "--out", str(tmp_path)])
    assert code == 2
