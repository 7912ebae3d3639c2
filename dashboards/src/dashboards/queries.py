"""Every query the dashboards and rules run, and the series names they may use.

A query may read only series the project exports (:mod:`bot_contract.metrics`), the external
series documented in :mod:`dashboards.external`, or series our own recording rules write.
:func:`unknown_series` is what the tests (and ``python -m dashboards build``) check.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from bot_contract.metrics import all_metrics, series_names
from dashboards import all_dashboards, external, rules
from dashboards.common import targets
from dashboards.promql import metric_names


@dataclass(frozen=True)
class Query:
    """One PromQL or SQL query with where it comes from."""

    source: str  # "<dashboard uid> / <panel title>" or "rule <name>"
    expr: str
    language: str = "promql"  # or "sql"
    kind: str = "panel"  # "panel", "variable", "record" or "alert"

    @property
    def is_filter(self) -> bool:
        """An alert condition: empty while all is well, so only its validity can be checked."""
        return self.kind == "alert"


def recorded_series() -> frozenset[str]:
    """The series our recording rules write."""
    return frozenset(record.record for record in rules.recording_rules())


def known_series() -> frozenset[str]:
    """Every series name a query may read."""
    contract = {name for metric in all_metrics() for name in series_names(metric)}
    return frozenset(contract) | external.EXTERNAL_SERIES | recorded_series()


def unknown_series(expr: str) -> frozenset[str]:
    """The series ``expr`` reads that nothing exports (a typo, or a metric the bot lacks)."""
    return metric_names(expr) - known_series()


#: Template variables that hold a PromQL query of their own (label_values(...)).
_LABEL_VALUES: Final = "label_values("


def all_queries() -> Iterator[Query]:
    """Every dashboard target, template-variable query and rule expression."""
    for name, model in sorted(all_dashboards().items()):
        uid = name.removesuffix(".json")
        for variable in model.get("templating", {}).get("list", []):
            text = variable.get("query")
            if isinstance(text, dict) and str(text.get("query", "")).startswith(_LABEL_VALUES):
                # label_values(<selector>, <label>): the selector is a query of its own.
                inner = text["query"][len(_LABEL_VALUES) : -1].rsplit(",", 1)[0]
                yield Query(f"{uid} / ${variable['name']}", inner, kind="variable")
        for title, target in targets(model):
            if "expr" in target:
                yield Query(f"{uid} / {title}", target["expr"])
            elif "rawSql" in target:
                yield Query(f"{uid} / {title}", target["rawSql"], "sql")
    for record in rules.recording_rules():
        yield Query(f"rule {record.record}", record.expr, kind="record")
    for alert in rules.alerts():
        yield Query(f"rule {alert.name}", alert.expr, kind="alert")
