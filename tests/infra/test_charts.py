"""The pinned charts rendered for real, offline, with the program's values (helm-python-sdk,
``../shared/charts/``): the Services the program points at exist, nothing the program needs is a
hook, no control-plane monitors where the control plane is out of reach, every rendered object
passes strict schema validation, and every custom resource of ours has its CRD in the stack's
own charts. Each check is also shown rejecting a broken input."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from infra.manifests import autoscaling, build, platform, render
from tests.infra.infra_harness import PROJECT_DIR, crd_errors, stack_config, validate_builtin

if TYPE_CHECKING:
    from infra.config import StackConfig

CHARTS = render.charts_dir(PROJECT_DIR)
CONTROL_PLANE = ("kube-etcd", "kube-scheduler", "kube-controller-manager", "kube-proxy")

pytestmark = pytest.mark.skipif(
    not CHARTS.is_dir(), reason=f"vendored charts not found at {CHARTS} (set TGSCALE_CHARTS)"
)


def platform_of(cfg: StackConfig) -> StackConfig:
    """The stack that installs ``cfg``'s charts: itself, or an app stack's platform stack."""
    return stack_config(cfg.platform_stack) if cfg.role == "app" else cfg


def _renders(cfg: StackConfig) -> dict[str, render.RenderedChart]:
    """The charts of ``cfg``'s platform, rendered with the platform's values."""
    return {spec.chart: render.render(spec, CHARTS) for spec in platform.charts(platform_of(cfg))}


def _services(rendered: render.RenderedChart) -> dict[tuple[str, str], set[int]]:
    return {
        (o["metadata"]["name"], o["metadata"].get("namespace", "")): {
            p["port"] for p in o["spec"]["ports"]
        }
        for o in rendered.deployed
        if o["kind"] == "Service"
    }


def missing_services(cfg: StackConfig, kps: render.RenderedChart) -> list[str]:
    """The in-cluster URLs the program uses (KEDA's Prometheus, Grafana) that kps does not serve."""
    wanted = [
        (autoscaling.prometheus_url(cfg), "prometheus"),
        (f"http://{cfg.monitoring.release}-grafana.{cfg.monitoring.namespace}.svc:80", "grafana"),
    ]
    services = _services(kps)
    problems = []
    for url, what in wanted:
        host, _, port = url.removeprefix("http://").partition(":")
        name, namespace = host.split(".")[:2]
        if int(port) not in services.get((name, namespace), set()):
            problems.append(f"{what}: {name}.{namespace}:{port} is not a rendered Service port")
    return problems


def test_chart_versions_in_pulumi_yaml_are_the_vendored_archives() -> None:
    schema = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    cfg = stack_config("platform-prod")
    specs = {spec.chart: spec for spec in platform.charts(cfg)}
    assert set(specs) == {
        "metrics-server",
        "kube-prometheus-stack",
        "cloudnative-pg",
        "keda",
        "vpa",
    }
    versions = {
        key: spec["default"] for key, spec in schema.items() if key.endswith("ChartVersion")
    }
    assert sorted(versions.values()) == sorted(spec.version for spec in specs.values())
    import helm_python as helm

    for spec in specs.values():
        with helm.Chart.load(render.archive(CHARTS, spec.chart, spec.version)) as chart:
            assert (chart.name, chart.version) == (spec.chart, spec.version)
    with pytest.raises(render.ChartNotVendored, match=r"keda 2\.21\.1"):
        render.archive(CHARTS, "keda", "2.21.1")


def test_services_the_program_points_at_exist(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    kps = _renders(cfg)["kube-prometheus-stack"]
    assert missing_services(cfg, kps) == []
    other = stack_config(cfg.stack, {"monitoringRelease": "other"})
    assert missing_services(other, kps), "the check must notice a Service name that is not there"


def sidecar_selects(kps: render.RenderedChart, labels: dict[str, str]) -> bool:
    """Whether Grafana's dashboard sidecar (its LABEL/LABEL_VALUE env) loads these labels."""
    grafana = next(
        o
        for o in kps.deployed
        if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-grafana")
    )
    containers = grafana["spec"]["template"]["spec"]["containers"]
    sidecar = next(c for c in containers if "dashboard" in c["name"])
    env = {e["name"]: e.get("value") for e in sidecar["env"]}
    return env.get("NAMESPACE") == "ALL" and labels.get(env["LABEL"]) == env["LABEL_VALUE"]


def test_grafana_sidecar_loads_our_dashboards(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    kps = _renders(cfg)["kube-prometheus-stack"]
    maps = [o for o in build(cfg, own_db_password=False).dashboards if o["kind"] == "ConfigMap"]
    assert maps
    assert all(sidecar_selects(kps, m["metadata"]["labels"]) for m in maps)
    assert not sidecar_selects(kps, {"grafana_dashboard": "0"})


def non_test_hooks(rendered: render.RenderedChart) -> list[str]:
    """Hooks Pulumi would create as plain objects, out of their hook order."""
    return [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in rendered.hooks
        if not render._is_test_hook(o)
    ]


def test_no_chart_relies_on_a_hook(case: tuple[str, StackConfig]) -> None:
    """helm.v4.Chart never runs hooks at their hook time (test hooks it skips)."""
    _, cfg = case
    for name, rendered in _renders(cfg).items():
        assert non_test_hooks(rendered) == [], name
    spec = platform.kube_prometheus_stack(platform_of(cfg))
    values = copy.deepcopy(spec.values)
    values["prometheusOperator"]["admissionWebhooks"] = {"enabled": True}
    broken = render.render(platform.ChartSpec(**{**spec.__dict__, "values": values}), CHARTS)
    assert non_test_hooks(broken), "kps's admission-webhook certgen Jobs are hooks"


def control_plane_monitors(kps: render.RenderedChart) -> list[str]:
    return [
        o["metadata"]["name"]
        for o in kps.deployed
        if o["kind"] == "ServiceMonitor" and o["metadata"]["name"].endswith(CONTROL_PLANE)
    ]


def test_no_control_plane_monitors_where_unreachable(case: tuple[str, StackConfig]) -> None:
    """Defect 8: DOKS manages etcd, the scheduler and the controller-manager out of reach."""
    _, cfg = case
    assert platform_of(cfg).cluster.mode in ("kind", "existing", "doks")
    assert control_plane_monitors(_renders(cfg)["kube-prometheus-stack"]) == []
    spec = platform.kube_prometheus_stack(platform_of(cfg))
    values = {k: v for k, v in spec.values.items() if not k.startswith("kube")}
    full = render.render(platform.ChartSpec(**{**spec.__dict__, "values": values}), CHARTS)
    assert control_plane_monitors(full), "the check must see the chart's default monitors"


def test_metrics_server_on_doks_and_kind(case: tuple[str, StackConfig]) -> None:
    """Defect 2: the HPA, KEDA's cpu trigger and the VPA recommender need the metrics API."""
    _, cfg = case
    rendered = _renders(cfg)
    assert "metrics-server" in rendered
    api = [o for o in rendered["metrics-server"].deployed if o["kind"] == "APIService"]
    assert [o["metadata"]["name"] for o in api] == ["v1beta1.metrics.k8s.io"]
    server = next(o for o in rendered["metrics-server"].deployed if o["kind"] == "Deployment")
    args = server["spec"]["template"]["spec"]["containers"][0]["args"]
    # Only kind's self-signed kubelet certificates need the insecure flag.
    assert ("--kubelet-insecure-tls" in args) == (platform_of(cfg).cluster.mode != "doks")


def _crds(cfg: StackConfig) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → the CRD that serves it, from the stack's own charts."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rendered in _renders(cfg).values():
        for crd in rendered.crds():
            spec = crd["spec"]
            for version in spec["versions"]:
                out[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = crd
    return out


def test_our_custom_resources_have_crds_from_the_stacks_charts(
    case: tuple[str, StackConfig],
) -> None:
    _, cfg = case
    crds = _crds(cfg)
    ours = [
        o
        for o in build(cfg, own_db_password=False).all_objects()
        if "." in o["apiVersion"].split("/")[0]
    ]
    custom = [
        o
        for o in ours
        if not o["apiVersion"].startswith(
            ("apps/", "batch/", "policy/", "networking.k8s.io/", "autoscaling/")
        )
    ]
    assert custom
    for obj in custom:
        crd = crds.get((obj["apiVersion"], obj["kind"]))
        assert crd is not None, f"no chart of this stack serves {obj['apiVersion']} {obj['kind']}"
        assert crd_errors(crd, obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"
    broken = copy.deepcopy(custom[0])
    broken["spec"]["notAField"] = True
    assert crd_errors(crds[(broken["apiVersion"], broken["kind"])], broken)


@pytest.mark.parametrize("stack", ["dev", "platform-prod"])
def test_every_rendered_object_validates(stack: str) -> None:
    """Built-in kinds strictly against Kubernetes 1.33; custom resources against the CRDs of the
    same renders."""
    cfg = stack_config(stack)
    crds = _crds(cfg)
    for name, rendered in _renders(cfg).items():
        for obj in rendered.deployed:
            crd = crds.get((obj["apiVersion"], obj["kind"]))
            if crd is not None:
                assert crd_errors(crd, obj) == [], (
                    f"{name}: {obj['kind']}/{obj['metadata']['name']}"
                )
            else:
                validate_builtin(obj, cfg.cluster.k8s_version)


def test_vpa_binds_its_recommender_in_the_program_namespace() -> None:
    """vpa 4.7.2 renders its Deployment and ServiceAccount without a namespace (helm.v4.Chart puts
    them in the Chart's namespace); its ClusterRoleBinding subjects name one explicitly."""
    cfg = stack_config("platform-prod")
    vpa = _renders(cfg)["vpa"]
    subjects = [
        s
        for o in vpa.deployed
        if o["kind"] == "ClusterRoleBinding"
        for s in o.get("subjects", [])
        if s["kind"] == "ServiceAccount"
    ]
    assert subjects
    assert {s["namespace"] for s in subjects} == {platform.VPA_NAMESPACE}
