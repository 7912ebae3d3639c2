from bot_contract import metrics as m


def test_metric_names_are_unique_and_prefixed() -> None:
    names = [metric.name for metric in m.all_metrics()]
    assert len(names) == len(set(names))
    assert all(name.startswith(("tgbot_", "tgload_", "tgemu_")) for name in names)


def test_series_names_follow_the_exposition_format() -> None:
    assert m.series_names(m.UPDATES) == ("tgbot_updates_total", "tgbot_updates_created")
    assert "tgbot_update_duration_seconds_bucket" in m.series_names(m.UPDATE_DURATION)
    assert m.UPDATES.series == "tgbot_updates_total"
    assert m.UPDATES_IN_FLIGHT.series == "tgbot_updates_in_flight"


def test_counters_are_named_without_total_suffix() -> None:
    # prometheus_client appends _total itself; a name ending in it would export _total_total.
    assert not any(x.name.endswith("_total") for x in m.all_metrics())
