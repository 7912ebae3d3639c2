"""Production basics, checked on the rendered charts and the mocked program: PostgreSQL backups
with a schedule and retention, persistent Prometheus and Alertmanager storage with a retention
size that fits, Alertmanager's receiver from a secret, and the Cluster awaited until Ready."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from infra.manifests import build, database, observability, platform, render
from tests.infra.infra_harness import SECRET_SIG, SECRET_VALUES, cached_run, stack_config
from tests.infra.test_charts import CHARTS

_K8S_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
#: Prometheus' size units are powers of two (prometheus/common model.ParseBytes).
_PROM_UNITS = {"KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}


def _bytes(quantity: str, units: dict[str, int]) -> int:
    match = re.fullmatch(r"(\d+)([A-Za-z]+)", quantity)
    assert match, quantity
    return int(match.group(1)) * units[match.group(2)]


def retention_fits(prometheus: dict[str, Any]) -> bool:
    """Whether the TSDB's retention size stays below its volume (else the disk fills first)."""
    spec = prometheus["spec"]
    claim = spec["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
    return _bytes(spec["retentionSize"], _PROM_UNITS) < _bytes(claim, _K8S_UNITS)


@pytest.mark.parametrize("stack", ["dev", "ci", "platform-prod"])
def test_prometheus_and_alertmanager_persist_and_bound_their_data(stack: str) -> None:
    cfg = stack_config(stack)
    kps = render.render(platform.kube_prometheus_stack(cfg), CHARTS)
    prometheus = next(o for o in kps.deployed if o["kind"] == "Prometheus")
    assert retention_fits(prometheus)
    assert prometheus["spec"]["retention"] == cfg.monitoring.prometheus_retention
    alertmanager = next(o for o in kps.deployed if o["kind"] == "Alertmanager")
    assert alertmanager["spec"]["storage"]["volumeClaimTemplate"]
    assert alertmanager["spec"]["retention"]
    too_big = json.loads(json.dumps(prometheus))
    too_big["spec"]["retentionSize"] = "60GB"
    too_big["spec"]["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"][
        "storage"
    ] = "50Gi"
    assert not retention_fits(too_big)


def test_alertmanager_reads_its_receiver_from_our_secret() -> None:
    cfg = stack_config("platform-prod")
    kps = render.render(platform.kube_prometheus_stack(cfg), CHARTS)
    alertmanager = next(o for o in kps.deployed if o["kind"] == "Alertmanager")
    assert alertmanager["spec"]["configSecret"] == observability.ALERTMANAGER_SECRET
    # kps renders no config Secret of its own that would shadow ours.
    assert not [
        o for o in kps.deployed if o["kind"] == "Secret" and "alertmanager" in o["metadata"]["name"]
    ]
    run = cached_run("platform-prod", cfg)
    secret = next(r for r in run.registrations if r.name == "alertmanager-config")
    assert secret.inputs["metadata"]["namespace"] == alertmanager["metadata"]["namespace"]
    data = secret.inputs["stringData"]
    assert SECRET_SIG in data, "the receiver URL is a secret"
    config = yaml.safe_load(data["value"][observability.ALERTMANAGER_KEY])
    urls = [w["url"] for r in config["receivers"] for w in r.get("webhook_configs", [])]
    assert urls == [SECRET_VALUES["alertmanagerWebhookUrl"]]
    assert config["route"]["receiver"] in {r["name"] for r in config["receivers"]}


def test_prod_backs_up_postgres_on_a_schedule() -> None:
    cfg = stack_config("prod")
    objects = build(cfg, own_db_password=True).database
    cluster = next(o for o in objects if o["kind"] == "Cluster")
    backup = cluster["spec"]["backup"]
    store = backup["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert store["endpointURL"].endswith(".digitaloceanspaces.com")
    assert backup["retentionPolicy"] == cfg.database.backup_retention
    scheduled = next(o for o in objects if o["kind"] == "ScheduledBackup")
    assert scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert len(scheduled["spec"]["schedule"].split()) == 6
    refs = {(v["name"], v["key"]) for v in store["s3Credentials"].values()}
    run = cached_run("prod", cfg)
    secret = next(r for r in run.registrations if r.name == f"secret-{database.BACKUP_SECRET}")
    assert SECRET_SIG in secret.inputs["stringData"]
    filled = {(database.BACKUP_SECRET, k) for k in secret.inputs["stringData"]["value"]}
    assert refs <= filled
    dev = build(stack_config("dev"), own_db_password=False).database
    assert not [o for o in dev if o["kind"] == "ScheduledBackup"]


def test_cluster_is_awaited_until_ready(case: tuple[str, Any]) -> None:
    """Defect 5: Pulumi does not await custom resources; the migration Job waits for Ready."""
    case_id, cfg = case
    run = cached_run(case_id, cfg)
    cluster = next(r for r in run.registrations if r.name == "cluster-tgscale-db")
    assert cluster.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    migrate = next(r for r in run.registrations if r.name == "bot-migrate")
    assert run.depends_on(migrate, cluster)


def webhook_gates_readiness(operator: dict[str, Any]) -> bool:
    """Whether the operator pod turns Ready only once its webhook server answers (so Pulumi's
    await of the chart's Deployment covers the webhook's first minutes, cloudnative-pg #2143)."""
    container = operator["spec"]["template"]["spec"]["containers"][0]
    webhook_ports = {p["name"] for p in container["ports"] if p["containerPort"] == 9443}
    probe = container.get("readinessProbe", {}).get("httpGet", {})
    return probe.get("port") in webhook_ports and probe.get("scheme") == "HTTPS"


def test_database_waits_for_the_cnpg_webhook(case: tuple[str, Any]) -> None:
    case_id, cfg = case
    platform_cfg = stack_config(cfg.platform_stack) if cfg.role == "app" else cfg
    chart = render.render(platform.cloudnative_pg(platform_cfg), CHARTS)
    operator = next(o for o in chart.deployed if o["kind"] == "Deployment")
    assert webhook_gates_readiness(operator)
    broken = json.loads(json.dumps(operator))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = (
        "metrics"
    )
    assert not webhook_gates_readiness(broken)
    if cfg.role == "all":  # an app stack's platform was deployed (and awaited) before it
        run = cached_run(case_id, cfg)
        cluster = next(r for r in run.registrations if r.name == "cluster-tgscale-db")
        operator_chart = next(r for r in run.registrations if r.name == "cloudnative-pg")
        assert run.depends_on(cluster, operator_chart)
