"""tgscale dashboards and alert rules, generated as code.

The interface other members use (infra embeds both in the cluster):
``all_dashboards()`` maps a file name to a Grafana dashboard JSON model, and
``all_rule_groups()`` returns the Prometheus rule groups (the ``groups`` list of a rule file,
the ``spec.groups`` of a PrometheusRule).
"""

from typing import Any

__all__ = ["all_dashboards", "all_rule_groups"]


def all_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard, keyed by its file name (``<uid>.json``). Placeholder until built."""
    return {
        "tgbot-placeholder.json": {
            "uid": "tgbot-placeholder",
            "title": "tgscale (placeholder)",
            "tags": ["generated"],
            "panels": [],
            "schemaVersion": 41,
        }
    }


def all_rule_groups() -> list[dict[str, Any]]:
    """Every Prometheus rule group (recording and alerting). Placeholder until built."""
    return []
