"""Gates: the run's pass/fail contract, from in-memory stats, the emulator and Prometheus.

SLO gates read the run's :class:`Results` (Locust's in-memory stats and the delivery tally,
never the CSV). Prometheus gates query the bot's histogram and kube-state-metrics series with
``prometheus-api-client``. A gate whose data does not exist reports ``n/a`` with the reason;
it never passes silently. :func:`exit_code` maps verdicts to the process exit code: 3 when a
gate failed, 1 when Locust saw exceptions in our own code, else 0.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from loadtest.tally import bucket_upper_ms, percentile

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loadtest.profiles import GateConfig

Verdict = Literal["pass", "fail", "n/a"]
EXIT_BREACH = 3
EXIT_ERRORS = 1


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome: what it measured, against which threshold, and the verdict."""

    name: str
    verdict: Verdict
    measured: float | None = None
    threshold: float | None = None
    unit: str = ""
    reason: str = ""

    def line(self) -> str:
        """``CHECK FAILED: <gate> <measured> (threshold <t>)`` style, one line."""
        label = {"pass": "CHECK PASSED", "fail": "CHECK FAILED", "n/a": "CHECK N/A"}[self.verdict]
        text = f"{label}: {self.name}"
        if self.measured is not None:
            text += f" {_fmt(self.measured)}{self.unit}"
        if self.threshold is not None:
            text += f" (threshold {_fmt(self.threshold)}{self.unit})"
        if self.reason:
            text += f" - {self.reason}"
        return text


def _fmt(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@dataclass
class Results:
    """What a run measured, gathered on the master (or the local runner)."""

    response_ms: dict[str, dict[int, int]]  # update type -> response time histogram
    requests: int
    failures: int
    lag_ms: dict[int, int]
    offered: int
    acked: int
    expired: int = 0
    redeliveries: int = 0
    reply_messages: list[Sequence[int]] = field(default_factory=list)
    reply_callbacks: list[str] = field(default_factory=list)


def slo_gates(results: Results, gates: GateConfig) -> list[GateResult]:
    """p95/p99 per update type, error ratio, delivery-lag p99 and achieved/offered."""
    out: list[GateResult] = []
    for name, fraction, table in (("p95", 0.95, gates.p95_ms), ("p99", 0.99, gates.p99_ms)):
        if not table:
            continue
        kinds = sorted(set(results.response_ms) | (set(table) - {"*"}))
        for kind in kinds:
            threshold = table.get(kind, table.get("*"))
            if threshold is None:
                continue
            bucket = percentile(results.response_ms.get(kind, {}), fraction)
            gate = f"{name} response time {kind}"
            if bucket is None:
                out.append(
                    GateResult(
                        gate,
                        "n/a",
                        threshold=threshold,
                        unit=" ms",
                        reason="no requests of this type",
                    )
                )
                continue
            # Compare the bucket's upper edge: rounding may never turn a breach into a pass.
            upper = bucket_upper_ms(bucket)
            verdict: Verdict = "pass" if upper <= threshold else "fail"
            out.append(GateResult(gate, verdict, float(bucket), threshold, " ms"))
    if gates.error_ratio is not None:
        if results.requests:
            ratio = results.failures / results.requests
            verdict = "pass" if ratio <= gates.error_ratio else "fail"
            out.append(GateResult("error ratio", verdict, ratio, gates.error_ratio))
        else:
            out.append(
                GateResult(
                    "error ratio",
                    "n/a",
                    threshold=gates.error_ratio,
                    reason="no requests were made",
                )
            )
    if gates.lag_p99_ms is not None:
        bucket = percentile(results.lag_ms, 0.99)
        if bucket is None:
            out.append(
                GateResult(
                    "delivery lag p99",
                    "fail",
                    threshold=gates.lag_p99_ms,
                    unit=" ms",
                    reason="no update was acknowledged",
                )
            )
        else:
            verdict = "pass" if bucket_upper_ms(bucket) <= gates.lag_p99_ms else "fail"
            out.append(
                GateResult("delivery lag p99", verdict, float(bucket), gates.lag_p99_ms, " ms")
            )
    if gates.min_achieved_ratio is not None:
        if results.offered:
            ratio = results.acked / results.offered
            verdict = "pass" if ratio >= gates.min_achieved_ratio else "fail"
            reason = f"{results.acked} of {results.offered} updates acknowledged"
            if results.expired:
                reason += f", {results.expired} expired"
            out.append(
                GateResult(
                    "achieved/offered", verdict, ratio, gates.min_achieved_ratio, reason=reason
                )
            )
        else:
            out.append(
                GateResult(
                    "achieved/offered",
                    "fail",
                    threshold=gates.min_achieved_ratio,
                    reason="no update was offered",
                )
            )
    return out


def reply_gate(
    emulator_url: str,
    messages: list[Sequence[int]],
    callbacks: list[str],
    *,
    chunk: int = 5000,
    rechecks: int = 3,
    recheck_wait_s: float = 1.0,
) -> GateResult:
    """Ask the emulator whether every acknowledged update that needs a reply got one.

    Missing replies are asked about again ``rechecks`` times, ``recheck_wait_s`` apart: a bot
    may send its reply just after acknowledging the update.
    """
    name = "every update needing a reply got one"
    if not emulator_url:
        return GateResult(name, "n/a", reason="no emulator URL given (--emulator-url)")
    try:
        checked, missing_messages, missing_callbacks = _check_replies(
            emulator_url, messages, callbacks, chunk
        )
        for _ in range(rechecks):
            if not missing_messages and not missing_callbacks:
                break
            time.sleep(recheck_wait_s)
            _, missing_messages, missing_callbacks = _check_replies(
                emulator_url, missing_messages, missing_callbacks, chunk
            )
    except (OSError, ValueError) as error:
        return GateResult(name, "fail", reason=f"emulator check-replies failed: {error}")
    missing = len(missing_messages) + len(missing_callbacks)
    reason = f"{checked} checked"
    if missing:
        examples = [*missing_messages, *missing_callbacks][:3]
        reason += f"; missing {len(missing_messages)} message replies and "
        reason += f"{len(missing_callbacks)} callback answers, e.g. {examples}"
        reason += " (if the emulator evicted old replies, raise its record size)"
    verdict: Verdict = "pass" if missing == 0 else "fail"
    return GateResult(name, verdict, float(missing), 0.0, reason=reason)


def _check_replies(
    url: str, messages: list[Any], callbacks: list[Any], chunk: int
) -> tuple[int, list[Any], list[Any]]:
    missing_messages: list[Any] = []
    missing_callbacks: list[Any] = []
    checked = 0
    # One request per chunk keeps each body small; the emulator answers per request.
    for start in range(0, max(len(messages), len(callbacks), 1), chunk):
        body = {
            "messages": [list(m) for m in messages[start : start + chunk]],
            "callback_queries": callbacks[start : start + chunk],
        }
        answer = _post_json(f"{url}/__emulator/check-replies", body)
        missing_messages += answer.get("missing_messages", [])
        missing_callbacks += answer.get("missing_callback_queries", [])
        checked += int(answer.get("checked", 0))
    return checked, missing_messages, missing_callbacks


def _post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (the URL is the operator's emulator)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer = json.loads(response.read())
    if not isinstance(answer, dict):
        raise ValueError(f"unexpected answer {answer!r}")
    return answer


def exit_code(results: list[GateResult], *, had_exceptions: bool) -> int:
    """3 on any failed gate, else 1 if our code raised inside Locust, else 0."""
    if any(r.verdict == "fail" for r in results):
        return EXIT_BREACH
    return EXIT_ERRORS if had_exceptions else 0


def verdict_table(results: list[GateResult]) -> str:
    """A fixed-width table of every gate, for the end of a run."""
    rows = [("gate", "measured", "threshold", "verdict")]
    for r in results:
        measured = "-" if r.measured is None else f"{_fmt(r.measured)}{r.unit}"
        threshold = "-" if r.threshold is None else f"{_fmt(r.threshold)}{r.unit}"
        verdict = r.verdict.upper() + (f" ({r.reason})" if r.reason and r.verdict != "pass" else "")
        rows.append((r.name, measured, threshold, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}"
        for row in rows
    )


def to_datetime(unix: float) -> datetime:
    """A timezone-aware datetime for prometheus-api-client."""
    return datetime.fromtimestamp(unix, tz=UTC)


def finite(value: float) -> bool:
    """Whether a PromQL sample is a number (not NaN or ±Inf)."""
    return not (math.isnan(value) or math.isinf(value))


__all__ = [
    "EXIT_BREACH",
    "EXIT_ERRORS",
    "GateResult",
    "Results",
    "exit_code",
    "reply_gate",
    "slo_gates",
    "verdict_table",
]
