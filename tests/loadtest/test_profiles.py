import argparse

import pytest

from loadtest import options, profiles


@pytest.mark.parametrize("name", ["steady", "peak", "variable", "step"])
def test_shipped_profiles_load(name: str) -> None:
    profile = profiles.load_profile(name)
    assert profile.name == name
    assert profile.shape.duration_s > 0
    assert profile.gates.p95_ms


def test_unknown_profile_names_the_choices() -> None:
    with pytest.raises(ValueError, match="steady"):
        profiles.load_profile("nope")


def test_bad_values_are_refused(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[shape]\nkind = "steady"\nrate = 1\nduration_s = 1\n[delivery]\nmax_connections = 101\n'
    )
    with pytest.raises(ValueError, match=r"max_connections must be 1\.\.100"):
        profiles.load_profile(str(path))
    path.write_text('[shape]\nkind = "steady"\nrate = 1\nduration_s = 1\n[gates]\np95 = 3\n')
    with pytest.raises(ValueError, match="unknown keys"):
        profiles.load_profile(str(path))


def _parse(*argv: str) -> argparse.Namespace:
    from locust.argument_parser import LocustArgumentParser

    parser = LocustArgumentParser()
    options.register(parser)
    return parser.parse_args(list(argv))


def test_flags_override_the_profile_and_env_mirrors_work(monkeypatch) -> None:
    monkeypatch.setenv("LOCUST_CHECK_P99_MS", "123")
    settings = options.settings_from(
        _parse(
            "--load-profile",
            "steady",
            "--check-p95-ms",
            "42",
            "--check-error-ratio",
            "-1",
            "--max-connections",
            "7",
            "--model",
            "open",
            "--shape-duration",
            "5",
        )
    )
    gates = settings.profile.gates
    assert gates.p95_ms == {"*": 42.0}
    assert gates.p99_ms == {"*": 123.0}
    assert gates.error_ratio is None  # -1 switches a gate off
    assert settings.profile.delivery.max_connections == 7
    assert settings.profile.delivery.model == "open"
    assert settings.profile.shape.duration_s == pytest.approx(5)


def test_profile_values_are_the_defaults() -> None:
    settings = options.settings_from(_parse("--load-profile", "peak"))
    assert settings.profile.gates == profiles.load_profile("peak").gates


def test_overrides_change_single_values_before_the_checks() -> None:
    profile = profiles.load_profile(
        "step",
        ["shape.start=100", "shape.step=50.5", "shape.steps=3", "delivery.model=open"],
    )
    assert [profile.shape.rate_at(t) for t in (0.0, 15.0, 30.0)] == [100.0, 150.5, 201.0]
    assert profile.delivery.model == "open"
    with pytest.raises(ValueError, match=r"max_connections must be 1\.\.100"):
        profiles.load_profile("step", ["delivery.max_connections=101"])
    with pytest.raises(ValueError, match=r"expected table\.key=value"):
        profiles.load_profile("step", ["shape.start"])
    with pytest.raises(ValueError, match="unknown keys"):
        profiles.load_profile("step", ["delivery.speed=3"])


def test_locust_option_profile_set_reaches_the_settings() -> None:
    joined = "shape.start=5; shape.steps=2;delivery.model=open;"
    settings = options.settings_from(_parse("--load-profile", "step", "--profile-set", joined))
    assert settings.profile.shape.rate_at(0.0) == 5.0
    assert settings.profile.shape.duration_s == 2 * 15
    assert settings.profile.delivery.model == "open"
