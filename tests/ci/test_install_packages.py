"""``.ci/install-packages``: what it installs, as root or not, with fake dpkg-query/apt-get/id.

The fakes sit first on PATH and log their calls, so nothing on this machine is installed,
stopped or removed; the expected package names come from the groups the Makefile asks for.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.ci.workflow_model import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

SCRIPT = REPO_ROOT / ".ci" / "install-packages"
FAKES = {
    # Installed packages are the lines of $FAKE_INSTALLED.
    "dpkg-query": 'grep -qx "${@: -1}" "$FAKE_INSTALLED" && echo "install ok installed" || exit 1',
    "apt-get": 'echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$FAKE_LOG"',
    "id": 'echo "$FAKE_UID"',
    "systemctl": 'echo "systemctl $*" >> "$FAKE_LOG"',
    "service": 'echo "service $*" >> "$FAKE_LOG"',
}


def _install(tmp_path: Path, *groups: str, uid: int, installed: list[str]) -> tuple[int, str, str]:
    fakes = tmp_path / "bin"
    fakes.mkdir(exist_ok=True)
    for name, body in FAKES.items():
        (fakes / name).write_text(f"#!/bin/bash\n{body}\n")
        (fakes / name).chmod(0o755)
    (tmp_path / "installed").write_text("".join(f"{p}\n" for p in installed))
    log = tmp_path / "log"
    log.write_text("")
    env = {
        "PATH": f"{fakes}:/usr/bin:/bin",
        "FAKE_INSTALLED": str(tmp_path / "installed"),
        "FAKE_LOG": str(log),
        "FAKE_UID": str(uid),
    }
    done = subprocess.run(
        [str(SCRIPT), *groups], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return done.returncode, done.stderr, log.read_text()


def test_root_installs_only_the_missing_packages_quietly_and_disables_their_services(
    tmp_path: Path,
) -> None:
    code, _, log = _install(tmp_path, "demo", "bench", uid=0, installed=["nginx-light"])
    assert code == 0
    assert log.splitlines() == [
        "apt-get update -qq DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y -qq --no-install-recommends prometheus wrk "
        "DEBIAN_FRONTEND=noninteractive",
        "systemctl disable --now prometheus",  # nginx was there before: left alone
    ]


@pytest.mark.parametrize("uid", [0, 1000])
def test_nothing_missing_does_nothing(tmp_path: Path, uid: int) -> None:
    code, err, log = _install(
        tmp_path, "test", uid=uid, installed=["prometheus", "nginx-light", "make"]
    )
    assert (code, err, log) == (0, "", "")


def test_not_root_names_the_exact_command_and_installs_nothing(tmp_path: Path) -> None:
    code, err, log = _install(tmp_path, "bench", uid=1000, installed=[])
    assert code == 1
    assert err == (
        "install-packages: missing Debian packages; run: "
        "sudo apt-get install -y --no-install-recommends nginx-light wrk\n"
    )
    assert log == ""


def test_npm_on_path_counts_as_present(tmp_path: Path) -> None:
    """Node may come from elsewhere; this Debian's npm cannot be installed next to it."""
    fakes = tmp_path / "bin"
    fakes.mkdir()
    for command in ("node", "npm"):
        (fakes / command).write_text("#!/bin/sh\n")
        (fakes / command).chmod(0o755)
    assert _install(tmp_path, "workflows", uid=0, installed=[]) == (0, "", "")


def test_an_unknown_group_is_a_usage_error(tmp_path: Path) -> None:
    code, err, log = _install(tmp_path, "nope", uid=0, installed=[])
    assert code == 2
    assert "unknown group 'nope'" in err
    assert log == ""


def test_the_makefile_and_ci_use_this_installer_only() -> None:
    """One package list: nothing else calls apt-get."""
    callers = [
        path.relative_to(REPO_ROOT)
        for path in [REPO_ROOT / "Makefile", *(REPO_ROOT / ".ci").iterdir()]
        if path != SCRIPT and "apt-get install" in path.read_text()
    ]
    assert callers == []
    assert "install-packages" in (REPO_ROOT / "Makefile").read_text()
    assert "install-packages" in (REPO_ROOT / ".ci" / "run").read_text()
