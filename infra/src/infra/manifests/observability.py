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
