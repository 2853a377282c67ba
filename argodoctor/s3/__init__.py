"""S3 access for the live artifact checks, through one small interface over the minio SDK.

Routes to the endpoint, in order of preference:
  1. `--s3-endpoint HOST:PORT`: an explicit override (e.g. a reachable address of the store);
  2. direct: the repository's own endpoint, when argodoctor runs in the cluster or the name
     is not a cluster-internal Service name;
  3. port-forward: through the API server to a ready pod behind the in-cluster Service, when
     argodoctor runs outside the cluster and the endpoint names a Service.
Every call has a connect and a read timeout, and no retries: a hanging endpoint costs seconds.
"""
from __future__ import annotations

import base64
import dataclasses
import io
import os
import threading
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

# socket, ssl and uuid are imported where used: plugins import this module, `argodoctor list` included.
if TYPE_CHECKING:
    import ssl

    from ..engine.context import Context

from .. import argo
from ..argo import S3Settings
from ..errors import UserError
from ..view import names
from ..view.cluster import IMPLIED_BY_FILES, KINDS
from . import probes

PROBE_PREFIX = "argodoctor-probe/"
AUTH_ERRORS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
               "InvalidSecurity", "AuthorizationHeaderMalformed"}


@dataclasses.dataclass(frozen=True)
class ServiceRef:
    namespace: str
    name: str
    port: int


def service_of(settings: S3Settings, workflow_ns: str, namespaces: AbstractSet[str]) -> ServiceRef | None:
    """The in-cluster Service an endpoint names, as a workflow pod in workflow_ns resolves it:
    `name` (the pod's own namespace), `name.ns`, `name.ns.svc`, `name.ns.svc.<cluster domain>`."""
    host = settings.host
    if not host or _is_ip(host):
        return None
    labels = host.split(".")
    if len(labels) == 1:
        return ServiceRef(workflow_ns, labels[0], settings.port)
    if len(labels) >= 3 and labels[2] == "svc":
        return ServiceRef(labels[1], labels[0], settings.port)
    if len(labels) == 2 and labels[1] in namespaces:
        return ServiceRef(labels[1], labels[0], settings.port)
    return None


def _is_ip(host: str) -> bool:
    import socket
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.strip("[]"))
        return True
    except (OSError, ValueError):  # ValueError: a NUL in the text
        return False


def control_character(text: str) -> str | None:
    """The first control character in text, shown escaped ('\\x00'), or None: no host name holds one,
    and the resolver refuses a NUL outright (ValueError), so such an endpoint is never looked up."""
    found = next((c for c in text if ord(c) < 0x20 or ord(c) == 0x7F), None)
    return None if found is None else repr(found)[1:-1]


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


@dataclasses.dataclass
class Credentials:
    access_key: str | None
    secret_key: str | None
    session_token: str | None = None
    source: str = ""  # "Secret team-a/minio (accesskey, secretkey)", for messages; never the values

    def __repr__(self) -> str:  # keep values out of tracebacks and logs
        return f"Credentials({self.source})"


def _secret(kube: Any, namespace: str, name: str) -> dict[str, Any]:
    """GET of a Secret a repository names; a name no Secret can have (names.InvalidName) is never sent."""
    return kube.request("GET", KINDS["Secret"].path(namespace, names.check("Secret", name)))


def read_credentials(kube: Any, namespace: str, s: S3Settings) -> Credentials:
    """The repository's keys, read live from the workflow namespace's Secrets (values stay in memory)."""
    def value(ref) -> str | None:
        if ref is None or not ref.name:
            return None
        raw = (_secret(kube, namespace, ref.name).get("data") or {}).get(ref.key)
        return base64.b64decode(raw).decode() if raw else None

    names = sorted({r.name for r in (s.access_key, s.secret_key) if r is not None and r.name})
    keys = ", ".join(r.key for r in (s.access_key, s.secret_key) if r is not None)
    return Credentials(value(s.access_key), value(s.secret_key), value(s.session_token),
                       f"Secret {namespace}/{'+'.join(names) or '?'} ({keys})")


def read_ca(kube: Any, namespace: str, s: S3Settings) -> str | None:
    if s.ca is None or not s.ca.name:
        return None
    raw = (_secret(kube, namespace, s.ca.name).get("data") or {}).get(s.ca.key)
    return base64.b64decode(raw).decode() if raw else None


@dataclasses.dataclass
class Target:
    """Where S3 requests actually go, and how argodoctor got there."""

    host: str
    port: int
    secure: bool
    route: str  # "direct", "--s3-endpoint override", "port-forward to pod argo/minio-0"
    server_name: str  # the name TLS verifies (the repository's host, even through a tunnel)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class Probe:
    """The reachability, credentials, bucket and write probes of one repository."""

    def __init__(self, settings: S3Settings, target: Target, credentials: Credentials | Any | None,
                 ca_pem: str | None = None, connect_timeout: float = 3.0, read_timeout: float = 10.0):
        """credentials: the keys, or a callable reading them when first needed (reachability needs none)."""
        self.s = settings
        self.target = target
        self._credentials = credentials
        self.ca_pem = ca_pem
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    @property
    def credentials(self) -> Credentials | None:
        if callable(self._credentials):
            self._credentials = self._credentials()
        return self._credentials

    # -- layer by layer, for AD204
    def reach(self) -> str | None:
        """None when DNS, TCP, TLS and an HTTP answer all work; else what failed."""
        import socket
        import ssl
        t = self.target
        try:
            infos = _resolve(t.host, t.port, self.connect_timeout)
        except OSError as e:
            return f"DNS lookup of {t.host} failed: {e}"
        try:
            sock = socket.create_connection(infos, timeout=self.connect_timeout)
        except TimeoutError:
            return f"TCP connect to {t.address} timed out after {self.connect_timeout:g}s"
        except OSError as e:
            return f"TCP connect to {t.address} failed: {e.strerror or e}"
        try:
            sock.settimeout(self.read_timeout)
            if t.secure:
                try:
                    sock = self._tls_context().wrap_socket(sock, server_hostname=t.server_name)
                except ssl.SSLCertVerificationError as e:
                    return f"TLS to {t.address} failed: certificate not trusted ({e.verify_message})"
                except (ssl.SSLError, OSError) as e:
                    hint = " (is it plain HTTP? then set insecure: true)" if "WRONG_VERSION" in str(e) else ""
                    return f"TLS handshake with {t.address} failed: {e}{hint}"
            sock.sendall(f"HEAD / HTTP/1.1\r\nHost: {t.server_name}\r\nConnection: close\r\n\r\n".encode())
            first = sock.recv(16)
            if not first.startswith(b"HTTP/"):
                return f"{t.address} accepted the connection but did not answer HTTP"
        except TimeoutError:
            return f"{t.address} accepted the connection but sent no answer within {self.read_timeout:g}s"
        except OSError as e:
            return f"{t.address} dropped the connection: {e.strerror or e}"
        finally:
            sock.close()
        return None

    def _tls_context(self) -> ssl.SSLContext:
        import ssl
        ctx = ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else ssl.create_default_context()
        return ctx

    def client(self):
        import urllib3
        from minio import Minio

        t = self.target
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=self.connect_timeout, read=self.read_timeout),
            retries=False, ssl_context=self._tls_context() if t.secure else None,
            **({"assert_hostname": t.server_name, "server_hostname": t.server_name}
               if t.secure and t.server_name != t.host else {}))
        c = self.credentials
        return Minio(t.address, access_key=c.access_key if c else None, secret_key=c.secret_key if c else None,
                     session_token=c.session_token if c else None, secure=t.secure,
                     region=self.s.region or "us-east-1", http_client=http)

    def authenticate(self) -> tuple[bool, str]:
        """(credentials accepted?, detail). Uses a bucket listing, whose error body names the reason."""
        from minio.error import S3Error

        try:
            next(iter(self.client().list_objects(self.s.bucket, prefix=PROBE_PREFIX)), None)
            return True, "listed the bucket"
        except S3Error as e:
            if e.code in AUTH_ERRORS:
                return False, probes.summary(e)
            return True, f"authenticated ({probes.summary(e)})"  # NoSuchBucket, AccessDenied: keys accepted

    def bucket_exists(self) -> bool:
        return self.client().bucket_exists(self.s.bucket)

    def write_cycle(self) -> str | None:
        """Put, get and delete a probe object under argodoctor-probe/; None on success, else the failed step.
        The probe object is always deleted when it was written."""
        import uuid

        from minio.error import S3Error

        client = self.client()
        name = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        payload = b"argodoctor probe\n"
        step = "PutObject"
        written = False
        try:
            client.put_object(self.s.bucket, name, io.BytesIO(payload), len(payload))
            written = True
            step = "GetObject"
            resp = client.get_object(self.s.bucket, name)
            try:
                if resp.read() != payload:
                    return f"GetObject {name} returned different bytes"
            finally:
                resp.close()
                resp.release_conn()
            step = "DeleteObject"
            client.remove_object(self.s.bucket, name)
            written = False
            return None
        except S3Error as e:
            return f"{step} on {self.s.bucket}/{name} failed: {probes.summary(e)}"
        finally:
            if written:
                try:
                    client.remove_object(self.s.bucket, name)
                except Exception:
                    pass


def _resolve(host: str, port: int, timeout: float) -> tuple[str, int]:
    """getaddrinfo has no timeout of its own: run it in a thread and give up after `timeout`."""
    result: dict[str, Any] = {}

    def lookup() -> None:
        import socket
        try:
            result["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            result["error"] = e

    th = threading.Thread(target=lookup, daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        raise OSError(f"no answer within {timeout:g}s")
    if "error" in result:
        raise result["error"]
    family, _, _, _, addr = result["infos"][0]
    return addr[0], addr[1]


# ---------------------------------------------------------------- Services and routes

def _ready_addresses(endpoints: dict[str, Any] | None, port: int, service: dict[str, Any]) -> list[tuple[dict, int]]:
    """(address, target port) of each ready endpoint serving the Service port `port`."""
    if not endpoints:
        return []
    svc_port = next((p for p in (service.get("spec") or {}).get("ports") or [] if p.get("port") == port), None)
    out = []
    for subset in endpoints.get("subsets") or []:
        ports = subset.get("ports") or []
        match = next((p for p in ports if svc_port and p.get("name", "") == svc_port.get("name", "")), None)
        if match is None and len(ports) == 1:
            match = ports[0]
        if match is None or not isinstance(match.get("port"), int):  # the API server requires a port number
            continue
        out += [(a, match["port"]) for a in subset.get("addresses") or []]
    return out


@dataclasses.dataclass
class ServiceState:
    ref: ServiceRef
    service: dict[str, Any] | None
    has_port: bool
    ready: list[tuple[dict, int]]  # (endpoint address, pod port)
    # spec.externalName of a `type: ExternalName` Service: cluster DNS answers the Service's name with a
    # CNAME to it, and a pod connects there on the endpoint's own port; such a Service has no endpoints
    # and its ports are not used (Kubernetes docs, Service "Type ExternalName")
    external_name: str | None = None
    # its Endpoints are those check -f infers from the files' workloads: ready once applied, not now
    planned: bool = False


def service_state(view: Any, ref: ServiceRef) -> ServiceState:
    svc = view.get("Service", ref.namespace, ref.name)
    if svc is None:
        return ServiceState(ref, None, False, [])
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName" and isinstance(spec.get("externalName"), str) and spec["externalName"]:
        return ServiceState(ref, svc, True, [], external_name=spec["externalName"].rstrip("."))
    has_port = any(p.get("port") == ref.port for p in spec.get("ports") or [])
    endpoints = view.get("Endpoints", ref.namespace, ref.name)
    ready = _ready_addresses(endpoints, ref.port, svc) if has_port else []
    planned = IMPLIED_BY_FILES in (((endpoints or {}).get("metadata") or {}).get("annotations") or {})
    return ServiceState(ref, svc, has_port, ready, planned=planned)


class NoRoute(Exception):
    """argodoctor has no way to reach the endpoint from where it runs. broken: the cluster is at fault
    (the Service has no ready endpoint, so no workflow pod reaches the store either); otherwise only
    argodoctor's position is (endpoints that are not pods, which a port-forward cannot reach)."""

    def __init__(self, message: str, *, broken: bool = True):
        super().__init__(message)
        self.broken = broken


class PortForward:
    """A local listener relaying each connection through the API server to a pod's port."""

    def __init__(self, kube: Any, namespace: str, pod: str, port: int):
        import socket
        self.kube, self.namespace, self.pod, self.remote_port = kube, namespace, pod, port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        from kubernetes import client
        from kubernetes.stream import portforward

        # An ApiClient of this relay's own: kubernetes.stream.portforward swaps the call_api of the client it
        # is given while it connects, which on the shared one would hijack other threads' requests (and,
        # when two relays interleave, leave it swapped for good).
        core = client.CoreV1Api(client.ApiClient(self.kube.client_configuration()))
        while True:
            try:
                local, _ = self.listener.accept()
            except OSError:
                return
            try:
                pf = portforward(core.connect_get_namespaced_pod_portforward, self.pod, self.namespace,
                                 ports=str(self.remote_port), _request_timeout=self.kube.timeout)
                remote = pf.socket(self.remote_port)
                remote.setblocking(True)
            except Exception:
                local.close()
                continue
            for a, b in ((local, remote), (remote, local)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self.listener.close()


def _pipe(src: Any, dst: Any) -> None:
    import socket
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        # shutdown before close: the other direction's thread may be blocked in recv on one of these
        # sockets, and a bare close() neither wakes it nor sends the FIN (the peer would wait forever)
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


def choose_target(s: S3Settings, workflow_ns: str, *, view: Any, namespaces: AbstractSet[str],
                  override: str | None, port_forward: Any) -> Target:
    """The route to the endpoint (see the module docstring). port_forward(ns, pod, port) -> local port."""
    secure = not s.insecure
    if override:
        host, _, port = override.rpartition(":")
        if not host or not port.isdigit():
            raise NoRoute(f"--s3-endpoint {override!r} is not HOST:PORT")
        return Target(host, int(port), secure, "--s3-endpoint override", host)
    ref = service_of(s, workflow_ns, namespaces)
    if ref is None or in_cluster():
        return Target(s.host, s.port, secure, "direct", s.host)
    state = service_state(view, ref)
    if state.service is None and view.unseen(ref.namespace):
        raise NoRoute(f"{s.endpoint} is the in-cluster Service {ref.namespace}/{ref.name}, but "
                      f"{view.unseen(ref.namespace)}", broken=False)
    if state.external_name:  # where a workflow pod's connection goes, reachable from here as well
        return Target(state.external_name, s.port, secure,
                      f"ExternalName Service {ref.namespace}/{ref.name} to {state.external_name}", s.host)
    pods = [(a["targetRef"], port) for a, port in state.ready if (a.get("targetRef") or {}).get("kind") == "Pod"]
    if not pods and state.ready:
        addresses = ", ".join(sorted({str(a.get("ip")) for a, _ in state.ready}))
        raise NoRoute(f"{s.endpoint} is the in-cluster Service {ref.namespace}/{ref.name}, whose ready endpoints "
                      f"({addresses}) are not pods, which argodoctor cannot port-forward to; pass --s3-endpoint "
                      "HOST:PORT to reach the store another way", broken=False)
    if not pods:
        raise NoRoute(f"{s.endpoint} is the in-cluster Service {ref.namespace}/{ref.name}, which has no ready "
                      "pod to port-forward to (see AD501); pass --s3-endpoint HOST:PORT to reach the store "
                      "another way")
    pod, port = pods[0]
    local = port_forward(pod.get("namespace") or ref.namespace, pod["name"], port)
    return Target("127.0.0.1", local, secure, f"port-forward to pod {ref.namespace}/{pod['name']}:{port}", s.host)


# ---------------------------------------------------------------- per-run probes

def _by_protocol(ctx: Context) -> dict[str, tuple[list[tuple[argo.Repository, argo.S3Settings]],
                                                 list[argo.Repository]]]:
    """Per workflow namespace: (its S3 repositories with their settings, its other readable ones),
    parsed once per run rather than once per check and namespace."""
    def compute() -> dict[str, tuple[list[tuple[argo.Repository, argo.S3Settings]], list[argo.Repository]]]:
        return {ns: _split(ctx.repositories(ns)) for ns in ctx.workflow_namespaces}
    return ctx.once("repositories-by-protocol", compute)


def _split(repos: list[argo.Repository]) -> tuple[list[tuple[argo.Repository, argo.S3Settings]],
                                                  list[argo.Repository]]:
    s3, other = [], []
    for repo in repos:
        settings = argo.s3_settings(repo.spec)
        if settings is not None:
            s3.append((repo, settings))
        elif repo.spec is not None and repo.kind is not None:
            other.append(repo)
    return s3, other


def s3_repositories(ctx: Context, ns: str) -> Iterator[tuple[argo.Repository, argo.S3Settings]]:
    split = _by_protocol(ctx).get(ns)
    yield from (split if split is not None else _split(ctx.repositories(ns)))[0]


def other_repositories(ctx: Context, ns: str) -> Iterator[argo.Repository]:
    """The readable repositories of ns that are not S3: the probes do not speak their protocols."""
    split = _by_protocol(ctx).get(ns)
    yield from (split if split is not None else _split(ctx.repositories(ns)))[1]


def not_probed(repo: argo.Repository) -> str:
    return (f"{repo.kind} repository ({repo.source}): argodoctor's live probes speak S3 only, so this one is "
            "not probed")


def known_namespaces(ctx: Context) -> frozenset[str]:
    """Every namespace a `name.ns` endpoint may name: the cluster's and the workflow namespaces.
    Built once per run, not once per namespace that asks."""
    return ctx.once("known-namespaces", lambda: frozenset(
        n["metadata"]["name"] for n in ctx.view.list("Namespace")) | frozenset(ctx.workflow_namespaces))


def service_namespaces(ctx: Context) -> dict[str, list[str]]:
    """Service name -> the namespaces holding a Service of that name, sorted; indexed once per run."""
    def index() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for o in ctx.view.list("Service"):
            out.setdefault(o["metadata"]["name"], []).append(o["metadata"]["namespace"])
        return {name: sorted(nss) for name, nss in out.items()}
    return ctx.once("service-namespaces", index)


def _probe(ctx: Context, ns: str, s: argo.S3Settings, secret_ns: str | None = None) -> Probe:
    """A probe of settings s as a workflow pod in ns sees them; keys read from secret_ns (default ns)."""
    kube = ctx.view.kube
    namespaces = known_namespaces(ctx)

    def port_forward(pod_ns: str, pod: str, port: int) -> int:
        return ctx.once(f"port-forward:{pod_ns}/{pod}:{port}",
                        lambda: PortForward(kube, pod_ns, pod, port)).port
    target = choose_target(s, ns, view=ctx.view, namespaces=namespaces,
                           override=ctx.options.s3_endpoint, port_forward=port_forward)
    creds = None if s.use_sdk_creds else (lambda: read_credentials(kube, secret_ns or ns, s))
    ca = read_ca(kube, secret_ns or ns, s) if target.secure else None
    return Probe(s, target, creds, ca, ctx.options.s3_connect_timeout, ctx.options.s3_read_timeout)


def probe(ctx: Context, ns: str, repo: argo.Repository, s: argo.S3Settings) -> Probe:
    """The S3 probe of one namespace's repository, built once per run (raises NoRoute)."""
    return ctx.once(f"s3-probe:{ns}:{repo.source}:{repo.used_by}", lambda: _probe(ctx, ns, s))


def bucket_client(ctx: Context, bucket: str, secret: str | None = None) -> Any:
    """A minio client for `bucket` at the controller namespace's artifact repository endpoint (or
    --s3-endpoint), with the repository's keys or those of `secret` (NAMESPACE/NAME holding
    accesskey and secretkey); for reports stored in S3."""
    home = ctx.controller.namespace
    repo = next((r for r in ctx.repositories(home) if r.used_by == "default"), None)
    settings = argo.s3_settings(repo.spec if repo else None)
    if settings is None and not ctx.options.s3_endpoint:
        raise UserError("s3:// reports need an S3 artifact repository to take the endpoint from, or --s3-endpoint")
    settings = dataclasses.replace(settings or argo.s3_settings({"s3": {"insecure": True}}), bucket=bucket)
    secret_ns = home
    if secret:
        secret_ns, _, name = secret.partition("/")
        if not name:
            raise UserError("--report-s3-secret takes NAMESPACE/NAME")
        why = names.invalid("Namespace", secret_ns) or names.invalid("Secret", name)
        if why:
            raise UserError(f"--report-s3-secret {secret}: {why}")
        settings = dataclasses.replace(settings, access_key=argo.SecretRef("accesskey", name, "accesskey"),
                                       secret_key=argo.SecretRef("secretkey", name, "secretkey"))
    return _probe(ctx, home, settings, secret_ns).client()
