"""The cluster layer under mocks: kubeconfigs that stay secret and fresh, the kind dev loop, and
a live switch from hpa to keda."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from infra.manifests import autoscaling
from infra.program import IMAGE_ID_ANNOTATION
from tests.infra.infra_harness import (
    FRESH_KUBECONFIG,
    LOCAL_IMAGE_ID,
    PLATFORM_CHARTS,
    PLATFORM_KUBECONFIG,
    SECRET_SIG,
    _Mocks,
    cached_run,
    run_program,
    stack_config,
)

if TYPE_CHECKING:
    from tests.infra.infra_harness import ProgramRun

COMMAND = "command:local:Command"
PROVIDER = "pulumi:providers:kubernetes"


def _run(case_id: str, stack: str, overrides: dict[str, str] | None = None) -> ProgramRun:
    return cached_run(case_id, stack_config(stack, overrides))


def test_kind_kubeconfig_is_never_logged_and_stored_encrypted() -> None:
    """Defect 4: pulumi-command logs stdout by default and keeps it in plain state."""
    run = _run("dev", "dev")
    kubeconfig = next(r for r in run.of_type(COMMAND) if r.name == "kind-kubeconfig")
    assert kubeconfig.inputs["logging"] == "none"
    assert "stdout" in kubeconfig.additional_secret_outputs
    cluster = next(r for r in run.of_type(COMMAND) if r.name == "kind-cluster")
    # Defect 10: a recreated cluster re-reads its kubeconfig.
    assert kubeconfig.inputs["triggers"] == [f"{cluster.name}-id"]


def test_kind_provider_drops_a_deleted_cluster() -> None:
    provider = _run("dev", "dev").one(PROVIDER)
    assert provider.inputs["deleteUnreachable"] == "true"


def test_kind_rebuilt_image_is_reloaded_and_rolls_the_pods() -> None:
    """Defect 10: a fixed tag + IfNotPresent never rolled a rebuilt image; the image's ID (read on
    every run) now re-triggers `kind load` and changes the pod template."""
    run = _run("dev", "dev")
    loads = [r for r in run.of_type(COMMAND) if r.name.startswith("kind-load-")]
    assert loads
    assert all(LOCAL_IMAGE_ID in load.inputs["triggers"] for load in loads)
    deployment = next(r for r in run.registrations if r.name == "bot-deployment")
    annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations[IMAGE_ID_ANNOTATION] == LOCAL_IMAGE_ID


def test_doks_kubeconfig_comes_from_the_data_source_read_every_run() -> None:
    """Defect 3: the cluster resource's kubeconfig (taken once into state) expires in 7 days."""
    provider = _run("platform-prod", "platform-prod").one(PROVIDER)
    kubeconfig = provider.inputs["kubeconfig"]
    if isinstance(kubeconfig, str):  # the provider's inputs are JSON-encoded
        kubeconfig = json.loads(kubeconfig) if kubeconfig.startswith("{") else kubeconfig
    text = kubeconfig["value"] if isinstance(kubeconfig, dict) else kubeconfig
    assert text == FRESH_KUBECONFIG
    assert isinstance(kubeconfig, dict)
    assert SECRET_SIG in kubeconfig


def test_secret_checksum_rolls_the_pods_on_rotation() -> None:
    run = _run("prod", "prod")
    deployment = next(r for r in run.registrations if r.name == "bot-deployment")
    annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
    checksum = annotations["checksum/secrets"]
    assert isinstance(checksum, str)
    assert len(checksum) == 64


def test_hpa_to_keda_switch_adopts_the_hpa() -> None:
    """Defect 9: KEDA's webhook refuses a ScaledObject whose target an HPA already scales, and
    Pulumi deletes the old HPA only after creating the ScaledObject. The ScaledObject adopts the
    HPA of the same name and the HPA resource only leaves Pulumi's state on delete."""
    hpa_run = _run("dev", "dev")
    hpa = hpa_run.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert hpa.retain_on_delete
    keda_run = _run("dev-keda", "dev", {"autoscaler": "keda", "vpaEnabled": "true"})
    scaled = keda_run.one("kubernetes:keda.sh/v1alpha1:ScaledObject").inputs
    assert scaled["metadata"]["annotations"][autoscaling.TRANSFER_HPA_OWNERSHIP] == "true"
    adopted = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["name"]
    assert adopted == hpa.inputs["metadata"]["name"]


CHART = "kubernetes:helm.sh/v4:Chart"


def test_platform_stack_has_the_cluster_and_operators_only() -> None:
    run = _run("platform-prod", "platform-prod")
    charts = {r.name for r in run.of_type(CHART)}
    assert charts == set(PLATFORM_CHARTS)
    assert run.of_type("digitalocean:index/kubernetesCluster:KubernetesCluster")
    assert not run.of_type("kubernetes:apps/v1:Deployment")
    exported = run.exports
    assert exported["charts"] == PLATFORM_CHARTS


def test_app_stack_never_touches_the_cluster_or_operators() -> None:
    """The app stack reads the platform's kubeconfig and creates no chart, cluster or operator."""
    run = _run("prod", "prod")
    assert not run.of_type(CHART)
    assert not run.of_type("digitalocean:index/kubernetesCluster:KubernetesCluster")
    kubeconfig = run.one(PROVIDER).inputs["kubeconfig"]
    assert isinstance(kubeconfig, dict)
    assert SECRET_SIG in kubeconfig
    assert kubeconfig["value"] == PLATFORM_KUBECONFIG
    assert any(r.name == "bot-deployment" for r in run.registrations)


def test_app_stack_refuses_a_platform_without_its_operators() -> None:
    cfg = stack_config("prod")
    with pytest.raises(Exception, match=r"does not install \['keda'\]"):
        run_program(
            cfg,
            with_optional_secrets=True,
            mocks=_Mocks([c for c in PLATFORM_CHARTS if c != "keda"]),
        )


def test_a_rotated_secret_changes_the_pod_template() -> None:
    cfg = stack_config("dev")

    def checksum(token: str) -> str:
        run = run_program(cfg, with_optional_secrets=False, secret_overrides={"botToken": token})
        deployment = next(r for r in run.registrations if r.name == "bot-deployment")
        return str(
            deployment.inputs["spec"]["template"]["metadata"]["annotations"]["checksum/secrets"]
        )

    assert checksum("123456:first-token") != checksum("123456:rotated-token")
