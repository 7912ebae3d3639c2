"""The service level objectives the burn-rate alerts and the SLO panels share.

Two SLIs over webhook deliveries, both counted by the bot itself:

* **errors**: a delivery answered 503 (``outcome`` ``retry`` or ``shed``), which Telegram must
  redeliver. Dead letters are answered 200 and alert on their own; they are not availability.
* **latency**: a delivery answered slower than :data:`LATENCY_THRESHOLD_S`.

Burn-rate windows and factors follow the Google SRE workbook ("Alerting on SLOs", table 5-8)
for a 30-day budget: a page when 2 % of the budget burns in one hour or 5 % in six hours, a
ticket when 10 % burns in three days.
"""

from dataclasses import dataclass
from typing import Final

from bot_contract.metrics import Outcome

#: Outcomes that count against the availability SLO (the webhook answered 503).
ERROR_OUTCOMES: Final = (Outcome.RETRY, Outcome.SHED)
#: A delivery slower than this counts against the latency SLO (a histogram bucket bound).
LATENCY_THRESHOLD_S: Final = 0.25

#: Every window a burn-rate alert reads; each gets a recording rule per SLI.
WINDOWS: Final = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@dataclass(frozen=True)
class Objective:
    """One SLO: the share of good deliveries promised over the budget period."""

    sli: str  # "errors" or "latency": the recording rule stem
    target: float  # e.g. 0.999
    description: str

    @property
    def budget(self) -> float:
        """The allowed bad share (1 - target)."""
        return round(1.0 - self.target, 6)


@dataclass(frozen=True)
class BurnWindow:
    """A long and a short window that must both burn faster than ``factor``."""

    long: str
    short: str
    factor: float


AVAILABILITY: Final = Objective(
    "errors", 0.999, "99.9 % of webhook deliveries are acknowledged (not answered 503)"
)
LATENCY: Final = Objective(
    "latency", 0.99, f"99 % of webhook deliveries are answered within {LATENCY_THRESHOLD_S} s"
)
OBJECTIVES: Final = (AVAILABILITY, LATENCY)

#: Page: 2 % of a 30-day budget in 1 h, or 5 % in 6 h.
FAST_BURN: Final = (BurnWindow("1h", "5m", 14.4), BurnWindow("6h", "30m", 6.0))
#: Ticket: 10 % of the budget in 1 d, or in 3 d at the budget's own pace.
SLOW_BURN: Final = (BurnWindow("1d", "2h", 3.0), BurnWindow("3d", "6h", 1.0))


def ratio_record(objective: Objective, window: str) -> str:
    """The recording rule name holding ``objective``'s bad share over ``window``."""
    return f"namespace:tgbot_slo_{objective.sli}:ratio_rate{window}"
