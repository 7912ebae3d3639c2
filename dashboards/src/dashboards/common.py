"""Building blocks every dashboard shares: the datasource variable, templating, panels, JSON.

Datasources are never named: panels point at the ``$datasource`` variable (and the Audience
dashboard's SQL panels at ``$postgres``), so one JSON works in every Grafana.
"""

import json
from collections.abc import Iterator, Sequence
from typing import Any, Final

from grafana_foundation_sdk.builders import stat as stat_builder
from grafana_foundation_sdk.builders import timeseries as timeseries_builder
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DatasourceVariable,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.cog.variants import Dataquery as AnyDataquery
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Panel,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

#: Anything that builds a panel (time series, stat, ...).
PanelBuilder = Builder[Panel]
#: A dashboard section: a row title and the panels under it.
Section = tuple[str, Sequence[PanelBuilder]]

PROMETHEUS: Final = DataSourceRef(type_val="prometheus", uid="${datasource}")
POSTGRES: Final = DataSourceRef(type_val="grafana-postgresql-datasource", uid="${postgres}")
#: Every dashboard carries this tag (infra and reviewers can tell generated ones apart).
TAG: Final = "generated"

#: The label matchers of every bot query: the namespace and pod template variables.
BOT_SCOPE: Final = 'namespace=~"$namespace", pod=~"$pod"'


def selector(metric: str, *matchers: str, scope: str = BOT_SCOPE) -> str:
    """``metric{scope, matchers...}``: a series selector limited to the chosen namespace/pods."""
    inner = ", ".join(part for part in (scope, *matchers) if part)
    return f"{metric}{{{inner}}}"


def rate(metric: str, *matchers: str, by: str = "", scope: str = BOT_SCOPE) -> str:
    """``sum by (by) (rate(metric{...}[$__rate_interval]))``."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({selector(metric, *matchers, scope=scope)}[$__rate_interval]))"


def quantile(q: float, histogram: str, *matchers: str, by: str = "", scope: str = BOT_SCOPE) -> str:
    """The ``q`` quantile of a histogram's buckets over ``$__rate_interval``."""
    labels = f"{by}, le" if by else "le"
    return (
        f"histogram_quantile({q}, {rate(f'{histogram}_bucket', *matchers, by=labels, scope=scope)})"
    )


def dashboard(title: str, uid: str, description: str) -> Dashboard:
    """A dashboard with the shared settings: uid, tags, time range, refresh, ``$datasource``."""
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG, "tgscale"])
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )


def label_variable(name: str, label: str, query: str, *, title: str) -> QueryVariable:
    """A multi-select variable over a label's values, "All" meaning the regex ``.*``."""
    return (
        QueryVariable(name)
        .label(title)
        .datasource(PROMETHEUS)
        .query({"query": f"label_values({query}, {label})", "refId": f"var-{name}"})
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(selected=True, text="All", value="$__all"))
    )


def query(expr: str, legend: str = "", *, instant: bool = False) -> Dataquery:
    """A Prometheus query on ``$datasource`` (``legend`` is a Grafana legend template)."""
    target = Dataquery().expr(expr).datasource(PROMETHEUS)
    if legend:
        target = target.legend_format(legend)
    return target.instant() if instant else target.range()


class SqlQuery(Builder[AnyDataquery]):
    """A raw SQL query on the ``$postgres`` datasource (the SDK has no PostgreSQL builder)."""

    def __init__(self, raw_sql: str, *, table: bool = True) -> None:
        self._data: dict[str, Any] = {
            "datasource": POSTGRES.to_json(),
            "editorMode": "code",
            "format": "table" if table else "time_series",
            "rawQuery": True,
            "rawSql": raw_sql,
        }

    def build(self) -> AnyDataquery:
        """The query model."""
        return UnknownDataquery(dict(self._data))


def _with_ref_ids(targets: Sequence[Builder[AnyDataquery]]) -> list[Builder[AnyDataquery]]:
    out: list[Builder[AnyDataquery]] = []
    for index, target in enumerate(targets):
        ref = chr(ord("A") + index)
        if isinstance(target, Dataquery):
            out.append(target.ref_id(ref))
        elif isinstance(target, SqlQuery):
            target._data["refId"] = ref  # our own builder: set the refId it holds
            out.append(target)
        else:  # pragma: no cover - only the two kinds above are built here
            raise TypeError(type(target))
    return out


def timeseries(
    title: str,
    description: str,
    targets: Sequence[Builder[AnyDataquery]],
    *,
    unit: str = "short",
    span: int = 12,
    height: int = 8,
    minimum: float | None = 0,
) -> timeseries_builder.Panel:
    """A time-series panel with a bottom list legend."""
    panel = (
        timeseries_builder.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .targets(_with_ref_ids(targets))
        .unit(unit)
        .span(span)
        .height(height)
        .fill_opacity(10)
        .line_width(1)
        .legend(
            VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    return panel.min(minimum) if minimum is not None else panel


def stat(
    title: str,
    description: str,
    target: Builder[AnyDataquery],
    *,
    unit: str = "short",
    span: int = 4,
    height: int = 4,
    warn_at: float | None = None,
    datasource: DataSourceRef = PROMETHEUS,
) -> stat_builder.Panel:
    """A single-number panel; turns red at ``warn_at`` when given."""
    steps = [Threshold(color="green", value=None)]
    if warn_at is not None:
        steps.append(Threshold(color="red", value=warn_at))
    return (
        stat_builder.Panel()
        .title(title)
        .description(description)
        .datasource(datasource)
        .targets(_with_ref_ids([target]))
        .unit(unit)
        .span(span)
        .height(height)
        .thresholds(ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .graph_mode(BigValueGraphMode.AREA)
        .color_mode(BigValueColorMode.VALUE)
    )


def with_sections(board: Dashboard, sections: Sequence[Section]) -> Dashboard:
    """Append each section as a row followed by its panels (the SDK lays them out left to right)."""
    for title, panels in sections:
        board = board.with_row(Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return board


def to_json(board: Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model, with panel ids numbered in layout order."""
    model: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(board.build()))
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number
    return model


def encode(model: dict[str, Any]) -> str:
    """Deterministic text for a JSON model (sorted keys, two-space indent, final newline)."""
    return json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def targets(model: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``(panel title, target)`` of a dashboard model, in layout order."""
    for panel in model["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target
