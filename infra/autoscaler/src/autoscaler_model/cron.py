"""Five-field cron schedules as KEDA's cron scaler parses them (robfig/cron/v3).

KEDA builds ``cron.NewParser(Minute | Hour | Dom | Month | Dow)``: ranges ``a-b``, steps
``*/n`` and ``a-b/n``, lists, ``?`` for ``*``, month and weekday names. As in robfig, when
both day-of-month and day-of-week are restricted a day matching either matches;
``next_after`` is ``Schedule.Next``: the first matching minute strictly after ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (low, high, names) per field, in robfig's bounds.
_NO_NAMES: dict[str, int] = {}
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, _NO_NAMES),
    (0, 23, _NO_NAMES),
    (1, 31, _NO_NAMES),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)
# A day search longer than this finds nothing (robfig gives up after five years).
_MAX_DAYS = 366 * 5


class CronError(ValueError):
    """A schedule robfig/cron would reject."""


def _value(text: str, names: dict[str, int]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text!r}")
    return int(text)


def _parse_field(
    text: str, low: int, high: int, names: dict[str, int]
) -> tuple[frozenset[int], bool]:
    """One field: the set of matching values and whether it was ``*``/``?`` (the star bit)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        range_part, _, step_text = part.partition("/")
        step = _value(step_text, {}) if step_text else 1
        if range_part in ("*", "?"):
            start, end = low, high
            star = not step_text
        elif "-" in range_part:
            first, _, last = range_part.partition("-")
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(range_part, names)
            end = high if step_text else start
        if start < low or end > high or start > end or step <= 0:
            raise CronError(f"value out of range in {text!r} ({low}-{high})")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


@dataclass(frozen=True)
class CronSchedule:
    """A parsed ``minute hour day-of-month month day-of-week`` schedule."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    dom_star: bool
    dow_star: bool

    @classmethod
    def parse(cls, spec: str) -> CronSchedule:
        """Parse a five-field spec; raises ``CronError`` as robfig's parser would."""
        fields = spec.split()
        if len(fields) != len(_FIELDS):
            raise CronError(f"expected exactly 5 fields, found {len(fields)}: {spec!r}")
        parsed = [_parse_field(f, *bounds) for f, bounds in zip(fields, _FIELDS, strict=True)]
        return cls(
            parsed[0][0],
            parsed[1][0],
            parsed[2][0],
            parsed[3][0],
            parsed[4][0],
            dom_star=parsed[2][1],
            dow_star=parsed[4][1],
        )

    def _day_matches(self, day: datetime) -> bool:
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow

    def next_after(self, t: datetime) -> datetime | None:
        """``Schedule.Next``: the first matching minute strictly after ``t`` (same tz)."""
        zone: tzinfo | None = t.tzinfo
        start = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for offset in range(_MAX_DAYS):
            date = (day + timedelta(days=offset)).date()
            if date.month not in self.months:
                continue
            candidate_day = datetime(date.year, date.month, date.day, tzinfo=zone)
            if not self._day_matches(candidate_day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    candidate = candidate_day.replace(hour=hour, minute=minute)
                    if candidate >= start:
                        return candidate
        return None
