"""The bot image, built by ``make images``, run for real with podman as the Deployment runs it.

The container gets the rendered Deployment's hardening (non-root user, read-only root filesystem,
no capabilities, no privilege escalation, ``/tmp`` as the only writable path) and talks to the
local PostgreSQL (its socket bind-mounted) and a Bot API emulator on 127.0.0.1. Checked: the
migration command, ``/healthz`` and ``/readyz``, a webhook delivery answered only after its
commit, a SIGTERM drain that finishes the update in flight and exits 0, and what the image holds
(no dev dependencies, no pgserver, no secrets). Skipped, with the reason, where podman cannot run
or the image was not built.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from infra.config import load_stack
from infra.manifests import build

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("TGSCALE_BOT_IMAGE", "localhost/tgscale-bot:local")
TOKEN = "987654321:ContainerTestToken"  # noqa: S105 (a test value)
SECRET = "container-test-webhook-secret-0123"  # noqa: S105 (a test value)
#: Packages of the dev group and the load suite that must never be in the bot image.
FORBIDDEN_DISTRIBUTIONS = (
    "pgserver", "pytest", "ruff", "mypy", "locust", "pulumi", "infra", "localenv",
    "botapi-emulator",
)  # fmt: skip


def _podman_base(tmp: Path) -> list[str]:
    conf = tmp / "containers.conf"
    conf.write_text("[containers]\ndefault_ulimits = []\n", encoding="utf-8")
    os.environ["CONTAINERS_CONF"] = str(conf)
    return ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    if shutil.which("podman") is None or shutil.which("runc") is None:
        pytest.skip("podman or runc is not installed (see ../shared/INFRA.md)")
    base = _podman_base(tmp_path_factory.mktemp("podman"))
    probe = subprocess.run([*base, "image", "exists", IMAGE], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"image {IMAGE} not built: run `make images`")
    return base


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hardening() -> list[str]:
    """podman flags from the rendered Deployment's security contexts (the dev stack)."""
    deployment = build(load_stack(ROOT, "dev"), own_db_password=False).bot[0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]["securityContext"]
    flags = [
        "--user",
        f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}",
    ]
    if container["readOnlyRootFilesystem"]:
        flags += ["--read-only", "--tmpfs", "/tmp:rw,size=64m"]  # noqa: S108 (the emptyDir)
    if container["capabilities"]["drop"] == ["ALL"]:
        flags += ["--cap-drop", "ALL"]
    if container["allowPrivilegeEscalation"] is False:
        flags += ["--security-opt", "no-new-privileges"]
    return flags


def _socket_mount(database_url: str) -> tuple[list[str], str]:
    """A unix-socket database (pgserver) bind-mounted into the container, or a TCP URL as is."""
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    host = str(info.get("host", ""))
    if not host.startswith("/"):
        return [], database_url
    port = info.get("port", 5432)
    sock = f"{host}/.s.PGSQL.{port}"
    info["host"] = "/run/pg"
    return ["-v", f"{sock}:/run/pg/.s.PGSQL.{port}"], psycopg.conninfo.make_conninfo(**info)


@pytest.fixture
def emulator() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "botapi_emulator", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/__emulator/stats", 200, timeout_s=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_http(url: str, status: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (127.0.0.1)
                if response.status == status:
                    return
                last = response.status
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"{url} never answered {status}: {last}")


def _post_update(url: str, update_id: int) -> int:
    body = {
        "update_id": update_id,
        "message": {
            "message_id": 1, "date": int(time.time()), "text": "hello",
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Ada"},
        },
    }  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 (127.0.0.1)
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (127.0.0.1)
        return int(response.status)


def _processed(database_url: str, update_id: int) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT 1 FROM processed_updates WHERE update_id = %s", (update_id,)
        ).fetchone()
    return row is not None


def _run(podman: list[str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*podman, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_bot_container_serves_commits_and_drains(
    podman: list[str], database_url: str, emulator: str
) -> None:
    mount, container_db_url = _socket_mount(database_url)
    port = _free_port()
    env = {
        "BOT_ENV": "test", "BOT_TOKEN": TOKEN, "BOT_WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": container_db_url, "BOT_API_BASE_URL": emulator,
        "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port), "BOT_SHUTDOWN_GRACE_S": "20",
        "BOT_RATE_GLOBAL_PER_S": "0", "BOT_RATE_CHAT_INTERVAL_S": "0",
        # Holds each update long enough to send SIGTERM while one is in flight.
        "BOT_TEST_HANDLER_DELAY_MS": "1500",
    }  # fmt: skip
    env_flags = [flag for key, value in env.items() for flag in ("-e", f"{key}={value}")]
    common = ["--network", "host", *_hardening(), *mount, *env_flags]

    migrate = _run(podman, "run", "--rm", *common, IMAGE, "migrate", "--wait-s", "30")
    assert migrate.returncode == 0, migrate.stderr
    assert "migrate: applied" in migrate.stdout

    name = f"tgscale-e2e-{uuid.uuid4().hex[:8]}"
    started = _run(podman, "run", "-d", "--name", name, *common, IMAGE, "serve")
    assert started.returncode == 0, started.stderr
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz", 200, timeout_s=90)
        _wait_http(f"{base}/readyz", 200, timeout_s=30)
        webhook = f"{base}{env.get('BOT_WEBHOOK_PATH', '/telegram/webhook')}"

        assert _post_update(webhook, 1001) == 200
        assert _processed(database_url, 1001), "answered 200 before the update was committed"

        answers: list[int] = []
        in_flight = threading.Thread(target=lambda: answers.append(_post_update(webhook, 1002)))
        in_flight.start()
        time.sleep(0.5)  # the update is now inside its 1.5 s handler
        assert _run(podman, "kill", "--signal", "TERM", name).returncode == 0
        in_flight.join(timeout=30)
        assert answers == [200], "the update in flight at SIGTERM was not finished"
        assert _processed(database_url, 1002)
        waited = _run(podman, "wait", name, timeout=60)  # the container is kept for its logs
        assert waited.stdout.strip() == "0", f"exit status {waited.stdout.strip()} (not drained)"
    finally:
        logs = _run(podman, "logs", name)
        _run(podman, "rm", "-f", name)
    assert "drained" in logs.stdout + logs.stderr
    assert TOKEN not in logs.stdout + logs.stderr
    assert SECRET not in logs.stdout + logs.stderr


_INVENTORY = """
import importlib.metadata as m, json, os
names = sorted({d.metadata["Name"].lower() for d in m.distributions()})
env = sorted(os.environ)
def secret_like(path, name):
    if name in (".env", "id_rsa") or name.startswith("Pulumi."):
        return True
    if name.endswith((".pem", ".key")):  # public CA bundles (certifi) are fine; keys are not
        with open(path, "rb") as f:
            return b"PRIVATE KEY" in f.read()
    return False
files = [os.path.join(r, f) for r, _, fs in os.walk("/app") for f in fs
         if secret_like(os.path.join(r, f), f)]
print(json.dumps({"dists": names, "env": env, "files": files, "uid": os.getuid()}))
"""


def test_bot_image_holds_only_the_bot(podman: list[str]) -> None:
    done = _run(
        podman, "run", "--rm", *_hardening(), "--entrypoint", "python", IMAGE, "-c", _INVENTORY
    )
    assert done.returncode == 0, done.stderr
    inventory: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "bot" in inventory["dists"]
    assert [d for d in FORBIDDEN_DISTRIBUTIONS if d in inventory["dists"]] == []
    assert [
        e for e in inventory["env"] if "TOKEN" in e or "SECRET" in e or e == "DATABASE_URL"
    ] == []
    assert inventory["files"] == []
    assert inventory["uid"] != 0
    size = _run(podman, "image", "inspect", "--format", "{{.Size}}", IMAGE).stdout.strip()
    print(f"\n{IMAGE}: {int(size) / 1e6:.0f} MB")


LOADTEST_IMAGE = os.environ.get("TGSCALE_LOADTEST_IMAGE", "localhost/tgscale-loadtest:local")
_LOADTEST_INVENTORY = """
import importlib.metadata as m, importlib.util as u, json, os, re
names = ("loadtest", "botapi_emulator", "locust", "pgserver", "localenv", "pytest")
locust_needs = sorted(re.split(r"[<>=!~;\\[ ]", r)[0].lower()
                      for r in (m.requires("locust") or []) if "extra ==" not in r)
print(json.dumps({"found": [n for n in names if u.find_spec(n)], "uid": os.getuid(),
                  "locust_needs": locust_needs}))
"""


def test_load_generator_image_holds_the_suite_and_the_emulator_only(podman: list[str]) -> None:
    if _run(podman, "image", "exists", LOADTEST_IMAGE).returncode != 0:
        pytest.skip(f"image {LOADTEST_IMAGE} not built: run `make images`")
    done = _run(
        podman, "run", "--rm", *_hardening(), "--entrypoint", "python", LOADTEST_IMAGE,
        "-c", _LOADTEST_INVENTORY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout.strip().splitlines()[-1])
    # pytest is there only because Locust itself requires it (locust 2.47's metadata).
    allowed = {"loadtest", "botapi_emulator", "locust"} | (
        {"pytest"} if "pytest" in inventory["locust_needs"] else set()
    )
    assert set(inventory["found"]) == allowed
    assert inventory["uid"] != 0
    size = _run(podman, "image", "inspect", "--format", "{{.Size}}", LOADTEST_IMAGE).stdout.strip()
    print(f"\n{LOADTEST_IMAGE}: {int(size) / 1e6:.0f} MB")
