"""The stack configuration: Pulumi config keys read once into frozen dataclasses.

The schema (type, default, meaning) lives only in the root ``Pulumi.yaml``. The Pulumi engine
merges its defaults with ``Pulumi.<stack>.yaml`` before the program runs; offline (``make
manifests``, tests) :func:`stack_values` does the same merge from the files. Either way
:func:`parse` receives every non-secret key as a string and validates the combination, so a
bad stack fails with one clear message before any resource exists. Secrets (``botToken``,
``botWebhookSecret``, ``dbPassword``, ``grafanaAdminPassword``) never enter these dataclasses:
the program reads them with ``config.require_secret``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

PROJECT: Final = "tgscale"
#: Keys that hold secrets; they have no schema default and are never read by :func:`parse`.
SECRET_KEYS: Final = (
    "botToken",
    "botWebhookSecret",
    "dbPassword",
    "grafanaAdminPassword",
    "dbBackupAccessKeyId",
    "dbBackupSecretAccessKey",
    "alertmanagerWebhookUrl",
)
#: Connections the pooler keeps free for the migration and set-webhook Jobs and for operators.
POOLER_CLIENT_HEADROOM: Final = 20
#: PostgreSQL connections the pooler may not use (superuser reserve, CNPG's own, replication).
POSTGRES_RESERVED_CONNECTIONS: Final = 10
#: The BOT_ENV values the bot accepts (tests/infra checks them against bot.settings.Settings).
BOT_ENVS: Final = ("dev", "test", "staging", "prod")
#: The bot's pool keeps BOT_DB_POOL_MIN (2) connections open; its maximum may not be below that.
BOT_DB_POOL_MIN: Final = 2
#: Seconds past BOT_SHUTDOWN_GRACE_S the pod needs: uvicorn's own 5 s on top of the drain, then
#: 5 s for the process to exit before the kubelet's SIGKILL.
SHUTDOWN_SLACK_SECONDS: Final = 10
#: Cluster modes whose control plane is managed (etcd, scheduler, ... not reachable).
MANAGED_MODES: Final = ("doks",)

ClusterMode = Literal["kind", "existing", "doks"]
StackRole = Literal["all", "platform", "app"]
AutoscalerMode = Literal["hpa", "keda"]


class ConfigError(ValueError):
    """A stack configuration that cannot work; the message names the keys to change."""


@dataclass(frozen=True)
class ClusterConfig:
    """Where the cluster comes from and which Kubernetes version it runs."""

    mode: ClusterMode
    name: str
    kube_context: str
    kind_node_image: str
    k8s_version: str
    region: str
    node_size: str
    node_count_min: int
    node_count_max: int


@dataclass(frozen=True)
class MonitoringConfig:
    """kube-prometheus-stack and metrics-server."""

    enabled: bool
    chart_version: str
    release: str
    namespace: str
    metrics_server: bool
    metrics_server_chart_version: str
    control_plane_monitors: bool
    prometheus_storage: str
    prometheus_retention: str
    prometheus_retention_size: str
    alertmanager_storage: str
    alertmanager_retention: str


@dataclass(frozen=True)
class DatabaseConfig:
    """The CloudNativePG operator, Cluster and PgBouncer Pooler."""

    chart_version: str
    instances: int
    storage: str
    storage_class: str
    max_connections: int
    pooler_instances: int
    pooler_default_pool_size: int
    backup_destination: str
    backup_endpoint: str
    backup_retention: str
    backup_schedule: str
    database: str = "tgscale"
    owner: str = "tgbot"


@dataclass(frozen=True)
class BotConfig:
    """The bot's image, resources, drain timing and public endpoint."""

    image: str
    env: str
    workers: int
    max_in_flight: int
    db_pool_size: int
    api_base_url: str
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    pre_stop_seconds: int
    drain_seconds: int
    webhook_url: str
    webhook_max_connections: int
    node_port: int
    ingress_enabled: bool
    ingress_host: str
    ingress_class_name: str
    ingress_controller_namespace: str
    cert_issuer: str

    @property
    def termination_grace_seconds(self) -> int:
        """The grace period: the preStop pause, the drain, and the shutdown slack."""
        return self.pre_stop_seconds + self.drain_seconds + SHUTDOWN_SLACK_SECONDS


@dataclass(frozen=True)
class PeakSchedule:
    """One known peak window for the KEDA cron trigger."""

    start: str
    end: str
    replicas: int


@dataclass(frozen=True)
class AutoscalingConfig:
    """Which autoscaler, its bounds, targets and HPA behavior."""

    mode: AutoscalerMode
    min_replicas: int
    max_replicas: int
    target_cpu_utilization: int
    target_inflight_per_pod: int
    scale_up_pods: int
    scale_up_percent: int
    scale_up_period_seconds: int
    scale_down_stabilization_seconds: int
    scale_down_percent: int
    keda_chart_version: str
    keda_polling_interval: int
    peak_schedules: tuple[PeakSchedule, ...]
    peak_timezone: str
    vpa_enabled: bool
    vpa_chart_version: str


@dataclass(frozen=True)
class LoadgenConfig:
    """The in-cluster Locust master and workers (and optionally the Bot API emulator)."""

    enabled: bool
    image: str
    workers: int
    profile: str
    emulator: bool


@dataclass(frozen=True)
class StackConfig:
    """Everything non-secret a stack needs, validated as a whole."""

    stack: str
    namespace: str
    role: StackRole
    #: The platform stack an app stack reads (StackReference name); empty otherwise.
    platform_stack: str
    cluster: ClusterConfig
    monitoring: MonitoringConfig
    database: DatabaseConfig
    bot: BotConfig
    autoscaling: AutoscalingConfig
    loadgen: LoadgenConfig

    @property
    def has_platform(self) -> bool:
        """Whether this stack installs the cluster, operators and monitoring."""
        return self.role in ("all", "platform")

    @property
    def has_app(self) -> bool:
        """Whether this stack deploys the bot, its database and autoscaler."""
        return self.role in ("all", "app")

    @property
    def instance(self) -> str:
        """The ``app.kubernetes.io/instance`` value: one per stack."""
        return f"{PROJECT}-{self.stack}"


def parse(stack: str, get: Callable[[str], str | None]) -> StackConfig:
    """Build and validate a :class:`StackConfig` from a key lookup.

    Args:
        stack: The stack name (``dev``, ``ci``, ``prod``, ...).
        get: Returns the string value of an unprefixed config key (``pulumi.Config().get``), or
            None when unset. Every key with a schema default must be present.

    Raises:
        ConfigError: A key is missing or malformed, or the combination cannot work.
    """
    reader = _Reader(get)
    cluster = ClusterConfig(
        mode=cast("ClusterMode", reader.choice("clusterMode", ("kind", "existing", "doks"))),
        name=reader.text("clusterName"),
        kube_context=reader.text("kubeContext"),
        kind_node_image=reader.text("kindNodeImage"),
        k8s_version=reader.text("k8sVersion"),
        region=reader.text("region"),
        node_size=reader.text("nodeSize"),
        node_count_min=reader.integer("nodeCountMin", minimum=1),
        node_count_max=reader.integer("nodeCountMax", minimum=1),
    )
    monitoring = MonitoringConfig(
        enabled=reader.boolean("monitoringEnabled"),
        chart_version=reader.text("monitoringChartVersion"),
        release=reader.text("monitoringRelease"),
        namespace="monitoring",
        # Neither kind nor DOKS ships a metrics-server, and the HPA's Resource metrics (and
        # KEDA's cpu trigger, and the VPA recommender) need one.
        metrics_server=reader.boolean("metricsServer") or cluster.mode in ("kind", "doks"),
        metrics_server_chart_version=reader.text("metricsServerChartVersion"),
        # kind's control-plane components listen on loopback and a managed control plane is not
        # reachable at all: their monitors would only alert.
        control_plane_monitors=reader.boolean("controlPlaneMonitors")
        and cluster.mode != "kind"
        and cluster.mode not in MANAGED_MODES,
        prometheus_storage=reader.text("prometheusStorage"),
        prometheus_retention=reader.text("prometheusRetention"),
        prometheus_retention_size=reader.text("prometheusRetentionSize"),
        alertmanager_storage=reader.text("alertmanagerStorage"),
        alertmanager_retention=reader.text("alertmanagerRetention"),
    )
    database = DatabaseConfig(
        chart_version=reader.text("cnpgChartVersion"),
        instances=reader.integer("dbInstances", minimum=1),
        storage=reader.text("dbStorage"),
        storage_class=reader.text("dbStorageClass"),
        max_connections=reader.integer("dbMaxConnections", minimum=20),
        pooler_instances=reader.integer("poolerInstances", minimum=1),
        pooler_default_pool_size=reader.integer("poolerDefaultPoolSize", minimum=1),
        backup_destination=reader.text("dbBackupDestination"),
        backup_endpoint=reader.text("dbBackupEndpoint"),
        backup_retention=reader.text("dbBackupRetention"),
        backup_schedule=reader.text("dbBackupSchedule"),
    )
    bot = BotConfig(
        image=reader.text("botImage"),
        env=reader.choice("botEnv", BOT_ENVS),
        workers=reader.integer("botWorkers", minimum=1),
        max_in_flight=reader.integer("botMaxInFlight", minimum=1),
        db_pool_size=reader.integer("botDbPoolSize", minimum=BOT_DB_POOL_MIN),
        api_base_url=reader.text("botApiBaseUrl"),
        cpu_request=reader.text("botCpuRequest"),
        cpu_limit=reader.text("botCpuLimit"),
        memory_request=reader.text("botMemoryRequest"),
        memory_limit=reader.text("botMemoryLimit"),
        pre_stop_seconds=reader.integer("botPreStopSeconds", minimum=0),
        drain_seconds=reader.integer("botDrainSeconds", minimum=1),
        webhook_url=reader.text("webhookUrl"),
        webhook_max_connections=reader.integer("webhookMaxConnections", minimum=1, maximum=100),
        node_port=reader.integer("botNodePort", minimum=0, maximum=32767),
        ingress_enabled=reader.boolean("ingressEnabled"),
        ingress_host=reader.text("ingressHost"),
        ingress_class_name=reader.text("ingressClassName"),
        ingress_controller_namespace=reader.text("ingressControllerNamespace"),
        cert_issuer=reader.text("certIssuer"),
    )
    autoscaling = AutoscalingConfig(
        mode=cast("AutoscalerMode", reader.choice("autoscaler", ("hpa", "keda"))),
        min_replicas=reader.integer("minReplicas", minimum=1),
        max_replicas=reader.integer("maxReplicas", minimum=1),
        target_cpu_utilization=reader.integer("targetCpuUtilization", minimum=1, maximum=100),
        target_inflight_per_pod=reader.integer("targetInflightPerPod", minimum=1),
        scale_up_pods=reader.integer("scaleUpPods", minimum=1),
        scale_up_percent=reader.integer("scaleUpPercent", minimum=1),
        scale_up_period_seconds=reader.integer("scaleUpPeriodSeconds", minimum=1, maximum=1800),
        scale_down_stabilization_seconds=reader.integer(
            "scaleDownStabilizationSeconds", minimum=0, maximum=3600
        ),
        scale_down_percent=reader.integer("scaleDownPercent", minimum=1, maximum=100),
        keda_chart_version=reader.text("kedaChartVersion"),
        keda_polling_interval=reader.integer("kedaPollingInterval", minimum=1),
        peak_schedules=tuple(_peak(s) for s in reader.text_list("peakSchedules")),
        peak_timezone=reader.text("peakTimezone"),
        vpa_enabled=reader.boolean("vpaEnabled"),
        vpa_chart_version=reader.text("vpaChartVersion"),
    )
    loadgen = LoadgenConfig(
        enabled=reader.boolean("loadgenEnabled"),
        image=reader.text("loadgenImage"),
        workers=reader.integer("loadgenWorkers", minimum=1),
        profile=reader.text("loadgenProfile"),
        emulator=reader.boolean("loadgenEmulator"),
    )
    cfg = StackConfig(
        stack=stack,
        namespace=reader.text("namespace"),
        role=cast("StackRole", reader.choice("stackRole", ("all", "platform", "app"))),
        platform_stack=reader.text("platformStack"),
        cluster=cluster,
        monitoring=monitoring,
        database=database,
        bot=bot,
        autoscaling=autoscaling,
        loadgen=loadgen,
    )
    _check(cfg)
    return cfg


def max_useful_replicas(cfg: StackConfig) -> int:
    """Replicas Telegram can keep busy: ``ceil(max_connections / in-flight target per pod)``."""
    return math.ceil(cfg.bot.webhook_max_connections / cfg.autoscaling.target_inflight_per_pod)


def pooler_max_client_conn(cfg: StackConfig) -> int:
    """PgBouncer ``max_client_conn``: every bot process at maxReplicas with a full pool + Jobs."""
    bot_connections = cfg.autoscaling.max_replicas * cfg.bot.workers * cfg.bot.db_pool_size
    return bot_connections + POOLER_CLIENT_HEADROOM


def _check(cfg: StackConfig) -> None:
    """Reject combinations that would deploy but not work."""
    scaling, bot, db = cfg.autoscaling, cfg.bot, cfg.database
    problems: list[str] = []
    if scaling.min_replicas > scaling.max_replicas:
        problems.append(f"minReplicas {scaling.min_replicas} > maxReplicas {scaling.max_replicas}")
    if scaling.max_replicas > max_useful_replicas(cfg):
        problems.append(
            f"maxReplicas {scaling.max_replicas} > ceil(webhookMaxConnections "
            f"{bot.webhook_max_connections} / targetInflightPerPod "
            f"{scaling.target_inflight_per_pod}) = {max_useful_replicas(cfg)}: Telegram never "
            "opens enough connections to keep the extra replicas busy"
        )
    server_connections = db.pooler_default_pool_size * db.pooler_instances
    if server_connections > db.max_connections - POSTGRES_RESERVED_CONNECTIONS:
        problems.append(
            f"poolerDefaultPoolSize x poolerInstances = {server_connections} exceeds "
            f"dbMaxConnections {db.max_connections} - {POSTGRES_RESERVED_CONNECTIONS} reserved"
        )
    if db.backup_destination and not db.backup_destination.startswith("s3://"):
        problems.append("dbBackupDestination must be s3://bucket/path")
    if len(db.backup_schedule.split()) != 6:
        problems.append("dbBackupSchedule needs six fields (seconds first, CloudNativePG's cron)")
    if cfg.role == "app" and not cfg.platform_stack:
        problems.append("stackRole=app needs platformStack (the StackReference to read)")
    if cfg.role != "app" and cfg.platform_stack:
        problems.append("platformStack is only read by stackRole=app")
    if bot.node_port and not 30000 <= bot.node_port <= 32767:
        problems.append(f"botNodePort {bot.node_port} outside the NodePort range 30000-32767")
    if bot.node_port and cfg.cluster.mode in MANAGED_MODES:
        problems.append("botNodePort is for kind/existing clusters (use the Ingress on doks)")
    if bot.ingress_enabled and not bot.ingress_host:
        problems.append("ingressEnabled needs ingressHost")
    if bot.webhook_url and not bot.webhook_url.startswith("https://"):
        problems.append("webhookUrl must be https:// (Telegram delivers to HTTPS only)")
    for key, image in (("botImage", bot.image), ("loadgenImage", cfg.loadgen.image)):
        if not is_pinned(image):
            problems.append(f"{key} {image!r} must be pinned by tag or digest, not latest")
    if scaling.mode == "hpa" and scaling.peak_schedules:
        problems.append("peakSchedules need autoscaler=keda (the cron trigger)")
    for peak in scaling.peak_schedules:
        if not scaling.min_replicas <= peak.replicas <= scaling.max_replicas:
            problems.append(f"peak replicas {peak.replicas} outside [minReplicas, maxReplicas]")
    if problems:
        raise ConfigError(f"stack {cfg.stack!r}: " + "; ".join(problems))


def is_pinned(image: str) -> bool:
    """Whether an image reference names a digest or a tag other than ``latest``."""
    if "@sha256:" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    return ":" in name and not name.endswith(":latest")


def _peak(text: str) -> PeakSchedule:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) != 3 or not parts[2].isdigit():
        raise ConfigError(f"peakSchedules entry {text!r} is not 'start cron|end cron|replicas'")
    return PeakSchedule(start=parts[0], end=parts[1], replicas=int(parts[2]))


class _Reader:
    """Typed access to string config values with messages that name the key."""

    def __init__(self, get: Callable[[str], str | None]) -> None:
        self._get = get

    def text(self, key: str) -> str:
        value = self._get(key)
        if value is None:
            raise ConfigError(
                f"config key {PROJECT}:{key} is missing (is Pulumi.yaml's schema used?)"
            )
        return value

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self.text(key)
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"config key {PROJECT}:{key}={raw!r} is not an integer") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ConfigError(f"config key {PROJECT}:{key}={value} outside [{minimum}, {maximum}]")
        return value

    def boolean(self, key: str) -> bool:
        raw = self.text(key).lower()
        if raw not in ("true", "false"):
            raise ConfigError(f"config key {PROJECT}:{key}={raw!r} is not true/false")
        return raw == "true"

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in choices:
            raise ConfigError(f"config key {PROJECT}:{key}={value!r} is not one of {choices}")
        return value

    def text_list(self, key: str) -> list[str]:
        raw = self.text(key)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError(f"config key {PROJECT}:{key} is not a JSON list") from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"config key {PROJECT}:{key} must be a list of strings")
        return cast("list[str]", value)


def _to_config_string(value: Any) -> str:
    """Render a YAML value the way Pulumi hands config to the program (JSON for lists/maps)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def stack_values(project_dir: Path, stack: str) -> dict[str, str]:
    """Merge ``Pulumi.yaml`` defaults with ``Pulumi.<stack>.yaml``, as the engine does.

    Secure (encrypted) values are skipped; only the CLI can decrypt them.

    Args:
        project_dir: The folder holding ``Pulumi.yaml``.
        stack: The stack name.

    Returns:
        Unprefixed key → string value, for :func:`parse` (``parse(stack, values.get)``).

    Raises:
        ConfigError: The stack file does not exist.
    """
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    values = {
        key: _to_config_string(spec["default"])
        for key, spec in project.get("config", {}).items()
        if "default" in spec
    }
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise ConfigError(f"no stack file {stack_file}")
    stack_doc = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    for full_key, value in (stack_doc.get("config") or {}).items():
        namespace, _, key = str(full_key).partition(":")
        if namespace == PROJECT and not (isinstance(value, dict) and "secure" in value):
            values[key] = _to_config_string(value)
    return values


def load_stack(
    project_dir: Path, stack: str, overrides: Mapping[str, str] | None = None
) -> StackConfig:
    """Parse a stack's configuration offline (``make manifests``, tests).

    Args:
        project_dir: The folder holding ``Pulumi.yaml``.
        stack: The stack name.
        overrides: Values that replace the files' (e.g. another autoscaler mode in a test).
    """
    values = stack_values(project_dir, stack) | dict(overrides or {})
    return parse(stack, values.get)
