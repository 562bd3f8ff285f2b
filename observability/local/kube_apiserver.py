"""Local I/O layer: a real Kubernetes control plane without nodes, as plain child processes on 127.0.0.1.

etcd (Debian's etcd-server), kube-apiserver and, optionally, kube-controller-manager from a real part
(tools/kube-apiserver-1.20 or tools/kube-apiserver, built by `make tools`). Objects are stored, validated,
admitted, applied and garbage-collected for real; with no kubelet and no scheduler, pods stay Pending. The
cluster tests and anyone who wants to try `obs plan/apply` locally use it:

    python -m observability.local.kube_apiserver [PART] [--workdir DIR]

Everything lives in one work directory (certificates, etcd data, logs, kubeconfig); every server listens on
a free port on 127.0.0.1 and is stopped by its pid. The client authenticates with a static bearer token in
the group system:masters; authorization is RBAC, as on a real cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from observability.errors import ObservabilityError, ToolMissingError
from observability.local import parts
from observability.local.processes import find_binary, free_port, stop_process

CONTEXT = "kapi"
"""Name of the cluster, user and context in the written kubeconfig."""
SERVICE_CIDR = "10.0.0.0/24"
_SERVICE_IP = "10.0.0.1"  # the `kubernetes` Service's ClusterIP: the first address of SERVICE_CIDR
_START_ATTEMPTS = 3
# Controllers that need nodes or a cloud; everything else (garbage collector, namespace, replicaset, job,
# serviceaccount, ...) runs as on a real cluster.
_NODELESS_CONTROLLERS = "*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-route,-service"


class ClusterStartError(ObservabilityError):
    """A local control-plane process did not start; the message carries the end of its log."""


@dataclass(frozen=True)
class ControlPlane:
    """The binaries of one Kubernetes release."""

    version: str
    """Upstream release, e.g. 1.20.2."""
    apiserver: Path
    controller_manager: Path | None = None

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])


def control_plane_of_part(name: str) -> ControlPlane:
    """The built binaries of a part (ToolMissingError naming `make tools PARTS=<name>` if it is not built)."""
    part = parts.get_part(name)
    return ControlPlane(
        version=part.version,
        apiserver=parts.require(name, "kube-apiserver"),
        controller_manager=parts.require(name, "kube-controller-manager"),
    )


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float) -> None:
        stop_process(self.process, timeout)


@dataclass
class LocalCluster:
    """A running control plane; `stop()` (or leaving a `with` block) ends every process it started."""

    version: str
    url: str
    """https://127.0.0.1:<port> of the API server."""
    kubeconfig: Path
    workdir: Path
    ca_path: Path
    token: str = field(repr=False)
    children: list[_Child] = field(default_factory=list, repr=False)
    started_in_s: float = 0.0
    """Wall time from the first process start to ready."""

    def get(self, path: str, timeout: float = 5.0) -> requests.Response:
        """GET a path of the API server as the admin user."""
        return requests.get(
            self.url + path,
            headers={"Authorization": f"Bearer {self.token}"},
            verify=str(self.ca_path),
            timeout=timeout,
        )

    def log_path(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM each process (controller-manager, API server, etcd), SIGKILL after `timeout`; idempotent."""
        for child in reversed(self.children):
            child.stop(timeout)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _openssl(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(["openssl", *argv], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ClusterStartError(f"openssl {' '.join(argv[:2])} failed in {cwd}: {done.stderr.strip()[-800:]}")


def write_certificates(directory: Path) -> None:
    """A CA, the API server's serving certificate (127.0.0.1, localhost, the Service IP) and the key pair
    that signs and verifies service-account tokens, with openssl."""
    find_binary("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=obs-local-ca",
              "-keyout", "ca.key", "-out", "ca.crt"], directory)  # fmt: skip
    names = f"IP:127.0.0.1,DNS:localhost,IP:{_SERVICE_IP},DNS:kubernetes,DNS:kubernetes.default.svc"
    (directory / "server.cnf").write_text(
        f"[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName={names}\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        encoding="utf-8",
    )
    _openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver", "-config", "server.cnf",
              "-keyout", "server.key", "-out", "server.csr"], directory)  # fmt: skip
    _openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
              "-days", "3650", "-extfile", "server.cnf", "-extensions", "ext",
              "-out", "server.crt"], directory)  # fmt: skip
    _openssl(["genrsa", "-out", "sa.key", "2048"], directory)
    _openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], directory)


def write_kubeconfig(path: Path, url: str, ca_path: Path, token: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url, "certificate-authority": str(ca_path)}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "admin"}}],
        "current-context": CONTEXT,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)


def _spawn(name: str, argv: list[str], logs: Path) -> _Child:
    log_path = logs / f"{name}.log"
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        # Own session: a Ctrl-C meant for the caller reaches the caller, which stops these by pid.
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return _Child(name, process, log_path)


def _wait_for(child: _Child, ready: Callable[[], bool], what: str, deadline: float) -> None:
    """Poll `ready` until it is true; ClusterStartError if the process exits or the deadline passes."""
    while time.monotonic() < deadline:
        if not child.running():
            raise ClusterStartError(
                f"{child.name} exited with code {child.process.returncode} before {what}; "
                f"end of {child.log_path}:\n{child.log_tail()}"
            )
        with contextlib.suppress(requests.RequestException):
            if ready():
                return
        time.sleep(0.2)
    raise ClusterStartError(f"{child.name} was not {what} in time; end of {child.log_path}:\n{child.log_tail()}")


def _start_with_free_port(
    name: str, argv_for: Callable[[int], list[str]], ready_for: Callable[[int], bool], what: str, logs: Path,
    deadline: float,
) -> tuple[_Child, int]:  # fmt: skip
    """Start a server on a port that was free a moment ago; another pick if someone took it meanwhile."""
    for attempt in range(_START_ATTEMPTS):
        port = free_port()
        child = _spawn(name, argv_for(port), logs)
        try:
            _wait_for(child, lambda port=port: ready_for(port), what, deadline)  # type: ignore[misc]
            return child, port
        except ClusterStartError:
            child.stop(5.0)
            if "address already in use" not in child.log_tail(20000) or attempt == _START_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _etcd_argv(etcd: str, data_dir: Path, client_port: int, peer_port: int) -> list[str]:
    client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    return [
        etcd, "--name", "obs-local", "--data-dir", str(data_dir),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", f"obs-local={peer}",
    ]  # fmt: skip


def apiserver_argv(plane: ControlPlane, certs: Path, etcd_url: str, port: int, *, service_accounts: bool) -> list[str]:
    """The API server's flags; `service_accounts` False drops the ServiceAccount admission plugin, whose
    `default` account only a running controller-manager creates."""
    argv = [
        str(plane.apiserver),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={certs / 'server.crt'}",
        f"--tls-private-key-file={certs / 'server.key'}",
        f"--client-ca-file={certs / 'ca.crt'}",
        f"--token-auth-file={certs / 'tokens.csv'}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={certs / 'sa.pub'}",
        f"--service-account-signing-key-file={certs / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        # One API server on loopback: no `kubernetes` Endpoints pointing at it.
        "--endpoint-reconciler-type=none",
    ]
    if plane.minor < 24:  # the insecure port (default 8080 before 1.20's change) was removed in 1.24
        argv.append("--insecure-port=0")
    if not service_accounts:
        argv.append("--disable-admission-plugins=ServiceAccount")
    return argv


def controller_manager_argv(plane: ControlPlane, certs: Path, kubeconfig: Path) -> list[str]:
    assert plane.controller_manager is not None
    argv = [
        str(plane.controller_manager),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        "--secure-port=0",
        f"--service-account-private-key-file={certs / 'sa.key'}",
        f"--root-ca-file={certs / 'ca.crt'}",
        f"--controllers={_NODELESS_CONTROLLERS}",
    ]
    if plane.minor < 24:  # its insecure port went away in 1.24 with the API server's
        argv.append("--port=0")
    return argv


def start_local_cluster(
    plane: ControlPlane, workdir: Path, *, controller_manager: bool = True, timeout: float = 120.0
) -> LocalCluster:
    """Start etcd, the API server (and the controller-manager) in `workdir`; return once /readyz says ok
    (and, with the controller-manager, once it created the `default` ServiceAccount), within `timeout` s."""
    etcd = find_binary("etcd")
    if controller_manager and plane.controller_manager is None:
        raise ToolMissingError(f"Kubernetes {plane.version}: no kube-controller-manager binary was given")
    started = time.monotonic()
    deadline = started + timeout
    workdir.mkdir(parents=True, exist_ok=True)
    certs, logs = workdir / "certs", workdir / "logs"
    logs.mkdir(exist_ok=True)
    write_certificates(certs)
    token = secrets.token_hex(16)
    (certs / "tokens.csv").write_text(f"{token},admin,admin,system:masters\n", encoding="utf-8")
    cluster = LocalCluster(
        version=plane.version, url="", kubeconfig=workdir / "kubeconfig", workdir=workdir,
        ca_path=certs / "ca.crt", token=token,
    )  # fmt: skip
    try:
        peer_port = free_port()
        child, etcd_port = _start_with_free_port(
            "etcd",
            lambda port: _etcd_argv(etcd, workdir / "etcd-data", port, peer_port),
            lambda port: requests.get(f"http://127.0.0.1:{port}/health", timeout=2).json().get("health") == "true",
            "healthy",
            logs,
            deadline,
        )
        cluster.children.append(child)
        etcd_url = f"http://127.0.0.1:{etcd_port}"

        def apiserver_ready(port: int) -> bool:
            cluster.url = f"https://127.0.0.1:{port}"
            answer = cluster.get("/readyz", timeout=2)
            return answer.status_code == 200 and answer.text.strip() == "ok"

        child, port = _start_with_free_port(
            "kube-apiserver",
            lambda port: apiserver_argv(plane, certs, etcd_url, port, service_accounts=controller_manager),
            apiserver_ready,
            "ready (/readyz)",
            logs,
            deadline,
        )
        cluster.children.append(child)
        cluster.url = f"https://127.0.0.1:{port}"
        write_kubeconfig(cluster.kubeconfig, cluster.url, cluster.ca_path, token)
        if controller_manager:
            child = _spawn("kube-controller-manager", controller_manager_argv(plane, certs, cluster.kubeconfig), logs)
            cluster.children.append(child)
            _wait_for(
                child,
                lambda: cluster.get("/api/v1/namespaces/default/serviceaccounts/default", timeout=2).status_code == 200,
                "running (no `default` ServiceAccount created)",
                deadline,
            )
    except BaseException:
        cluster.stop()
        raise
    cluster.started_in_s = time.monotonic() - started
    return cluster


@contextlib.contextmanager
def running_local_cluster(
    plane: ControlPlane, workdir: Path | None = None, *, controller_manager: bool = True, timeout: float = 120.0
) -> Iterator[LocalCluster]:
    """`start_local_cluster` in a `with` block, in a temporary directory unless `workdir` is given."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="obs-kube-")))
        cluster = start_local_cluster(plane, workdir, controller_manager=controller_manager, timeout=timeout)
        stack.callback(cluster.stop)
        yield cluster


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m observability.local.kube_apiserver",
        description="Run a local Kubernetes control plane without nodes until Ctrl-C.",
    )
    names = [p.name for p in parts.all_parts() if p.name.startswith("kube-apiserver")]
    parser.add_argument("part", nargs="?", default="kube-apiserver-1.20", choices=names or None)
    parser.add_argument("--workdir", type=Path, help="keep certs, etcd data, logs and kubeconfig here")
    parser.add_argument("--no-controller-manager", action="store_true")
    args = parser.parse_args(argv)
    try:
        plane = control_plane_of_part(args.part)
        workdir = args.workdir.resolve() if args.workdir else None
        with running_local_cluster(plane, workdir, controller_manager=not args.no_controller_manager) as cluster:
            print(f"Kubernetes {cluster.version} at {cluster.url} (ready in {cluster.started_in_s:.1f} s)")
            print(f"export KUBECONFIG={cluster.kubeconfig}")
            print("Ctrl-C stops it.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except ObservabilityError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` stops the cluster as cleanly as Ctrl-C
    sys.exit(main(sys.argv[1:]))
