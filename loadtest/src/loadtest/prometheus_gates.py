"""Prometheus gates: the bot's own latency and errors, and whether the fleet scaled in time.

Queries go through ``prometheus-api-client``. Series names come from ``bot_contract.metrics``
(the bot) and kube-state-metrics v2 (``kube_deployment_status_replicas_available``,
``kube_horizontalpodautoscaler_status_current_replicas``/``_spec_max_replicas``). A gate whose
series is absent (no cluster, no scrape) is ``n/a`` with the reason; an unreachable Prometheus
fails every configured gate, since the operator asked for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from requests.exceptions import RequestException

from bot_contract import metrics
from loadtest.gates import GateResult, Verdict, to_datetime

if TYPE_CHECKING:
    from loadtest.profiles import GateConfig

REPLICAS = "kube_deployment_status_replicas_available"
HPA_CURRENT = "kube_horizontalpodautoscaler_status_current_replicas"
HPA_MAX = "kube_horizontalpodautoscaler_spec_max_replicas"
_FAILED_OUTCOMES = f"{metrics.Outcome.RETRY.value}|{metrics.Outcome.SHED.value}"


@dataclass(frozen=True)
class Window:
    """The run's time window and the spike's, in unix seconds."""

    start: float
    end: float
    spike: tuple[float, float] | None = None


@dataclass(frozen=True)
class Kube:
    """Which Deployment and HPA the scaling gates look at."""

    deployment: str = "tgbot"
    hpa: str = "tgbot"
    namespace: str = ""

    def selector(self, label: str, name: str) -> str:
        """A PromQL label selector for ``label="name"`` (and the namespace when given)."""
        parts = [f'{label}="{name}"']
        if self.namespace:
            parts.append(f'namespace="{self.namespace}"')
        return "{" + ",".join(parts) + "}"


Series = list[tuple[float, float]]


class _Client:
    def __init__(self, url: str) -> None:
        self.api = PrometheusConnect(url=url, disable_ssl=True)

    def instant(self, query: str, at: float) -> float | None:
        result = self.api.custom_query(query, params={"time": at})
        if not result:
            return None
        return float(result[0]["value"][1])

    def series(self, query: str, window: Window) -> Series | None:
        step = max(1, math.ceil((window.end - window.start) / 5000))
        result: list[dict[str, Any]] = self.api.custom_query_range(
            query, to_datetime(window.start), to_datetime(window.end), f"{step}s"
        )
        if not result:
            return None
        return [(float(t), float(v)) for t, v in result[0]["values"]]


def prometheus_gates(url: str, gates: GateConfig, window: Window, kube: Kube) -> list[GateResult]:
    """Every configured Prometheus gate, evaluated over ``window``."""
    wanted = {
        "bot p99 (prometheus)": gates.bot_p99_ms,
        "bot error ratio (prometheus)": gates.bot_error_ratio,
        "scale up": gates.scale_up_within_s if gates.min_replicas is not None else None,
        "scale down": gates.scale_down_within_s,
        "hpa not pinned at max": gates.max_pinned_s,
    }
    configured = [name for name, value in wanted.items() if value is not None]
    if not configured:
        return []
    if not url:
        reason = "no Prometheus URL given (--prometheus-url)"
        return [
            GateResult(name, "n/a", threshold=wanted[name], reason=reason) for name in configured
        ]
    client = _Client(url)
    try:
        client.api.custom_query("vector(1)")
    except (PrometheusApiClientException, RequestException) as error:
        reason = f"Prometheus at {url} unreachable: {type(error).__name__}"
        return [
            GateResult(name, "fail", threshold=wanted[name], reason=reason) for name in configured
        ]
    out: list[GateResult] = []
    checks = {
        "bot p99 (prometheus)": lambda: _bot_p99(client, gates, window),
        "bot error ratio (prometheus)": lambda: _bot_errors(client, gates, window),
        "scale up": lambda: _scale_up(client, gates, window, kube),
        "scale down": lambda: _scale_down(client, gates, window, kube),
        "hpa not pinned at max": lambda: _pinned(client, gates, window, kube),
    }
    for name in configured:
        try:
            out.append(checks[name]())
        except (PrometheusApiClientException, RequestException, KeyError, ValueError) as error:
            out.append(
                GateResult(name, "fail", threshold=wanted[name], reason=f"query failed: {error}")
            )
    return out


def _range(window: Window) -> str:
    return f"{max(1, math.ceil(window.end - window.start))}s"


def _bot_p99(client: _Client, gates: GateConfig, window: Window) -> GateResult:
    threshold = gates.bot_p99_ms
    if threshold is None:
        raise ValueError("gate not configured")
    bucket = f"{metrics.UPDATE_DURATION.name}_bucket"
    query = f"histogram_quantile(0.99, sum by (le) (increase({bucket}[{_range(window)}])))"
    value = client.instant(query, window.end)
    name = "bot p99 (prometheus)"
    if value is None:
        return GateResult(
            name, "n/a", threshold=threshold, unit=" ms", reason=f"series {bucket} absent"
        )
    if math.isnan(value):
        return GateResult(
            name,
            "n/a",
            threshold=threshold,
            unit=" ms",
            reason=f"{bucket} has no observations in the run",
        )
    measured = value * 1000
    verdict: Verdict = "pass" if measured <= threshold else "fail"
    return GateResult(name, verdict, measured, threshold, " ms")


def _bot_errors(client: _Client, gates: GateConfig, window: Window) -> GateResult:
    threshold = gates.bot_error_ratio
    name = "bot error ratio (prometheus)"
    series = metrics.UPDATES.series
    total = client.instant(f"sum(increase({series}[{_range(window)}]))", window.end)
    if total is None:
        return GateResult(name, "n/a", threshold=threshold, reason=f"series {series} absent")
    if not total or math.isnan(total):
        return GateResult(name, "n/a", threshold=threshold, reason="no updates counted in the run")
    failed_query = f'sum(increase({series}{{outcome=~"{_FAILED_OUTCOMES}"}}[{_range(window)}]))'
    failed = client.instant(failed_query, window.end) or 0.0
    ratio = failed / total
    if threshold is None:
        raise ValueError("gate not configured")
    return GateResult(
        name,
        "pass" if ratio <= threshold else "fail",
        ratio,
        threshold,
        reason=f"{failed:.0f} of {total:.0f} answered 503",
    )


def _spike_and_replicas(
    client: _Client, name: str, threshold: float, window: Window, kube: Kube
) -> tuple[tuple[float, float], Series] | GateResult:
    """The spike and the Deployment's available replicas, or the gate's ``n/a`` result."""
    if window.spike is None:
        return GateResult(
            name, "n/a", threshold=threshold, unit=" s", reason="the profile has no spike"
        )
    selector = kube.selector("deployment", kube.deployment)
    series = client.series(f"max({REPLICAS}{selector})", window)
    if series is None:
        return _absent(name, threshold, f'{REPLICAS}{{deployment="{kube.deployment}"}}')
    return window.spike, series


def _within(name: str, took: float, threshold: float, reason: str) -> GateResult:
    """A gate on seconds: pass when ``took`` is at most ``threshold``."""
    return GateResult(
        name, "pass" if took <= threshold else "fail", took, threshold, " s", reason=reason
    )


def _absent(name: str, threshold: float | None, what: str) -> GateResult:
    return GateResult(
        name,
        "n/a",
        threshold=threshold,
        unit=" s",
        reason=f"series {what} absent (no cluster or kube-state-metrics?)",
    )


def _scale_up(client: _Client, gates: GateConfig, window: Window, kube: Kube) -> GateResult:
    name, threshold, needed = "scale up", gates.scale_up_within_s, gates.min_replicas
    if threshold is None or needed is None:
        raise ValueError("gate not configured")
    found = _spike_and_replicas(client, name, threshold, window, kube)
    if isinstance(found, GateResult):
        return found
    (start, _), series = found
    reached = next((t for t, v in series if t >= start and v >= needed), None)
    if reached is None:
        peak = max((v for t, v in series if t >= start), default=0.0)
        return GateResult(
            name,
            "fail",
            threshold=threshold,
            unit=" s",
            reason=f"never reached {needed} replicas (peak {peak:.0f})",
        )
    took = reached - start
    return _within(
        name, took, threshold, f"{needed} replicas available {took:.0f} s after the spike"
    )


def _scale_down(client: _Client, gates: GateConfig, window: Window, kube: Kube) -> GateResult:
    name, threshold = "scale down", gates.scale_down_within_s
    if threshold is None:
        raise ValueError("gate not configured")
    found = _spike_and_replicas(client, name, threshold, window, kube)
    if isinstance(found, GateResult):
        return found
    (spike_start, spike_end), series = found
    before = [v for t, v in series if t <= spike_start]
    if not before:
        return GateResult(
            name, "n/a", threshold=threshold, unit=" s", reason="no replica sample before the spike"
        )
    baseline = before[-1]
    down = next((t for t, v in series if t >= spike_end and v <= baseline), None)
    if down is None:
        observed = window.end - spike_end
        if observed < threshold:
            return GateResult(
                name,
                "n/a",
                threshold=threshold,
                unit=" s",
                reason=f"run ended {observed:.0f} s after the spike, before the "
                f"window closed; still above {baseline:.0f} replicas",
            )
        return GateResult(
            name,
            "fail",
            threshold=threshold,
            unit=" s",
            reason=f"not back to {baseline:.0f} replicas by the end",
        )
    return _within(name, down - spike_end, threshold, f"back to {baseline:.0f} replicas")


def _pinned(client: _Client, gates: GateConfig, window: Window, kube: Kube) -> GateResult:
    name, threshold = "hpa not pinned at max", gates.max_pinned_s
    if threshold is None:
        raise ValueError("gate not configured")
    selector = kube.selector("horizontalpodautoscaler", kube.hpa)
    current = client.series(f"max({HPA_CURRENT}{selector})", window)
    limit = client.series(f"max({HPA_MAX}{selector})", window)
    if current is None or limit is None:
        missing = HPA_CURRENT if current is None else HPA_MAX
        return _absent(name, threshold, f'{missing}{{horizontalpodautoscaler="{kube.hpa}"}}')
    limits = dict(limit)
    longest, since = 0.0, None
    for t, v in current:
        at_max = t in limits and v >= limits[t]
        if at_max and since is None:
            since = t
        if since is not None:
            longest = max(longest, t - since)
        if not at_max:
            since = None
    return _within(name, longest, threshold, f"longest stretch at maxReplicas {longest:.0f} s")
