"""Local I/O layer: a real Apache Kafka (KRaft) cluster as plain `java` processes on 127.0.0.1.

The jars come from the `kafka` real part (tools/kafka/pom.xml, Maven Central). Each node is formatted with
`kafka.tools.StorageTool format` into its own data directory under the work directory and started as
`java … kafka.Kafka server.properties`, the command the release's bin/kafka-server-start.sh runs. One node is a
combined controller+broker (what the rendered StatefulSet runs); with `nodes=3` every node is combined and
votes in the quorum unless `controllers` says fewer (the rest are broker-only, so a test can take brokers away
and keep a controller quorum).

    with start_kafka(tmp / "kafka", nodes=3, broker_config={"min.insync.replicas": 2}) as kafka:
        kafka.bootstrap_servers          # "127.0.0.1:41234,127.0.0.1:41236,…"
        kafka.stop_node(2); kafka.start_node(2)

The start waits, bounded, until the cluster answers metadata through confluent-kafka's AdminClient with every
running broker registered. Stops go by pid: SIGTERM (a broker's controlled shutdown), then SIGKILL.
A failed start raises RemoteError with the log tail of the node; no Java raises ToolMissingError.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from observability.errors import RemoteError, ToolMissingError
from observability.local import parts
from observability.local.processes import free_port

PART = "kafka"
_READY_TIMEOUT_S = 120.0
_STOP_TIMEOUT_S = 20.0
# The release's bin/kafka-run-class.sh defaults to G1 and C2; on a shared 2-core machine a small serial heap
# and C1 only start a node in a few seconds, and the test traffic is far below what C1 code can serve.
_JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Djava.awt.headless=true")
# The pattern of the release's config/log4j2.yaml ("[%d] %p %m (%c)%n"), to stdout (kept in node-<id>.log).
_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
"""


def find_java() -> str:
    """The `java` to run Kafka with: $JAVA_HOME/bin/java, else the one on PATH; ToolMissingError otherwise."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found:
        return found
    raise ToolMissingError(
        "java is not installed: the real Kafka broker runs on a Java 17+ runtime",
        hint="install one (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
    )


def kafka_available() -> bool:
    """True when a real broker can start here: the kafka part is built and Java is present."""
    try:
        find_java()
        parts.require(PART)
    except ToolMissingError:
        return False
    return True


def random_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaNode:
    """One node: its ports, files and (while running) its process."""

    node_id: int
    port: int
    """The PLAINTEXT client listener on 127.0.0.1."""
    controller_port: int | None
    """The CONTROLLER listener, for a node that votes in the quorum; None for a broker-only node."""
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    wanted: bool = False
    """Started and not stopped since: the cluster waits for it, and its exit is an error."""

    @property
    def config_path(self) -> Path:
        return self.workdir / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"node-{self.node_id}.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class KafkaCluster:
    """A running local KRaft cluster; `stop()` ends every node (also a context manager)."""

    version: str
    cluster_id: str
    nodes: list[KafkaNode]
    workdir: Path
    java: str
    classpath: str
    heap_mb: int
    started_in: float = 0.0
    """Seconds from the first format to a cluster answering metadata with every broker registered."""

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(n.address for n in self.nodes)

    def describe(self) -> str:
        """E.g. "Apache Kafka 4.4.0 (real broker, 1 node)" for summaries."""
        count = len(self.nodes)
        return f"Apache Kafka {self.version} (real broker, {count} node{'s' if count != 1 else ''})"

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- node {n.node_id} ({n.log_path}) ---\n{n.logs()[-tail:]}" for n in self.nodes)

    # -- lifecycle -----------------------------------------------------------------------------------

    def _argv(self, node: KafkaNode, main: str, *args: str) -> list[str]:
        return [
            self.java,
            f"-Xms{min(128, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            *_JVM_FLAGS,
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={node.workdir / 'logs'}",
            "-cp",
            self.classpath,
            main,
            *args,
        ]

    def _format(self, node: KafkaNode) -> subprocess.Popen[bytes]:
        with (node.workdir / "format.log").open("wb") as log:
            return subprocess.Popen(
                self._argv(node, "kafka.tools.StorageTool", "format", "--cluster-id", self.cluster_id,
                           "--config", str(node.config_path)),
                stdout=log, stderr=subprocess.STDOUT, cwd=node.workdir,
            )  # fmt: skip

    def start_node(self, *indexes: int, timeout: float = _READY_TIMEOUT_S) -> None:
        """(Re)start the nodes `indexes` on their old ports and data; wait until the cluster lists them again."""
        for index in indexes:
            if not self.nodes[index].running():
                self._launch(self.nodes[index])
        self.wait_ready(timeout)

    def _launch(self, node: KafkaNode) -> None:
        node.wanted = True
        with node.log_path.open("ab") as log:
            node.process = subprocess.Popen(
                self._argv(node, "kafka.Kafka", str(node.config_path)),
                stdout=log, stderr=subprocess.STDOUT, cwd=node.workdir, start_new_session=True,
            )  # fmt: skip

    def stop_node(self, *indexes: int, timeout: float = _STOP_TIMEOUT_S) -> None:
        """SIGTERM the nodes `indexes` (a controlled shutdown moves their leaderships), SIGKILL after `timeout`."""
        _stop_processes([self.nodes[i] for i in indexes], timeout)

    def kill_node(self, index: int) -> None:
        """SIGKILL node `index`: a crash, no controlled shutdown."""
        node = self.nodes[index]
        node.wanted = False
        if node.running():
            assert node.process is not None
            node.process.kill()
            node.process.wait(10)

    def stop(self, timeout: float = _STOP_TIMEOUT_S) -> None:
        """Stop every node (in parallel, by pid); safe to call twice."""
        _stop_processes(self.nodes, timeout)

    def __enter__(self) -> KafkaCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = _READY_TIMEOUT_S) -> None:
        """Wait until AdminClient metadata lists exactly the running brokers; RemoteError with logs if not."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        running = [n for n in self.nodes if n.wanted]
        wanted = {n.node_id for n in running}
        admin = AdminClient({"bootstrap.servers": ",".join(n.address for n in running), "log_level": 0})
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while time.monotonic() < deadline:
            for node in running:
                if not node.running():
                    assert node.process is not None
                    raise RemoteError(
                        f"Kafka node {node.node_id} exited with code {node.process.returncode} during start-up:\n"
                        f"{node.logs()[-3000:]}",
                        hint=f"see {node.log_path} and {node.config_path}",
                    )
            try:
                seen = set(admin.list_topics(timeout=2).brokers)
            except KafkaException:
                seen = set()
            if seen == wanted:
                return
            time.sleep(0.2)
        raise RemoteError(
            f"Kafka did not list brokers {sorted(wanted)} within {timeout:.0f}s (it listed {sorted(seen)}):\n"
            f"{self.logs()}",
            hint=f"the node logs are in {self.workdir}",
        )


# The release's bin/ scripts used here and the class each one runs in Kafka 4.4 (bin/kafka-run-class.sh <class>).
CLI_TOOLS = {
    "kafka-topics.sh": "org.apache.kafka.tools.TopicCommand",
    "kafka-configs.sh": "org.apache.kafka.tools.ConfigCommand",
    "kafka-consumer-groups.sh": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
}
# Like the release's config/tools-log4j2.yaml: warnings and errors only, on stderr.
_TOOLS_LOG4J2 = """\
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
"""


def write_cli_scripts(bin_dir: Path) -> Path:
    """Write kafka-topics.sh, kafka-configs.sh and kafka-consumer-groups.sh into `bin_dir`, each running its
    Kafka 4.4 class from the kafka part's jars as the release's bin/ script does; returns `bin_dir`."""
    java = find_java()
    libs = parts.require(PART)
    bin_dir.mkdir(parents=True, exist_ok=True)
    log_config = bin_dir / "tools-log4j2.properties"
    log_config.write_text(_TOOLS_LOG4J2, encoding="utf-8")
    for script, main in CLI_TOOLS.items():
        path = bin_dir / script
        path.write_text(
            "#!/bin/sh\n"
            f'exec "{java}" -Xmx256m {" ".join(_JVM_FLAGS)} -Dlog4j2.configurationFile="{log_config}" '
            f'-cp "{libs}/*" {main} "$@"\n',
            encoding="utf-8",
        )
        path.chmod(0o755)
    return bin_dir


def _stop_processes(nodes: list[KafkaNode], timeout: float) -> None:
    for node in nodes:
        node.wanted = False
    live = [n for n in nodes if n.running()]
    for node in live:
        assert node.process is not None
        node.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for node in live:
        assert node.process is not None
        try:
            node.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait(10)


def _server_properties(
    node: KafkaNode, voters: str, count: int, extra: Mapping[str, object]
) -> dict[str, object]:
    replication = min(3, count)
    combined = node.controller_port is not None
    listeners = [f"PLAINTEXT://127.0.0.1:{node.port}"]
    if combined:
        listeners.append(f"CONTROLLER://127.0.0.1:{node.controller_port}")
    props: dict[str, object] = {
        "process.roles": "broker,controller" if combined else "broker",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": ",".join(listeners),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(node.data_dir),
        "offsets.topic.replication.factor": replication,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min(2, count),
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": min(2, count),
        # Test and demo speed, not production values: a group's first join is not held back 3 s, and the
        # offsets topic gets 5 partitions instead of 50 to create.
        "group.initial.rebalance.delay.ms": 0,
        "offsets.topic.num.partitions": 5,
        "num.partitions": 4,
    }
    props.update(extra)
    return props


def start_kafka(
    workdir: Path,
    nodes: int = 1,
    *,
    controllers: int | None = None,
    broker_config: Mapping[str, object] | None = None,
    heap_mb: int = 384,
    timeout: float = _READY_TIMEOUT_S,
) -> KafkaCluster:
    """Format and start `nodes` Kafka nodes in `workdir` (nodes 0…controllers-1 vote, default all).

    `broker_config` adds or overrides server.properties keys on every node (e.g. min.insync.replicas).
    """
    if nodes < 1:
        raise ValueError(f"nodes must be ≥ 1, got {nodes}")
    voters_count = nodes if controllers is None else controllers
    if not 1 <= voters_count <= nodes:
        raise ValueError(f"controllers must be between 1 and nodes ({nodes}), got {controllers}")
    java = find_java()
    libs = parts.require(PART)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "log4j2.properties").write_text(_LOG4J2, encoding="utf-8")
    members = [
        KafkaNode(i, free_port(), free_port() if i < voters_count else None, workdir / f"node-{i}")
        for i in range(nodes)
    ]
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in members if n.controller_port)
    cluster = KafkaCluster(
        version=parts.get_part(PART).version,
        cluster_id=random_cluster_id(),
        nodes=members,
        workdir=workdir,
        java=java,
        classpath=str(libs / "*"),
        heap_mb=heap_mb,
    )
    started = time.monotonic()
    for node in members:
        node.workdir.mkdir(parents=True, exist_ok=True)
        props = _server_properties(node, voters, nodes, broker_config or {})
        node.config_path.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
    formats = [(node, cluster._format(node)) for node in members]
    for node, proc in formats:
        code = proc.wait(timeout)
        if code != 0:
            output = (node.workdir / "format.log").read_text(encoding="utf-8", errors="replace")
            raise RemoteError(
                f"formatting Kafka node {node.node_id} failed (exit {code}):\n{output[-3000:]}",
                hint=f"see {node.config_path}",
            )
    try:
        for node in members:
            cluster._launch(node)
        cluster.wait_ready(timeout)
    except BaseException:
        cluster.stop(5)
        raise
    cluster.started_in = time.monotonic() - started
    return cluster
