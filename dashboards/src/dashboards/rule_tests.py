"""promtool unit tests for every alert, as data: series that must make it fire, and series on
which it must stay silent.

``python -m dashboards build`` writes them to ``build/rules/tgscale.rules.test.yaml`` next to
the rule file, so ``promtool test rules dashboards/build/rules/tgscale.rules.test.yaml`` runs
them by hand; the test suite runs each case on its own as well. Expected annotations are derived
from the rule's texts (which use only ``$labels``), so a case checks labels and texts exactly.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from dashboards import rules

BOT = 'namespace="bot", update_type="text"'


@dataclass(frozen=True)
class Case:
    """One promtool alert test: input series, the time to evaluate, the alerts expected then."""

    alert: str
    why: str
    series: dict[str, str]
    eval_time: str
    fires: tuple[dict[str, str], ...] = field(default=())


def _updates(handled: str, retry: str) -> dict[str, str]:
    return {
        f'tgbot_updates_total{{{BOT}, outcome="handled"}}': handled,
        f'tgbot_updates_total{{{BOT}, outcome="retry"}}': retry,
    }


def _durations(total_per_min: int, fast_per_min: float) -> dict[str, str]:
    return {
        f'tgbot_update_duration_seconds_bucket{{{BOT}, le="0.25"}}': f"0+{fast_per_min}x300",
        f'tgbot_update_duration_seconds_bucket{{{BOT}, le="+Inf"}}': f"0+{total_per_min}x300",
        f"tgbot_update_duration_seconds_count{{{BOT}}}": f"0+{total_per_min}x300",
    }


def _lag(bucket: str) -> dict[str, str]:
    bounds = ("1", "10", "30", "+Inf")
    upto = bounds.index(bucket)
    return {
        f'tgload_delivery_lag_seconds_bucket{{namespace="load", le="{le}"}}': (
            "0+100x30" if i >= upto else "0x30"
        )
        for i, le in enumerate(bounds)
    }


def _pool(in_use: int, size: int, waiting: int) -> dict[str, str]:
    pod = 'namespace="bot", pod="bot-1"'
    return {
        f"tgbot_db_pool_in_use{{{pod}}}": f"{in_use}x20",
        f"tgbot_db_pool_size{{{pod}}}": f"{size}x20",
        f"tgbot_db_pool_waiting{{{pod}}}": f"{waiting}x20",
    }


def _hpa(namespace: str, current: str, maximum: str) -> dict[str, str]:
    labels = f'namespace="{namespace}", horizontalpodautoscaler="tgbot", job="kube-state-metrics"'
    return {
        f"kube_horizontalpodautoscaler_status_current_replicas{{{labels}}}": current,
        f"kube_horizontalpodautoscaler_spec_max_replicas{{{labels}}}": maximum,
    }


READY_BOT = {'tgbot_ready{namespace="bot", pod="bot-1"}': "1x20"}
HPA_LABELS = {"namespace": "bot", "horizontalpodautoscaler": "tgbot"}
API = 'namespace="bot", method="sendMessage"'

CASES: tuple[Case, ...] = (
    # --- SLO burn rates: 10 deliveries/s ---------------------------------------------------------
    Case("TgbotErrorBudgetBurnFast", "9 % answered 503 for an hour",
         _updates("0+600x130", "0+60x130"), "70m", ({"namespace": "bot"},)),
    Case("TgbotErrorBudgetBurnFast", "0.05 % errors is within budget",
         _updates("0+600x130", "0+0.3x130"), "70m"),
    Case("TgbotErrorBudgetBurnFast", "errors stopped 40 min ago: only the 1 h window shows them",
         _updates("0+600x130", "0+60x60 3600x70"), "100m"),
    Case("TgbotErrorBudgetBurnSlow", "0.5 % errors for 3 hours burns 5x the budget",
         _updates("0+600x200", "0+3x200"), "3h", ({"namespace": "bot"},)),
    Case("TgbotErrorBudgetBurnSlow", "0.05 % errors is within budget",
         _updates("0+600x200", "0+0.3x200"), "3h"),
    Case("TgbotLatencyBudgetBurnFast", "20 % of answers slower than 250 ms",
         _durations(600, 480), "70m", ({"namespace": "bot"},)),
    Case("TgbotLatencyBudgetBurnFast", "1 % slow is exactly the budget, far below 14.4x",
         _durations(600, 594), "70m"),
    Case("TgbotLatencyBudgetBurnSlow", "5 % slow for 3 hours",
         _durations(600, 570), "3h", ({"namespace": "bot"},)),
    Case("TgbotLatencyBudgetBurnSlow", "0.5 % slow is within budget",
         _durations(600, 597), "3h"),
    # --- capacity -------------------------------------------------------------------------------
    Case("TgbotAutoscalerAtMax", "at max for 12 min; the other namespace has no bot",
         {**_hpa("bot", "10x20", "10x20"), **_hpa("other", "10x20", "10x20"), **READY_BOT},
         "12m", (HPA_LABELS,)),
    Case("TgbotAutoscalerAtMax", "one below max",
         {**_hpa("bot", "9x20", "10x20"), **READY_BOT}, "12m"),
    Case("TgbotAutoscalerAtMax", "at max for only 5 min",
         {**_hpa("bot", "5x7 10x13", "10x20"), **READY_BOT}, "12m"),
    Case("TgbotPendingUpdatesGrowing", "backlog grows by 20 a minute",
         {'tgload_pending_updates{job="locust", instance="locust:9646"}': "0+20x30"},
         "25m", ({"job": "locust", "instance": "locust:9646"},)),
    Case("TgbotPendingUpdatesGrowing", "a large but steady backlog",
         {'tgload_pending_updates{job="locust", instance="locust:9646"}': "500x30"}, "25m"),
    Case("TgbotDeliveryLagHigh", "every update takes 10-30 s to be acknowledged",
         _lag("30"), "15m", ({"namespace": "load"},)),
    Case("TgbotDeliveryLagHigh", "every update acknowledged within 1 s", _lag("1"), "15m"),
    Case("TgbotDBPoolSaturated", "pool fully lent out with 3 waiters",
         _pool(10, 10, 3), "15m", ({"namespace": "bot", "pod": "bot-1"},)),
    Case("TgbotDBPoolSaturated", "pool fully lent out but nobody waits", _pool(10, 10, 0), "15m"),
    Case("TgbotBotAPIRateLimited", "10 % of sendMessage calls get 429",
         {f'tgbot_bot_api_requests_total{{{API}, status="200"}}': "0+600x30",
          f"tgbot_bot_api_rate_limited_total{{{API}}}": "0+60x30"},
         "25m", ({"namespace": "bot", "method": "sendMessage"},)),
    Case("TgbotBotAPIRateLimited", "one 429 a minute out of 600 calls",
         {f'tgbot_bot_api_requests_total{{{API}, status="200"}}': "0+600x30",
          f"tgbot_bot_api_rate_limited_total{{{API}}}": "0+1x30"}, "25m"),
    # --- health ---------------------------------------------------------------------------------
    Case("TgbotTargetDown", "one bot instance stops answering scrapes",
         {'up{job="tgbot", instance="bot-1:8080"}': "1x5 0x20",
          'up{job="tgbot", instance="bot-2:8080"}': "1x25",
          'tgbot_ready{job="tgbot", instance="bot-1:8080"}': "1x5",
          'tgbot_ready{job="tgbot", instance="bot-2:8080"}': "1x25"},
         "15m", ({"job": "tgbot", "instance": "bot-1:8080"},)),
    Case("TgbotTargetDown", "a down target of another job is not the bot's",
         {'up{job="node", instance="node-1:9100"}': "0x25",
          'tgbot_ready{job="tgbot", instance="bot-2:8080"}': "1x25"}, "15m"),
    Case("TgbotNotReady", "readiness off for 20 min",
         {'tgbot_ready{namespace="bot", pod="bot-1", instance="bot-1:8080", job="tgbot"}': "0x20"},
         "10m", ({"namespace": "bot", "pod": "bot-1", "instance": "bot-1:8080", "job": "tgbot"},)),
    Case("TgbotNotReady", "a 2-minute drain during a rollout",
         {'tgbot_ready{namespace="bot", pod="bot-1", instance="bot-1:8080", job="tgbot"}':
          "1x5 0x2 1x13"}, "10m"),
)  # fmt: skip

_LABEL_REF = re.compile(r"\{\{ \$labels\.(\w+) \}\}")


def expected_alert(alert: rules.Alert, labels: dict[str, str]) -> dict[str, Any]:
    """The alert promtool should report: labels plus the rendered annotations."""
    annotations = alert.to_rule()["annotations"]
    rendered = {
        key: _LABEL_REF.sub(lambda match: labels.get(match.group(1), ""), text)
        for key, text in annotations.items()
    }
    return {
        "exp_labels": {**labels, "severity": alert.severity},
        "exp_annotations": rendered,
    }


def promtool_test_file(cases: tuple[Case, ...], rule_file: str) -> dict[str, Any]:
    """A promtool test file with one test group per case (``rule_file`` relative to it)."""
    by_name = {alert.name: alert for alert in rules.alerts()}
    tests = []
    for case in cases:  # one test group per case, so a failure names its case
        alert = by_name[case.alert]
        tests.append(
            {
                "name": f"{case.alert}: {case.why}",
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": case.eval_time,
                        "alertname": case.alert,
                        "exp_alerts": [expected_alert(alert, labels) for labels in case.fires],
                    }
                ],
            }
        )
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}
