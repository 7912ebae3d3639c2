"""tgscale dashboards and alert rules, generated as code.

The interface other members use (infra embeds both in the cluster):
``all_dashboards()`` maps a file name to a Grafana dashboard JSON model, and
``all_rule_groups()`` returns the Prometheus rule groups (the ``groups`` list of a rule file,
the ``spec.groups`` of a PrometheusRule). ``python -m dashboards build`` writes both to
``dashboards/build/``.
"""

from collections.abc import Callable
from typing import Any, Final

from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards.audience import audience
from dashboards.autoscaling import autoscaling
from dashboards.bot_overview import bot_overview
from dashboards.common import to_json
from dashboards.load_test import load_test
from dashboards.rules import rule_groups

__all__ = ["BUILDERS", "all_dashboards", "all_rule_groups"]

#: Every dashboard builder; the first is the main dashboard (the one the preview renders).
BUILDERS: Final[tuple[Callable[[], Dashboard], ...]] = (
    bot_overview,
    autoscaling,
    load_test,
    audience,
)


def all_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model, keyed by its file name (``<uid>.json``)."""
    models = [to_json(build()) for build in BUILDERS]
    return {f"{model['uid']}.json": model for model in models}


def all_rule_groups() -> list[dict[str, Any]]:
    """Every Prometheus rule group: recording rules first, then alerts."""
    return rule_groups()
