"""PromQL helpers: expand Grafana variables, and list the metric names an expression reads.

Grafana queries carry template variables (``$namespace``, ``$__rate_interval``) that Prometheus
does not know. :func:`expand` replaces them with the values Grafana would send when every
variable is at "All", so the same text can be parsed here and run against a real Prometheus.
"""

import re
from collections.abc import Mapping
from typing import Final

import promql_parser

#: What Grafana sends for each variable when the user leaves it at "All" (regex ``.*``) and the
#: time range at the dashboard default. ``$__rate_interval`` is at least four scrape intervals.
DEFAULT_VARIABLES: Final[Mapping[str, str]] = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
    "namespace": ".*",
    "pod": ".*",
    "hpa": ".*",
    "deployment": ".*",
}

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]")


def expand(expr: str, overrides: Mapping[str, str] | None = None) -> str:
    """Replace Grafana template variables in ``expr`` with concrete values.

    Args:
        expr: A PromQL expression as a dashboard stores it.
        overrides: Values that win over :data:`DEFAULT_VARIABLES` (e.g. a shorter rate window
            for a short test run).

    Returns:
        The expression Prometheus would receive from Grafana.

    Raises:
        KeyError: ``expr`` uses a variable with no known value (a typo in a dashboard).
    """
    values = {**DEFAULT_VARIABLES, **(overrides or {})}

    def substitute(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise KeyError(f"unknown Grafana variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(substitute, expr)


def metric_names(expr: str) -> frozenset[str]:
    """Every metric name that ``expr`` selects (after :func:`expand`).

    Raises:
        ValueError: ``expr`` is not valid PromQL, or selects series without naming a metric.
    """
    names: set[str] = set()
    unnamed: list[str] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            else:
                unnamed.append(str(node))

    try:
        tree = promql_parser.parse(expand(expr))
    except ValueError as exc:
        raise ValueError(f"invalid PromQL {expr!r}: {exc}") from exc
    promql_parser.walk(tree, pre_visit=visit)
    if unnamed:
        raise ValueError(f"selector without a metric name in {expr!r}")
    return frozenset(names)
