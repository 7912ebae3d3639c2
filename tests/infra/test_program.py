"""The program's wiring under Pulumi mocks, for every stack and autoscaler mode: targets,
selectors, ordering, CRD dependencies, the single provider, and secrets kept secret."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from infra.manifests import platform
from infra.program import exports
from tests.infra.infra_harness import SECRET_SIG, SECRET_VALUES, ProgramRun

if TYPE_CHECKING:
    from infra.config import StackConfig
    from tests.infra.infra_harness import Registration

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
CHART = "kubernetes:helm.sh/v4:Chart"


def _bot_deployment(run: ProgramRun) -> Registration:
    return next(r for r in run.of_type(DEPLOYMENT) if r.name == "bot-deployment")


def _chart(run: ProgramRun, name: str) -> Registration:
    return next(r for r in run.of_type(CHART) if r.name == name)


def test_autoscaler_targets_the_deployment(
    program_run: tuple[StackConfig, ProgramRun], platform_run: tuple[StackConfig, ProgramRun]
) -> None:
    cfg, run = program_run
    deployment = _bot_deployment(run)
    name = deployment.inputs["metadata"]["name"]
    if cfg.autoscaling.mode == "hpa":
        assert not run.of_type(SCALED_OBJECT)
        spec = run.one(HPA).inputs["spec"]
        ref = spec["scaleTargetRef"]
        assert spec["minReplicas"] == cfg.autoscaling.min_replicas
        assert spec["maxReplicas"] == cfg.autoscaling.max_replicas
    else:
        assert not run.of_type(HPA), "never an HPA next to a ScaledObject"
        spec = run.one(SCALED_OBJECT).inputs["spec"]
        ref = spec["scaleTargetRef"]
        triggers = {t["type"] for t in spec["triggers"]}
        assert {"prometheus", "cpu"} <= triggers
        assert ("cron" in triggers) == bool(cfg.autoscaling.peak_schedules)
        keda = _chart(platform_run[1], "keda")
        # One stack orders them; across stacks the platform is deployed first.
        assert run is not platform_run[1] or run.depends_on(run.one(SCALED_OBJECT), keda)
    assert (ref["kind"], ref["name"], ref["apiVersion"]) == ("Deployment", name, "apps/v1")
    assert deployment.inputs["metadata"]["namespace"] == cfg.namespace


def test_deployment_leaves_replicas_to_the_autoscaler(
    program_run: tuple[StackConfig, ProgramRun],
) -> None:
    _, run = program_run
    deployment = _bot_deployment(run)
    assert "replicas" not in deployment.inputs["spec"]
    assert deployment.ignore_changes == ["spec.replicas"]


def test_service_selects_the_pods(program_run: tuple[StackConfig, ProgramRun]) -> None:
    _, run = program_run
    pod_labels = _bot_deployment(run).inputs["spec"]["template"]["metadata"]["labels"]
    service = next(
        r for r in run.of_type("kubernetes:core/v1:Service") if r.name == "bot-service"
    ).inputs
    selector = service["spec"]["selector"]
    assert selector
    assert selector.items() <= pod_labels.items()
    assert "app.kubernetes.io/version" not in selector
    container = _bot_deployment(run).inputs["spec"]["template"]["spec"]["containers"][0]
    port_names = {p["name"] for p in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names


def test_service_monitor_matches_service_and_prometheus(
    program_run: tuple[StackConfig, ProgramRun], platform_run: tuple[StackConfig, ProgramRun]
) -> None:
    cfg, run = program_run
    service = next(r for r in run.of_type("kubernetes:core/v1:Service") if r.name == "bot-service")
    monitor = run.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    spec = monitor.inputs["spec"]
    service_labels = service.inputs["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= service_labels.items()
    assert {e["port"] for e in spec["endpoints"]} <= {
        p["name"] for p in service.inputs["spec"]["ports"]
    }
    assert cfg.namespace in spec["namespaceSelector"]["matchNames"]
    # Prometheus picks it up: either the chart selects everything, or the release label matches.
    kps = _chart(platform_run[1], "kube-prometheus-stack")
    values = kps.inputs["values"]
    release_label = monitor.inputs["metadata"]["labels"].get("release")
    assert platform.prometheus_selects_all(values) or release_label == cfg.monitoring.release
    assert run is not platform_run[1] or run.depends_on(monitor, kps)


def test_grafana_sidecar_loads_our_dashboards(
    program_run: tuple[StackConfig, ProgramRun], platform_run: tuple[StackConfig, ProgramRun]
) -> None:
    _, run = program_run
    sidecar = _chart(platform_run[1], "kube-prometheus-stack").inputs["values"]["grafana"][
        "sidecar"
    ]
    dashboards = sidecar["dashboards"]
    config_maps = list(run.of_type("kubernetes:core/v1:ConfigMap"))
    assert config_maps
    for config_map in config_maps:
        labels = config_map.inputs["metadata"]["labels"]
        assert labels[dashboards["label"]] == dashboards["labelValue"] == "1"
        for text in config_map.inputs["data"].values():
            assert json.loads(text)["uid"]
    assert run.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")


def test_migration_runs_before_the_deployment(
    program_run: tuple[StackConfig, ProgramRun],
) -> None:
    _, run = program_run
    migrate = next(r for r in run.of_type("kubernetes:batch/v1:Job") if r.name == "bot-migrate")
    assert migrate.inputs["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert run.depends_on(_bot_deployment(run), migrate)
    assert not run.depends_on(migrate, _bot_deployment(run))
    pooler = run.one("kubernetes:postgresql.cnpg.io/v1:Pooler")
    assert run.depends_on(migrate, pooler), "the database exists before migrating"


def test_set_webhook_job_only_with_a_public_url(
    program_run: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = program_run
    jobs = [r for r in run.of_type("kubernetes:batch/v1:Job") if r.name == "bot-set-webhook"]
    assert bool(jobs) == bool(cfg.bot.webhook_url)
    if jobs:
        args = jobs[0].inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[:3] == ["set-webhook", "--url", cfg.bot.webhook_url]
        assert run.depends_on(jobs[0], _bot_deployment(run))


def test_custom_resources_depend_on_their_operator(
    program_run: tuple[StackConfig, ProgramRun], platform_run: tuple[StackConfig, ProgramRun]
) -> None:
    _, run = program_run
    operator_of = {
        "postgresql.cnpg.io": "cloudnative-pg",
        "monitoring.coreos.com": "kube-prometheus-stack",
        "keda.sh": "keda",
        "autoscaling.k8s.io": "vpa",
    }
    checked = 0
    for registration in run.registrations:
        group = registration.type.split(":")[1].split("/")[0]
        if group in operator_of:
            operator = _chart(platform_run[1], operator_of[group])
            same_stack = run is platform_run[1]
            assert not same_stack or run.depends_on(registration, operator), registration.name
            checked += 1
    assert checked >= 4


def test_one_provider_with_a_stable_identifier(
    program_run: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = program_run
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["clusterIdentifier"] == cfg.cluster.name
    for registration in run.registrations:
        if registration.type.startswith("kubernetes:"):
            assert registration.provider.startswith(provider.urn), registration.name


def test_cluster_source_follows_the_mode(program_run: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = program_run
    provider = run.one("pulumi:providers:kubernetes").inputs
    commands = run.of_type("command:local:Command")
    doks = run.of_type("digitalocean:index/kubernetesCluster:KubernetesCluster")
    if cfg.role == "app":
        assert not commands
        assert not doks
        assert _is_secret(provider["kubeconfig"])
    elif cfg.cluster.mode == "kind":
        assert any("kind create cluster" in c.inputs["create"] for c in commands)
        assert _is_secret(provider["kubeconfig"])
    elif cfg.cluster.mode == "doks":
        assert doks
        assert doks[0].inputs["version"] == "1.33.1-do.0"
        assert _is_secret(provider["kubeconfig"])
    else:
        assert not commands
        assert not doks
        assert provider.get("context") == cfg.cluster.kube_context


def test_metrics_server_on_kind_only_when_needed(
    platform_run: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = platform_run
    charts = {r.name for r in run.of_type(CHART)}
    assert ("metrics-server" in charts) == cfg.monitoring.metrics_server
    if cfg.cluster.mode == "kind" or cfg.stack == "ci":
        assert "metrics-server" in charts
    if cfg.autoscaling.mode == "hpa":
        assert "keda" not in charts


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and SECRET_SIG in value


def _plain_strings(value: Any) -> list[str]:
    """Every string in ``value`` that is not inside a secret wrapper."""
    if _is_secret(value):
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_plain_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _plain_strings(v)]
    return [value] if isinstance(value, str) else []


def test_no_secret_in_plain_text(program_run: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = program_run
    secrets = list(SECRET_VALUES.values())
    for registration in run.registrations:
        for text in _plain_strings(registration.inputs):
            assert not any(secret in text for secret in secrets), registration.name
    for value in exports(cfg).values():
        assert not any(secret in value for secret in secrets)
    bot_secret = next(
        r for r in run.of_type("kubernetes:core/v1:Secret") if r.name == "bot-secret"
    ).inputs
    assert _is_secret(bot_secret["stringData"])
    assert bot_secret["stringData"]["value"]["BOT_TOKEN"] == SECRET_VALUES["botToken"]


def test_database_credentials_come_from_a_secret(
    program_run: tuple[StackConfig, ProgramRun],
) -> None:
    _, run = program_run
    own = [r for r in run.of_type("kubernetes:core/v1:Secret") if "db-credentials" in r.name]
    cluster_inputs = run.one("kubernetes:postgresql.cnpg.io/v1:Cluster").inputs
    cluster, cluster_name = cluster_inputs["spec"], cluster_inputs["metadata"]["name"]
    env = _bot_deployment(run).inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    if own:
        assert _is_secret(own[0].inputs["stringData"])
        assert cluster["bootstrap"]["initdb"]["secret"]["name"] == refs["DB_PASSWORD"]
        assert run.depends_on(run.one("kubernetes:postgresql.cnpg.io/v1:Cluster"), own[0])
    else:
        assert "secret" not in cluster["bootstrap"]["initdb"]
        assert refs["DB_PASSWORD"] == f"{cluster_name}-app"  # generated by the operator
    url = next(e["value"] for e in env if e["name"] == "DATABASE_URL")
    pooler = run.one("kubernetes:postgresql.cnpg.io/v1:Pooler").inputs["metadata"]["name"]
    assert f"@{pooler}." in url
    assert "$(DB_PASSWORD)" in url


def test_load_generator_off_by_default(program_run: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = program_run
    components = {r.type for r in run.registrations}
    assert ("tgscale:k8s:LoadGenerator" in components) == (
        cfg.loadgen.enabled or cfg.loadgen.emulator
    )
    if cfg.loadgen.enabled:
        workers = next(r for r in run.of_type(DEPLOYMENT) if "worker" in r.name).inputs
        assert workers["spec"]["replicas"] == cfg.loadgen.workers
        master = next(
            r for r in run.of_type("kubernetes:batch/v1:Job") if "master" in r.name
        ).inputs
        command = master["spec"]["template"]["spec"]["containers"][0]["command"]
        assert f"http://tgbot.{cfg.namespace}.svc" in command
        env = master["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": "LOCUST_LOAD_PROFILE", "value": cfg.loadgen.profile} in env


def test_kind_side_loads_local_images(program_run: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = program_run
    loads = [r for r in run.of_type("command:local:Command") if "kind load" in r.inputs["create"]]
    if cfg.cluster.mode != "kind":
        assert not loads
        return
    assert any(cfg.bot.image in load.inputs["create"] for load in loads)
    migrate = next(r for r in run.of_type("kubernetes:batch/v1:Job") if r.name == "bot-migrate")
    assert all(run.depends_on(migrate, load) for load in loads)


def test_chart_releases_match_the_service_names_we_use(
    program_run: tuple[StackConfig, ProgramRun], platform_run: tuple[StackConfig, ProgramRun]
) -> None:
    cfg, _ = program_run
    run = platform_run[1]
    kps = _chart(run, "kube-prometheus-stack").inputs
    assert kps["name"] == cfg.monitoring.release == kps["values"]["fullnameOverride"]
    assert kps["version"] == cfg.monitoring.chart_version
    assert exports(cfg)["grafana_service"].startswith(f"{kps['name']}-grafana.")
    for chart in run.of_type(CHART):
        assert chart.inputs["version"], f"{chart.name} is not pinned"


def test_control_plane_monitors_off_on_kind_and_doks(
    platform_run: tuple[StackConfig, ProgramRun],
) -> None:
    """kind binds them to loopback, DOKS manages them out of reach (the ci stack is kind)."""
    _, run = platform_run
    values = _chart(run, "kube-prometheus-stack").inputs["values"]
    assert values.get("kubeEtcd") == {"enabled": False}
