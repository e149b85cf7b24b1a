"""A pinned Apache Kafka (KRaft) for tests, benchmarks and a durable embedded stack.

:func:`fetch` resolves ``org.apache.kafka:kafka_2.13`` (the version pinned in ``ops/kafka/pom.xml``) and its
runtime dependencies through Maven into a cache folder, once; afterwards it runs offline. :func:`start_cluster`
formats KRaft storage and starts one broker (or three, each broker and controller) on free loopback ports with
its log on disk. The broker settings are those of ``ops/deploy/compose.yaml`` (:data:`BROKER_DEFAULTS`, a test
keeps the two equal); only what a loopback run must change is overridden. See docs/development.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, field
from pathlib import Path

from app.processes import StackError, free_port, wait_for_port

POM = Path(__file__).resolve().parent.parent / "ops" / "kafka" / "pom.xml"
#: JVM options: a modest heap, since the broker shares two cores and the memory with PostgreSQL and casetrack.
JVM_OPTS = (
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
STARTED = "Kafka Server started"

#: The broker settings of ops/deploy/compose.yaml (``x-kafka-env``, as property names). A loopback run of
#: fewer than three nodes lowers the replication settings to the node count (:func:`node_properties`).
BROKER_DEFAULTS: dict[str, str] = {
    "process.roles": "broker,controller",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "inter.broker.listener.name": "PLAINTEXT",
    "auto.create.topics.enable": "false",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "log.retention.hours": "2160",
    "group.initial.rebalance.delay.ms": "3000",
}
#: Replication settings that cannot exceed the number of nodes.
_REPLICATION = (
    "default.replication.factor",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
)
_MIN_ISR = ("min.insync.replicas", "transaction.state.log.min.isr")
_LOG4J = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.org.name = org.apache
logger.org.level = WARN
"""


class KafkaUnavailable(StackError):
    """Apache Kafka cannot be fetched or started here (no Java, no Maven, or no cached copy)."""


def pinned_version() -> str:
    """The Kafka version pinned in ``ops/kafka/pom.xml``."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if not found:
        raise KafkaUnavailable(f"no <kafka.version> in {POM}")
    return found.group(1).strip()


def cache_dir() -> Path:
    """Where fetched versions live: ``$CASETRACK_KAFKA_CACHE`` or ``~/.cache/casetrack/kafka``."""
    env = os.environ.get("CASETRACK_KAFKA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "casetrack" / "kafka"


def java_available() -> bool:
    return shutil.which("java") is not None


def libs_dir(version: str | None = None) -> Path | None:
    """The folder of jars of a fetched version, or None when it has not been fetched."""
    libs = cache_dir() / (version or pinned_version()) / "libs"
    return libs if (libs.parent / "complete").exists() else None


def fetch(quiet: bool = True) -> Path:
    """The jars of the pinned version, fetched through Maven on first use (idempotent; offline afterwards)."""
    version = pinned_version()
    found = libs_dir(version)
    if found:
        return found
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaUnavailable("Apache Kafka is not fetched yet and Maven (`mvn`) is not installed")
    home = cache_dir() / version
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits, then finds it complete
        if (home / "complete").exists():
            return home / "libs"
        partial = home / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        argv = [mvn, "-B", *(["-q"] if quiet else []), "-f", str(POM), "dependency:copy-dependencies",
                f"-DoutputDirectory={partial}", "-DincludeScope=runtime"]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise KafkaUnavailable(f"mvn could not fetch Apache Kafka {version}:\n{done.stdout[-3000:]}")
        shutil.rmtree(home / "libs", ignore_errors=True)
        partial.rename(home / "libs")
        (home / "complete").write_text(version + "\n")
    return home / "libs"


def _java(libs: Path, *args: str, log: Path | None = None, opts: Sequence[str] = ()) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise KafkaUnavailable("Apache Kafka needs Java 17 or later (`java` is not on PATH)")
    extra = [f"-Dlog4j2.configurationFile={log}"] if log else []
    return [java, *JVM_OPTS, *opts, *extra, "-cp", str(libs / "*"), *args]


# -- one node --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ports:
    """The loopback ports of one node; ``sasl_ssl`` is 0 without a secured listener."""

    plaintext: int
    controller: int
    sasl_ssl: int = 0


@dataclass(frozen=True)
class SecureListener:
    """A SASL_SSL listener (SCRAM) beside the plaintext one: the server's PEM (key and chain) and its users."""

    server_pem: Path
    users: Mapping[str, str]  # name -> password
    mechanism: str = "SCRAM-SHA-256"
    host: str = "localhost"  # advertised name; the certificate must carry it


def node_properties(
    node_id: int,
    ports: Mapping[int, Ports],
    log_dir: Path,
    secure: SecureListener | None = None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """server.properties of node ``node_id`` of a cluster of ``len(ports)`` nodes on loopback."""
    mine, n = ports[node_id], len(ports)
    props = dict(BROKER_DEFAULTS)
    for key in _REPLICATION:
        props[key] = str(min(int(props[key]), n))
    for key in _MIN_ISR:
        props[key] = str(min(int(props[key]), max(1, n - 1)))
    listeners = [f"PLAINTEXT://127.0.0.1:{mine.plaintext}", f"CONTROLLER://127.0.0.1:{mine.controller}"]
    advertised = [f"PLAINTEXT://127.0.0.1:{mine.plaintext}"]
    if secure is not None:
        listeners.append(f"SASL_SSL://127.0.0.1:{mine.sasl_ssl}")
        advertised.append(f"SASL_SSL://{secure.host}:{mine.sasl_ssl}")
        props["listener.security.protocol.map"] += ",SASL_SSL:SASL_SSL"
        props["sasl.enabled.mechanisms"] = secure.mechanism
        jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        props[f"listener.name.sasl_ssl.{secure.mechanism.lower()}.sasl.jaas.config"] = jaas
        props["listener.name.sasl_ssl.ssl.keystore.type"] = "PEM"
        props["listener.name.sasl_ssl.ssl.keystore.location"] = str(secure.server_pem)
    props.update(
        {
            "node.id": str(node_id),
            "controller.quorum.voters": ",".join(
                f"{i}@127.0.0.1:{p.controller}" for i, p in sorted(ports.items())
            ),
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "log.dirs": str(log_dir),
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
    )
    props.update(overrides or {})
    return props


@dataclass
class Node:
    """One KRaft node (broker and controller) with its folder, ports and process."""

    node_id: int
    home: Path
    ports: Ports
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = 0  # where this start's lines begin in the log

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class KafkaCluster:
    """A running Apache Kafka on loopback: one node or three, data under ``home``."""

    home: Path
    nodes: list[Node]
    libs: Path
    secure: SecureListener | None = None
    jvm_opts: tuple[str, ...] = field(default=())

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.ports.plaintext}" for n in self.nodes)

    @property
    def secure_bootstrap(self) -> str:
        assert self.secure is not None, "started without a SASL_SSL listener"
        return ",".join(f"{self.secure.host}:{n.ports.sasl_ssl}" for n in self.nodes)

    def start_node(self, index: int, timeout: float = 90.0) -> None:
        """Start (again) node ``index`` with its existing storage; waits until it has started."""
        _launch(self, index)
        _wait_started(self.nodes[index], timeout)

    def stop_node(self, index: int, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        """Stop node ``index``: SIGTERM is a controlled shutdown, SIGKILL a crash."""
        node = self.nodes[index]
        if node.proc is None or node.proc.poll() is not None:
            return
        node.proc.send_signal(sig)
        try:
            node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node at once (one by one, the last ones would wait for a quorum that has gone)."""
        running = [n.proc for n in self.nodes if n.proc is not None and n.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _wait_started(node: Node, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.proc is not None and node.proc.poll() is not None:
            raise StackError(f"Kafka node {node.node_id} exited ({node.proc.returncode}); see {node.log}")
        if node.log.exists():
            with open(node.log, "rb") as fh:
                fh.seek(node.log_offset)
                if STARTED.encode() in fh.read():
                    wait_for_port("127.0.0.1", node.ports.plaintext)
                    return
        time.sleep(0.1)
    raise StackError(f"Kafka node {node.node_id} did not start within {timeout:.0f}s; see {node.log}")


def _ports(home: Path, count: int, secure: bool) -> dict[int, Ports]:
    """The ports recorded under ``home`` (a restart keeps its addresses), else free ones, recorded."""
    record = home / "ports.json"
    if record.exists():
        saved = {int(k): Ports(**v) for k, v in json.loads(record.read_text()).items()}
        usable = len(saved) == count and (not secure or all(p.sasl_ssl for p in saved.values()))
        if usable and all(_bindable(port) for p in saved.values() for port in astuple(p) if port):
            return saved
    ports = {i: Ports(free_port(), free_port(), free_port() if secure else 0) for i in range(1, count + 1)}
    record.write_text(json.dumps({i: p.__dict__ for i, p in ports.items()}))
    return ports


def _bindable(port: int) -> bool:
    """Whether a listener could bind ``port`` now (with SO_REUSEADDR, as the JVM binds)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _format(libs: Path, node: Node, cluster_id: str, secure: SecureListener | None) -> None:
    """Format the node's KRaft storage once (kept on later starts), with the SCRAM users if any."""
    if (node.home / "data" / "meta.properties").exists():
        return
    scram = []
    if secure is not None:
        for name, password in secure.users.items():
            scram += ["--add-scram", f"{secure.mechanism}=[name={name},password={password}]"]
    # ``--cluster-id=ID`` in one argument: an id of an older run may begin with "-", which as a separate
    # argument reads as an option (the tool then exits 1 with "expected one argument").
    argv = _java(libs, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c",
                 str(node.home / "server.properties"), *scram)  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        said = _masked(done.stderr + done.stdout, secure).strip().splitlines()[-5:]
        raise StackError(
            f"formatting Kafka storage of node {node.node_id} failed (exit {done.returncode}):\n  "
            + "\n  ".join(said or ["(it printed nothing)"])
        )


def _masked(text: str, secure: SecureListener | None) -> str:
    """``text`` with every SCRAM password given to the storage tool replaced by ``***`` (it may echo them)."""
    for password in secure.users.values() if secure else ():
        text = text.replace(password, "***")
    return text


def start_cluster(
    home: Path,
    nodes: int = 1,
    secure: SecureListener | None = None,
    overrides: Mapping[str, str] | None = None,
    jvm_opts: Sequence[str] = (),
) -> KafkaCluster:
    """Start Apache Kafka with its data under ``home``: format on first use, reuse storage and ports after.

    ``overrides`` replace broker settings (tests lower ``group.initial.rebalance.delay.ms``, for example).
    """
    libs = fetch()
    home.mkdir(parents=True, exist_ok=True)
    ports = _ports(home, nodes, secure is not None)
    id_file = home / "cluster.id"
    if not id_file.exists():
        id_file.write_text(_cluster_id())
    cluster_id = id_file.read_text().strip()
    cluster = KafkaCluster(home, [], libs, secure, tuple(jvm_opts))
    for node_id in sorted(ports):
        node = Node(node_id, home / f"node-{node_id}", ports[node_id])
        node.home.mkdir(exist_ok=True)
        props = node_properties(node_id, ports, node.home / "data", secure, overrides)
        (node.home / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (node.home / "log4j2.properties").write_text(_LOG4J.format(log=node.log))
        _format(libs, node, cluster_id, secure)
        cluster.nodes.append(node)
    try:
        # Start every node before waiting: a controller quorum of three needs two of them up.
        for i in range(len(cluster.nodes)):
            _launch(cluster, i)
        for node in cluster.nodes:
            _wait_started(node, 120)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _launch(cluster: KafkaCluster, index: int) -> None:
    node = cluster.nodes[index]
    node.log_offset = node.log.stat().st_size if node.log.exists() else 0
    with open(node.home / "stdout.log", "ab") as out:
        argv = _java(cluster.libs, "kafka.Kafka", str(node.home / "server.properties"),
                     log=node.home / "log4j2.properties", opts=cluster.jvm_opts)  # fmt: skip
        node.proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, as ``random-uuid`` prints.

    Like Kafka's ``Uuid.randomUuid``, it never begins with "-" (one draw in 64 would), since such an id reads
    as an option wherever it is given on a command line.
    """
    import base64

    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found
