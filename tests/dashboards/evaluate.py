"""Run dashboard and rule queries through a Prometheus HTTP API (prometheus-api-client).

Test-only: the live-data tests check every query with it (it left ``dashboards`` itself).

Grafana's template variables are expanded first (:func:`dashboards.promql.expand`), then each
query runs as a range query over a time window, the way a panel asks for it. A result records
whether Prometheus accepted the query and how many finite points came back.
"""

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException

from dashboards import external
from dashboards.preview import range_query
from dashboards.promql import expand, metric_names
from dashboards.queries import Query


@dataclass(frozen=True)
class Result:
    """What Prometheus answered for one query."""

    query: Query
    promql: str
    error: str | None
    series: int
    points: int  # finite values over all series

    @property
    def has_data(self) -> bool:
        """At least one finite point came back."""
        return self.error is None and self.points > 0


def needs_cluster(query: Query) -> bool:
    """Whether ``query`` reads series that only a Kubernetes cluster exports."""
    return bool(metric_names(query.expr) & external.CLUSTER_ONLY)


def _count(matrix: list[dict[str, Any]]) -> int:
    return sum(
        1
        for series in matrix
        for _, value in series.get("values", [])
        if math.isfinite(float(value))
    )


def evaluate(
    url: str,
    queries: Iterable[Query],
    start: datetime,
    end: datetime,
    *,
    step: str = "2s",
    variables: Mapping[str, str] | None = None,
) -> list[Result]:
    """Run every PromQL query of ``queries`` over ``[start, end]``; SQL ones are skipped."""
    client = PrometheusConnect(url=url, disable_ssl=True)
    results = []
    for query in queries:
        if query.language != "promql":
            continue
        promql = expand(query.expr, variables)
        try:
            matrix = range_query(client, promql, start, end, step)
        except PrometheusApiClientException as exc:
            results.append(Result(query, promql, str(exc), 0, 0))
            continue
        results.append(Result(query, promql, None, len(matrix), _count(matrix)))
    return results


def wait_for_value(url: str, promql: str, minimum: float, timeout: float = 60.0) -> float:
    """Poll an instant query until its first value reaches ``minimum`` (bounded by ``timeout``).

    Used to wait until Prometheus has scraped (and the rules have seen) the last of a run.

    Raises:
        TimeoutError: the value stayed below ``minimum``.
    """
    client = PrometheusConnect(url=url, disable_ssl=True)
    deadline = time.monotonic() + timeout
    value = math.nan
    while time.monotonic() < deadline:
        vector = client.custom_query(promql)
        value = float(vector[0]["value"][1]) if vector else math.nan
        if value >= minimum:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"{promql} = {value} after {timeout:.0f}s, expected >= {minimum}")
