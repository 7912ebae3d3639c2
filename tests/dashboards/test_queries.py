"""Every dashboard and rule query is valid PromQL and names only series something exports."""

from __future__ import annotations

import pytest

from dashboards import external
from dashboards.promql import expand, metric_names
from dashboards.queries import all_queries, known_series, unknown_series

PROMQL = [q for q in all_queries() if q.language == "promql"]


def test_there_are_queries_from_every_dashboard_and_rule_group() -> None:
    sources = {q.source.split(" / ")[0] for q in PROMQL if " / " in q.source}
    assert sources == {"tgbot-overview", "tgbot-autoscaling", "tgbot-load-test", "tgbot-audience"}
    assert any(q.source.startswith("rule Tgbot") for q in PROMQL)
    assert any(q.source.startswith("rule namespace") for q in PROMQL)


@pytest.mark.parametrize("query", PROMQL, ids=lambda q: q.source)
def test_query_names_only_exported_series(query: object) -> None:
    expr = query.expr  # type: ignore[attr-defined]
    names = metric_names(expr)
    assert names, f"{expr!r} reads no series"
    assert unknown_series(expr) == frozenset()


def test_a_metric_the_bot_does_not_export_is_caught() -> None:
    assert unknown_series('sum(rate(tgbot_updates_totl{namespace=~"$namespace"}[5m]))') == {
        "tgbot_updates_totl"
    }
    assert unknown_series("tgbot_ready") == frozenset()


def test_invalid_promql_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid PromQL"):
        metric_names("sum(rate(tgbot_updates_total[5m])")


def test_unknown_grafana_variable_is_rejected() -> None:
    with pytest.raises(KeyError, match=r"\$nmespace"):
        expand('tgbot_ready{namespace=~"$nmespace"}')


def test_expand_matches_what_grafana_sends_for_all() -> None:
    assert expand('x{pod=~"$pod"}[$__rate_interval]', {"__rate_interval": "30s"}) == (
        'x{pod=~".*"}[30s]'
    )
    assert expand("${namespace}") == ".*"


def test_external_names_are_documented_and_disjoint_from_ours() -> None:
    assert known_series() >= external.EXTERNAL_SERIES
    assert not any(
        name.startswith(("tgbot_", "tgload_", "tgemu_")) for name in external.EXTERNAL_SERIES
    )
