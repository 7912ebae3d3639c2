"""The dashboards build, are deterministic, keep stable uids and the shared templating, and the
committed JSON and rule files match what the code generates."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import BUILDERS, all_dashboards, all_rule_groups, build
from dashboards.__main__ import main
from dashboards.common import encode, targets, to_json

if TYPE_CHECKING:
    from pathlib import Path

EXPECTED_UIDS = {"tgbot-overview", "tgbot-autoscaling", "tgbot-load-test", "tgbot-audience"}


def test_every_builder_builds_with_a_stable_unique_uid() -> None:
    models = all_dashboards()
    assert {model["uid"] for model in models.values()} == EXPECTED_UIDS
    assert set(models) == {f"{uid}.json" for uid in EXPECTED_UIDS}
    assert len(BUILDERS) == len(models)


def test_the_json_is_deterministic() -> None:
    first = {name: encode(model) for name, model in all_dashboards().items()}
    again = {f"{m['uid']}.json": encode(m) for m in (to_json(b()) for b in BUILDERS)}
    assert again == first
    for text in first.values():
        assert (
            text
            == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        )


@pytest.mark.parametrize("name", sorted(f"{uid}.json" for uid in EXPECTED_UIDS))
def test_dashboard_uses_the_datasource_variable_everywhere(name: str) -> None:
    model = all_dashboards()[name]
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "generated" in model["tags"]
    for title, target in targets(model):
        if "expr" in target:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, title
        else:
            assert target["datasource"]["uid"] == "${postgres}", title
            assert "postgres" in variables
    for panel in model["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] in {"${datasource}", "${postgres}"}, panel["title"]
            assert panel.get("description"), f"{panel['title']} has no description"


@pytest.mark.parametrize("name", sorted(f"{uid}.json" for uid in EXPECTED_UIDS))
def test_panels_have_unique_ids_and_fit_the_grid(name: str) -> None:
    panels: list[dict[str, Any]] = all_dashboards()[name]["panels"]
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
    ref_ids = [[t["refId"] for t in p.get("targets", [])] for p in panels]
    assert all(len(ids) == len(set(ids)) for ids in ref_ids)


def test_namespace_and_pod_templating_scope_the_bot_queries() -> None:
    overview = all_dashboards()["tgbot-overview.json"]
    names = {v["name"] for v in overview["templating"]["list"]}
    assert {"namespace", "pod"} <= names
    for title, target in targets(overview):
        if "tgbot_" in target["expr"]:
            assert '$namespace"' in target["expr"], title


def test_rule_groups_have_unique_names_and_every_alert_has_texts() -> None:
    groups = all_rule_groups()
    assert len({g["name"] for g in groups}) == len(groups)
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    assert len({a["alert"] for a in alerts}) == len(alerts)
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])


def test_readme_lists_every_alert_with_summary_and_runbook() -> None:
    text = build.README.read_text(encoding="utf-8")
    for group in all_rule_groups():
        for rule in group["rules"]:
            if "alert" in rule:
                assert f"#### {rule['alert']}" in text
                assert rule["annotations"]["summary"] in text
            else:
                assert f"`{rule['record']}`" in text


def test_committed_build_is_up_to_date() -> None:
    """Fails when someone changed a dashboard or rule without `make dashboards`."""
    assert build.stale() == [], "run `make dashboards` and commit dashboards/build/"


def test_check_command_reports_a_stale_file(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{build.README_START}\n{build.README_END}\n", encoding="utf-8")
    build.write(tmp_path, readme)
    assert build.stale(tmp_path, readme) == []
    assert main(["check", "--out", str(tmp_path), "--readme", str(readme)]) == 0
    target = tmp_path / "dashboards" / "tgbot-overview.json"
    target.write_text(target.read_text(encoding="utf-8").replace("Updates/s", "Updatez/s"))
    assert build.stale(tmp_path, readme) == [str(target)]
    assert main(["check", "--out", str(tmp_path), "--readme", str(readme)]) == 1
    (tmp_path / "dashboards" / "old.json").write_text("{}")
    assert f"{tmp_path / 'dashboards' / 'old.json'} (no longer generated)" in build.stale(
        tmp_path, readme
    )


def test_build_command_writes_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{build.README_START}\n{build.README_END}\n", encoding="utf-8")
    assert main(["build", "--out", str(tmp_path), "--readme", str(readme)]) == 0
    assert "#### TgbotTargetDown" in readme.read_text(encoding="utf-8")
    written = capsys.readouterr().out
    for uid in EXPECTED_UIDS:
        assert (tmp_path / "dashboards" / f"{uid}.json").is_file()
        assert f"{uid}.json" in written
    assert (tmp_path / build.RULES_FILE).is_file()


def test_preview_needs_a_prometheus_and_names_one_it_cannot_reach(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The preview starts nothing: no --prometheus is a usage error, a dead one exits 2."""
    with pytest.raises(SystemExit) as usage:
        main(["preview", "--out", str(tmp_path / "x.png")])
    assert usage.value.code == 2
    assert "--prometheus" in capsys.readouterr().err
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert main(["preview", "--prometheus", dead, "--out", str(tmp_path / "x.png")]) == 2
    assert f"cannot query Prometheus at {dead}" in capsys.readouterr().out
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("name", sorted(f"{uid}.json" for uid in EXPECTED_UIDS))
def test_json_round_trips_through_the_sdk_models(name: str) -> None:
    """What we write parses back into Grafana's dashboard model with every panel and target."""
    register_default_plugins()
    model = all_dashboards()[name]
    back = json.loads(JSONEncoder(sort_keys=True).encode(Dashboard.from_json(model)))
    assert back["uid"] == model["uid"]
    assert [p["title"] for p in back["panels"]] == [p["title"] for p in model["panels"]]
    assert [t for _, t in targets(back)] == [t for _, t in targets(model)]
