"""``infra/__main__.py`` itself runs under mocks with each stack's files, as the CLI would run it:
config from Pulumi.yaml defaults + Pulumi.<stack>.yaml, secrets as secret config."""

from __future__ import annotations

import runpy
from typing import Any

import pulumi
import pytest

from infra.config import stack_values
from tests.infra.infra_harness import (
    PROJECT_DIR,
    SECRET_VALUES,
    ProgramRun,
    _Mocks,
    _RecordingMonitor,
)


@pytest.mark.parametrize("stack", ["dev", "ci", "prod"])
def test_entrypoint_runs_and_exports_no_secret(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run = ProgramRun()
    mocks = _Mocks()
    monitor = _RecordingMonitor(mocks, run)
    pulumi.runtime.set_mocks(mocks, project="tgscale", stack=stack, preview=False, monitor=monitor)
    config = {f"tgscale:{k}": v for k, v in stack_values(PROJECT_DIR, stack).items()}
    required = ("botToken", "botWebhookSecret")
    if stack == "prod":  # prod backs up to DO Spaces
        required += ("dbBackupAccessKeyId", "dbBackupSecretAccessKey")
    secrets = {f"tgscale:{k}": v for k, v in SECRET_VALUES.items() if k in required}
    pulumi.runtime.set_all_config(config | secrets, secret_keys=list(secrets))
    exported: dict[str, Any] = {}
    # Mocked runs never register the stack's outputs; record what the program exports.
    monkeypatch.setattr(pulumi, "export", exported.__setitem__)

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(PROJECT_DIR / "infra" / "__main__.py"), run_name="__main__")

    program()
    deployments = [r for r in run.registrations if r.type == "kubernetes:apps/v1:Deployment"]
    assert any(r.name == "bot-deployment" for r in deployments)
    assert exported["namespace"] == "tgbot"
    assert exported["autoscaler"] in ("hpa", "keda")
    assert all(isinstance(value, str) for value in exported.values()), "plain values only"
    assert not any(secret in repr(exported) for secret in SECRET_VALUES.values())


def test_entrypoint_fails_clearly_without_the_token() -> None:
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="tgscale", stack="dev", preview=False)
    config = {f"tgscale:{k}": v for k, v in stack_values(PROJECT_DIR, "dev").items()}
    pulumi.runtime.set_all_config(config)

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(PROJECT_DIR / "infra" / "__main__.py"), run_name="__main__")

    with pytest.raises(pulumi.ConfigMissingError, match="botToken"):
        program()
