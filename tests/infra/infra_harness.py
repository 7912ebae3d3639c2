"""Test harness for the infra tests: stack configs, schema validators and the program under mocks.

Nothing here needs the Pulumi CLI or a cluster. The Kubernetes schemas come from
kubernetes-validate (cached: loading them is the slow part); the CRD schemas from
``../shared/crd-schemas/`` next to the repository, or ``TGSCALE_CRD_SCHEMAS``.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pulumi
import pytest
from kubernetes_validate import utils as kv_utils
from pulumi.runtime import mocks as pulumi_mocks

from infra.config import StackConfig, load_stack
from infra.manifests import validate
from infra.program import deploy, platform_exports, read_secrets

PROJECT_DIR = Path(__file__).resolve().parents[2]
CRD_SCHEMAS = Path(
    os.environ.get("TGSCALE_CRD_SCHEMAS", PROJECT_DIR.parent / "shared" / "crd-schemas")
)
#: The marker Pulumi puts on a serialized secret value (see INFRA.md §3.1).
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105 (a marker, not a secret)

#: What the mocked data source returns: the kubeconfig read on every run (DOKS).
FRESH_KUBECONFIG = "apiVersion: v1\nkind: Config\n# fresh\n"
#: What the mocked platform stack hands its app stacks (StackReference outputs).
PLATFORM_KUBECONFIG = "apiVersion: v1\nkind: Config\n# from the platform stack\n"
PLATFORM_CHARTS = ["cloudnative-pg", "keda", "kube-prometheus-stack", "metrics-server", "vpa"]
#: What the mocked `docker image inspect` prints for every local image (kind).
LOCAL_IMAGE_ID = "sha256:" + "1" * 64

#: Secret values the tests configure; none may show up anywhere outside a secret wrapper.
SECRET_VALUES = {
    "botToken": "123456:TEST-bot-token-VALUE",
    "botWebhookSecret": "TEST-webhook-secret-VALUE",
    "dbPassword": "TESTdbPasswordVALUE",
    "grafanaAdminPassword": "TEST-grafana-password-VALUE",
    "dbBackupAccessKeyId": "TESTbackupKeyIdVALUE",
    "dbBackupSecretAccessKey": "TEST-backup-secret-key-VALUE",
    "alertmanagerWebhookUrl": "https://hooks.test/TEST-alertmanager-VALUE",
}

#: (case id, stack, overrides): every stack and each autoscaler mode.
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("dev", "dev", {}),
    ("dev-keda", "dev", {"autoscaler": "keda", "vpaEnabled": "true"}),
    ("ci", "ci", {}),
    ("ci-keda", "ci", {"autoscaler": "keda"}),
    ("prod", "prod", {}),
    ("prod-hpa", "prod", {"autoscaler": "hpa", "peakSchedules": "[]"}),
]


def stack_config(stack: str, overrides: dict[str, str] | None = None) -> StackConfig:
    """A stack's config parsed offline from the Pulumi files."""
    return load_stack(PROJECT_DIR, stack, overrides)


# --- schema validation ------------------------------------------------------------------------


@functools.cache
def _schema_file(filename: str, version: str) -> Any:
    return _original_schema_contents(filename, version)


_original_schema_contents = kv_utils.schema_contents


def validate_builtin(obj: dict[str, Any], version: str) -> str:
    """``kubernetes_validate.validate(obj, version, strict=True)`` with its file reads cached."""
    with pytest.MonkeyPatch.context() as patch:
        # kubernetes-validate re-reads the 1.4 MB definitions file on every call; cache it.
        patch.setattr(kv_utils, "schema_contents", _schema_file)
        return str(kubernetes_validate.validate(obj, version, strict=True))


@functools.cache
def _crd_validator(api_version: str, kind: str) -> Any:
    group, version = api_version.split("/")
    path = CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    # No check_schema: the CRDs use Go regex syntax ("(?i)") that Python's re rejects.
    return jsonschema.validators.validator_for(schema)(schema)


def validate_custom(obj: dict[str, Any]) -> list[str]:
    """Errors of a custom resource against its CRD's JSON schema; skips without the schemas."""
    if not CRD_SCHEMAS.is_dir():
        pytest.skip(f"CRD schemas not found at {CRD_SCHEMAS} (set TGSCALE_CRD_SCHEMAS)")
    validator = _crd_validator(obj["apiVersion"], obj["kind"])
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(obj)
    ]


#: Strict validation of a custom resource against a CRD (the one ``make manifests`` uses).
crd_errors = validate.crd_errors


# --- the program under mocks ------------------------------------------------------------------


@dataclass
class Registration:
    """One resource registration as the engine would see it."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    ignore_changes: list[str]
    provider: str
    additional_secret_outputs: list[str] = field(default_factory=list)
    retain_on_delete: bool = False


@dataclass
class ProgramRun:
    """Every registration of one mocked program run."""

    registrations: list[Registration] = field(default_factory=list)
    #: What a platform stack exports for its app stacks (Outputs).
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, got {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def depends_on(self, resource: Registration, target: Registration) -> bool:
        """Whether ``resource`` waits for ``target`` (directly or through components)."""
        seen: set[str] = set()
        todo = list(resource.dependencies)
        while todo:
            urn = todo.pop()
            if urn == target.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            todo += self.by_urn(urn).dependencies if self.has(urn) else []
            # A dependency on a component means on all of its children.
            todo += [r.urn for r in self.registrations if r.parent == urn]
        return False

    def has(self, urn: str) -> bool:
        return any(r.urn == urn for r in self.registrations)


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, platform_charts: list[str] | None = None) -> None:
        self.platform_charts = PLATFORM_CHARTS if platform_charts is None else platform_charts

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            platform = {"kubeconfig": PLATFORM_KUBECONFIG, "charts": self.platform_charts}
            return args.name, {"name": args.name, "outputs": platform, "secretOutputNames": []}
        if args.typ == "command:local:Command":
            outputs["stdout"] = "apiVersion: v1\nkind: Config\n"
        if args.typ == "digitalocean:index/kubernetesCluster:KubernetesCluster":
            outputs["kubeConfigs"] = [{"rawConfig": "apiVersion: v1\nkind: Config\n"}]
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        get_versions = "digitalocean:index/getKubernetesVersions:getKubernetesVersions"
        get_cluster = "digitalocean:index/getKubernetesCluster:getKubernetesCluster"
        run_command = "command:local:run"
        if args.token == get_versions:
            return {"latestVersion": "1.33.1-do.0", "validVersions": ["1.33.1-do.0"]}
        if args.token == get_cluster:
            return {"name": args.args["name"], "kubeConfigs": [{"rawConfig": FRESH_KUBECONFIG}]}
        if args.token == run_command:
            return {"stdout": LOCAL_IMAGE_ID + "\n", "stderr": "", "command": args.args["command"]}
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also recording dependencies, parents and ignore_changes."""

    def __init__(self, mocks: pulumi.runtime.Mocks, run: ProgramRun) -> None:
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.run.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=_raw_inputs(request),
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    ignore_changes=list(request.ignoreChanges),
                    provider=request.provider,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return response


def _raw_inputs(request: Any) -> dict[str, Any]:
    """The inputs with secrets still wrapped (``{SECRET_SIG: ..., "value": ...}``)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(request.object)


def run_program(
    cfg: StackConfig,
    *,
    with_optional_secrets: bool,
    mocks: _Mocks | None = None,
    secret_overrides: dict[str, str] | None = None,
) -> ProgramRun:
    """Run :func:`infra.program.deploy` for ``cfg`` under mocks and record every registration."""
    run = ProgramRun()
    mocks = mocks or _Mocks()
    pulumi.runtime.set_mocks(
        mocks,
        project="tgscale",
        stack=cfg.stack,
        preview=False,
        monitor=_RecordingMonitor(mocks, run),
    )
    secrets = dict(SECRET_VALUES)
    if not with_optional_secrets:
        secrets = {k: secrets[k] for k in ("botToken", "botWebhookSecret")}
    secrets |= secret_overrides or {}
    pulumi.runtime.set_all_config(
        {f"tgscale:{key}": value for key, value in secrets.items()},
        secret_keys=[f"tgscale:{key}" for key in secrets],
    )

    @pulumi.runtime.test
    def program() -> None:
        stack = deploy(cfg, read_secrets(pulumi.Config(), app=cfg.has_app))
        run.exports = platform_exports(cfg, stack)

    program()
    return run


_RUNS: dict[str, ProgramRun] = {}


def cached_run(case_id: str, cfg: StackConfig) -> ProgramRun:
    """The mocked program run for a case, once per session.

    The prod cases also set the optional secrets (dbPassword, grafanaAdminPassword) so both
    credential paths are exercised.
    """
    if case_id not in _RUNS:
        optional = case_id.startswith(("prod", "platform-prod"))
        _RUNS[case_id] = run_program(cfg, with_optional_secrets=optional)
    return _RUNS[case_id]
