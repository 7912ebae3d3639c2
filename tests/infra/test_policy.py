"""Policies every stack's objects must meet: resources, probes, hardening, pinned images,
autoscaler bounds, PDB, labels, pool sizing and drain timing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from bot_contract import webhook
from infra.config import ConfigError, is_pinned, max_useful_replicas
from infra.manifests import _meta, build
from tests.infra.infra_harness import stack_config

if TYPE_CHECKING:
    from infra.config import StackConfig

RECOMMENDED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
)


def _objects(cfg: StackConfig) -> list[dict[str, Any]]:
    return build(cfg, own_db_password=False).all_objects()


def _pod_specs(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (obj, obj["spec"]["template"]["spec"])
        for obj in objects
        if obj["kind"] in ("Deployment", "Job")
    ]


def _violations(objects: list[dict[str, Any]]) -> list[str]:
    """Container policy violations (an empty list means compliant)."""
    problems = []
    for obj, pod in _pod_specs(objects):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if pod.get("securityContext", {}).get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod not runAsNonRoot")
        for container in pod["containers"]:
            resources = container.get("resources", {})
            for section in ("requests", "limits"):
                if not {"cpu", "memory"} <= resources.get(section, {}).keys():
                    problems.append(f"{where}: {section} cpu/memory missing")
            security = container.get("securityContext", {})
            if not (
                security.get("readOnlyRootFilesystem") is True
                and security.get("allowPrivilegeEscalation") is False
                and security.get("capabilities", {}).get("drop") == ["ALL"]
            ):
                problems.append(f"{where}: container not hardened")
            if not is_pinned(container["image"]):
                problems.append(f"{where}: image {container['image']} not pinned")
            if obj["kind"] == "Deployment" and not (
                container.get("readinessProbe") and container.get("livenessProbe")
            ):
                problems.append(f"{where}: probes missing")
    return problems


def test_containers_meet_policy(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    objects = _objects(cfg)
    assert _pod_specs(objects)
    assert _violations(objects) == []


def test_policy_check_detects_violations(case: tuple[str, StackConfig]) -> None:
    """The policy check can fail: strip one field at a time and it reports each."""
    _, cfg = case
    deployment = build(cfg, own_db_password=False).bot[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for key, value in (
        ("resources", {"limits": {"cpu": "1", "memory": "1Gi"}}),
        ("securityContext", {"readOnlyRootFilesystem": False}),
        ("image", "ghcr.io/tgscale/bot:latest"),
        ("readinessProbe", None),
    ):
        broken = {**container, key: value}
        spec = {**deployment["spec"]["template"]["spec"], "containers": [broken]}
        obj = {**deployment, "spec": {**deployment["spec"], "template": {"spec": spec}}}
        assert _violations([obj]), key


def test_bot_probes_and_drain(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    deployment = build(cfg, own_db_password=False).bot[0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == webhook.HEALTHZ_PATH
    assert container["readinessProbe"]["httpGet"]["path"] == webhook.READYZ_PATH
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop == cfg.bot.pre_stop_seconds > 0
    assert pod["topologySpreadConstraints"]
    assert "replicas" not in deployment["spec"]


def test_autoscaler_bounds(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    scaler = build(cfg, own_db_password=False).autoscaling[0]["spec"]
    low = scaler.get("minReplicas", scaler.get("minReplicaCount"))
    high = scaler.get("maxReplicas", scaler.get("maxReplicaCount"))
    assert 1 <= low <= high <= max_useful_replicas(cfg)
    assert high * cfg.autoscaling.target_inflight_per_pod <= (
        cfg.bot.webhook_max_connections + cfg.autoscaling.target_inflight_per_pod
    )


def test_pdb_below_min_replicas(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    pdb = next(
        o for o in build(cfg, own_db_password=False).bot if o["kind"] == "PodDisruptionBudget"
    )
    assert pdb["spec"]["minAvailable"] < cfg.autoscaling.min_replicas


def test_pooler_server_pools_fit_postgres(case: tuple[str, StackConfig]) -> None:
    """The rendered pooler's server side against the rendered Cluster's max_connections (the
    client side is checked against the bot's own Settings in tests/infra/test_env.py)."""
    _, cfg = case
    objects = build(cfg, own_db_password=False).database
    pooler = next(o for o in objects if o["kind"] == "Pooler")
    cluster = next(o for o in objects if o["kind"] == "Cluster")
    server = int(pooler["spec"]["pgbouncer"]["parameters"]["default_pool_size"])
    limit = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    assert server * pooler["spec"]["instances"] < limit


def test_labels_follow_app_kubernetes_io(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    for obj in _objects(cfg):
        labels = obj["metadata"]["labels"]
        assert all(key in labels for key in RECOMMENDED_LABELS), obj["metadata"]["name"]
        template = obj.get("spec", {}).get("template", {}).get("metadata", {})
        if template:
            assert all(key in template["labels"] for key in RECOMMENDED_LABELS)
        selector = obj.get("spec", {}).get("selector", {})
        match = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
        assert "app.kubernetes.io/version" not in match


def test_network_policy_sources(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    policy = next(o for o in build(cfg, own_db_password=False).bot if o["kind"] == "NetworkPolicy")
    sources = policy["spec"]["ingress"][0]["from"]
    namespaces = {
        s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for s in sources
        if "namespaceSelector" in s
    }
    assert namespaces == {cfg.bot.ingress_controller_namespace, cfg.monitoring.namespace}
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert {53, 5432} <= egress_ports
    assert (443 in egress_ports) != cfg.loadgen.emulator


def test_ingress_only_where_configured(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    ingress = [o for o in build(cfg, own_db_password=False).bot if o["kind"] == "Ingress"]
    assert bool(ingress) == cfg.bot.ingress_enabled
    if ingress:
        spec = ingress[0]["spec"]
        assert spec["tls"][0]["hosts"] == [cfg.bot.ingress_host]
        issuer = ingress[0]["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        assert issuer == cfg.bot.cert_issuer
        paths = spec["rules"][0]["http"]["paths"]
        assert [p["path"] for p in paths] == [webhook.WEBHOOK_PATH]


def test_vpa_only_recommends() -> None:
    cfg = stack_config("prod")
    vpa = next(
        o
        for o in build(cfg, own_db_password=False).autoscaling
        if o["kind"] == "VerticalPodAutoscaler"
    )
    assert vpa["spec"]["updatePolicy"]["updateMode"] == "Off"


def test_kind_stack_has_no_ingress_and_dev_env() -> None:
    cfg = stack_config("dev")
    assert cfg.cluster.mode == "kind"
    assert not cfg.bot.ingress_enabled
    assert cfg.monitoring.metrics_server


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"maxReplicas": "9"}, "Telegram never opens enough connections"),
        ({"minReplicas": "5", "maxReplicas": "4"}, "minReplicas 5 > maxReplicas 4"),
        ({"botImage": "ghcr.io/tgscale/bot:latest"}, "must be pinned"),
        ({"botImage": "ghcr.io/tgscale/bot"}, "must be pinned"),
        ({"poolerDefaultPoolSize": "95"}, "exceeds dbMaxConnections"),
        ({"peakSchedules": '["0 18 * * *|0 22 * * *|4"]'}, "need autoscaler=keda"),
        ({"autoscaler": "vpa"}, "is not one of"),
        ({"webhookMaxConnections": "101"}, "outside [1, 100]"),
        ({"ingressEnabled": "true"}, "ingressEnabled needs ingressHost"),
    ],
)
def test_config_rejects_what_cannot_work(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        stack_config("dev", overrides)


def test_config_accepts_digests_and_reads_stack_files() -> None:
    cfg = stack_config("dev", {"botImage": "ghcr.io/tgscale/bot@sha256:" + "a" * 64})
    assert _meta.image_tag(cfg.bot.image) == "a" * 12
    prod = stack_config("prod")
    assert prod.autoscaling.mode == "keda"
    assert prod.autoscaling.peak_schedules[0].replicas == 4


def test_readme_documents_every_config_key() -> None:
    import yaml

    from tests.infra.infra_harness import PROJECT_DIR

    schema = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    readme = (PROJECT_DIR / "infra" / "README.md").read_text(encoding="utf-8")
    assert [key for key in schema if f"| `{key}` |" not in readme] == []
