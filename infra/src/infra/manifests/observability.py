"""Dashboards and alerts as objects: one ConfigMap per dashboard (picked up by Grafana's sidecar
through ``grafana_dashboard: "1"``) and one PrometheusRule holding every rule group.

The content comes from the dashboards package (``all_dashboards()``, ``all_rule_groups()``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import dashboards
from infra.manifests import _meta

if TYPE_CHECKING:
    from infra.config import StackConfig

COMPONENT = "dashboards"
#: The Secret holding Alertmanager's configuration (kps ``useExistingSecret``).
ALERTMANAGER_SECRET = "tgscale-alertmanager"  # noqa: S105 (an object name)
ALERTMANAGER_KEY = "alertmanager.yaml"


def _dns_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:50]


def dashboard_config_maps(cfg: StackConfig) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard JSON, in the monitoring namespace."""
    out = []
    for filename, model in sorted(dashboards.all_dashboards().items()):
        stem = filename.removesuffix(".json")
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta.metadata(
                    cfg,
                    f"tgscale-dashboard-{_dns_name(stem)}",
                    COMPONENT,
                    namespace=cfg.monitoring.namespace,
                    extra_labels={_meta.DASHBOARD_LABEL: "1"},
                ),
                "data": {filename: json.dumps(model, sort_keys=True, indent=2)},
            }
        )
    return out


def prometheus_rule(cfg: StackConfig) -> dict[str, Any]:
    """The recording and alerting rules, labelled for the kps release as well."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _meta.metadata(
            cfg,
            "tgscale",
            COMPONENT,
            namespace=cfg.monitoring.namespace,
            extra_labels={"release": cfg.monitoring.release},
        ),
        "spec": {"groups": dashboards.all_rule_groups()},
    }


def alertmanager_secret(cfg: StackConfig) -> dict[str, Any]:
    """Alertmanager's configuration Secret, without its value (the receiver URL is a secret)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta.metadata(
            cfg, ALERTMANAGER_SECRET, COMPONENT, namespace=cfg.monitoring.namespace
        ),
        "type": "Opaque",
    }


def alertmanager_config(webhook_url: str | None) -> str:
    """Every alert to one webhook receiver (Slack-compatible, PagerDuty's Events API, ...);
    without a URL the alerts stay in Alertmanager's UI. Watchdog goes nowhere."""
    default: dict[str, Any] = {"name": "default"}
    if webhook_url:
        default["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    config = {
        "route": {
            "receiver": "default",
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [{"matchers": ['alertname = "Watchdog"'], "receiver": "null"}],
        },
        "receivers": [{"name": "null"}, default],
    }
    return json.dumps(config, indent=2)
