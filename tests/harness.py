"""The real control plane for integration tests: etcd, kube-apiserver (RBAC on, audit log)
and a versitygw S3 server, all on loopback, built by tests/controlplane/build.sh.

Client certificates are minted on demand (CN = user, O = groups), so a test can act as
a cluster admin, a read-only user or a service account, and RBAC is really enforced.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BUILD = HERE / "controlplane" / "build.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_servers() -> Path:
    """The directory holding the server binaries (ARGODOCTOR_BIN_DIR, else built or cached)."""
    if os.environ.get("ARGODOCTOR_BIN_DIR"):
        return Path(os.environ["ARGODOCTOR_BIN_DIR"])
    out = subprocess.run(["bash", str(BUILD)], check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class Process:
    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log_path = workdir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(self.env or {})}, start_new_session=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{self.name} exited:\n{tail}")


def wait_for(fn, what: str, timeout: float = 60.0, procs: list[Process] = ()) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        for p in procs:
            p.check_alive()
        try:
            value = fn()
            if value:
                return value
        except Exception as e:
            last = e
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout}s: {last}")


class ControlPlane:
    """etcd + kube-apiserver on loopback."""

    def __init__(self, bin_dir: Path, workdir: Path):
        self.bin = bin_dir
        self.dir = workdir
        self.pki = workdir / "pki"
        self.pki.mkdir(parents=True, exist_ok=True)
        self.audit_log = workdir / "audit.log"
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.procs: list[Process] = []
        self._kubeconfigs: dict[tuple[str, tuple[str, ...]], Path] = {}

    # ---- certificates
    def _make_pki(self) -> None:
        p = self.pki
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                 "-days", "3", "-subj", "/CN=argodoctor-test-ca", cwd=p)
        (p / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
                                   "extendedKeyUsage=serverAuth\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=kube-apiserver", cwd=p)
        _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "server.crt", "-days", "3", "-extfile", "san.cnf", cwd=p)
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=p)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=p)

    def kubeconfig(self, user: str = "admin", groups: tuple[str, ...] = ("system:masters",)) -> Path:
        """A kubeconfig authenticating as `user` in `groups` by a freshly minted client certificate."""
        key = (user, tuple(groups))
        if key in self._kubeconfigs:
            return self._kubeconfigs[key]
        p = self.pki
        stem = f"client-{len(self._kubeconfigs)}"
        subj = "/CN=" + user + "".join(f"/O={g}" for g in groups)
        (p / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{stem}.key", "-out", f"{stem}.csr",
                 "-subj", subj, cwd=p)
        _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{stem}.crt", "-days", "3", "-extfile", "client.cnf", cwd=p)
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.url,
                                                      "certificate-authority": str(p / "ca.crt")}}],
            "users": [{"name": user, "user": {"client-certificate": str(p / f"{stem}.crt"),
                                              "client-key": str(p / f"{stem}.key")}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
        }
        path = self.dir / f"kubeconfig-{stem}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        self._kubeconfigs[key] = path
        return path

    def service_account_kubeconfig(self, namespace: str, name: str) -> Path:
        """Acting as a ServiceAccount: its username and groups, as the authenticator would set them."""
        return self.kubeconfig(f"system:serviceaccount:{namespace}:{name}",
                               ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                                "system:authenticated"))

    # ---- processes
    def start(self) -> None:
        self._make_pki()
        etcd_port, peer_port = free_port(), free_port()
        etcd = Process("etcd", [
            str(self.bin / "etcd"), "--data-dir", str(self.dir / "etcd"), "--name", "default",
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync", "--log-level", "error"], self.dir)
        etcd.start()
        self.procs.append(etcd)
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{etcd_port}/health", timeout=2).status == 200,
                 "etcd", procs=[etcd])
        policy = self.dir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump({"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
                                          "omitStages": ["RequestReceived"],
                                          "rules": [{"level": "Metadata"}]}))
        p = self.pki
        api = Process("kube-apiserver", [
            str(self.bin / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--tls-cert-file={p / 'server.crt'}", f"--tls-private-key-file={p / 'server.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            f"--audit-log-path={self.audit_log}", f"--audit-policy-file={policy}",
            "--audit-log-mode=blocking",
            f"--cert-dir={self.dir / 'certs'}",
            "--enable-priority-and-fairness=false",
            "--v=0"], self.dir)
        api.start()
        self.procs.append(api)
        admin = self.kubeconfig()
        wait_for(lambda: self._readyz(admin), "kube-apiserver", timeout=120, procs=[api])

    def _readyz(self, kubeconfig: Path) -> bool:
        import ssl

        cfg = yaml.safe_load(kubeconfig.read_text())
        u = cfg["users"][0]["user"]
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(u["client-certificate"], u["client-key"])
        with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=3) as r:
            return r.status == 200

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def version(self) -> str:
        return subprocess.run([str(self.bin / "kube-apiserver"), "--version"], capture_output=True,
                              text=True).stdout.strip()

    def audit_events(self, since_line: int = 0) -> list[dict[str, Any]]:
        if not self.audit_log.exists():
            return []
        lines = self.audit_log.read_text().splitlines()[since_line:]
        return [json.loads(line) for line in lines if line.strip()]

    def audit_mark(self) -> int:
        return len(self.audit_log.read_text().splitlines()) if self.audit_log.exists() else 0


class S3Server:
    """versitygw with the posix backend, root credentials known to the tests."""

    access_key = "argodoctor-root"
    secret_key = "argodoctor-root-secret-key"

    def __init__(self, bin_dir: Path, workdir: Path, tls: tuple[Path, Path] | None = None):
        self.bin = bin_dir
        self.dir = workdir
        self.tls = tls  # (certificate, key): serve HTTPS
        self.data = workdir / "s3data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.iam = workdir / "iam"
        self.iam.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.admin_port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.proc: Process | None = None

    def start(self) -> None:
        self.proc = Process("versitygw", [
            str(self.bin / "versitygw"), "--access", self.access_key, "--secret", self.secret_key,
            "--port", self.endpoint, "--admin-port", f"127.0.0.1:{self.admin_port}",
            "--iam-dir", str(self.iam),
            *(["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else []),
            "posix", str(self.data)], self.dir)
        self.proc.start()
        wait_for(self._up, "versitygw", procs=[self.proc])

    def _up(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def create_user(self, access_key: str, secret_key: str, role: str = "user") -> None:
        """An IAM user of the gateway's own (roles: admin, userplus, user)."""
        subprocess.run([str(self.bin / "versitygw"), "admin", "--access", self.access_key, "--secret",
                        self.secret_key, "--endpoint-url", f"http://127.0.0.1:{self.admin_port}", "create-user",
                        "--access", access_key, "--secret", secret_key, "--role", role],
                       check=True, capture_output=True)

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        from minio import Minio

        return Minio(self.endpoint, access_key=access_key or self.access_key,
                     secret_key=secret_key or self.secret_key, secure=False, region="us-east-1")


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="argodoctor-cp-"))


def remove_workdir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
