"""Where the API server is and who argodoctor is to it: kubeconfig files (merged as kubectl merges
them) or the in-cluster service account, read without the `kubernetes` package.

Read here because importing `kubernetes` costs half a second (every generated model class), a third of
a whole check of a 500-namespace cluster (issue 11). The rules follow client-go's clientcmd
(tools/clientcmd/loader.go `ClientConfigLoadingRules.Load`, client_config.go, at kubernetes v1.35):

- `--kubeconfig FILE` alone; else every file of $KUBECONFIG (missing ones skipped); else ~/.kube/config;
  with none of them, the in-cluster config (rest/config.go `InClusterConfig`).
- Merged: the first file to name a cluster, user or context wins it, and the first `current-context` wins.
- Relative paths in a file (certificate-authority, client-certificate, client-key, tokenFile) are relative
  to that file's directory (`ResolveLocalPaths`).
- Credentials: client certificate and key (file or data), `token` before `tokenFile`, username/password,
  an `exec` plugin (client-go's plugin/pkg/client/auth/exec, ExecCredential v1/v1beta1). A legacy
  `auth-provider` (oidc, gcp, azure) is left to the `kubernetes` package, the one path that imports it.
- Impersonation: the user's `as` / `as-groups`, or --as / --as-group, sent as Impersonate-* headers.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import time
from typing import Any

from ..errors import UserError

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # rest/config.go: token, ca.crt, namespace
TOKEN_REREAD = 60.0  # seconds: a projected token is rotated on disk (client-go re-reads it each minute)


@dataclasses.dataclass
class Connection:
    """What a request needs: the server, how to trust it, and the caller's credentials."""

    name: str  # the context's name, or "in-cluster"
    server: str
    namespace: str | None = None  # the context's namespace (or the in-cluster pod's)
    ca_file: str | None = None
    ca_data: str | None = None  # PEM
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    cert_data: bytes | None = None  # PEM
    key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    exec_config: dict[str, Any] | None = None
    auth_provider: str | None = None  # the name of a legacy auth-provider (its token comes from `kubernetes`)
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # the kubeconfig files read, for messages and the auth-provider fallback
    _token_read_at: float = dataclasses.field(default=0.0, repr=False)
    _exec_expiry: float | None = dataclasses.field(default=None, repr=False)

    def __repr__(self) -> str:  # never credentials in tracebacks or logs
        return f"Connection({self.name!r}, {self.server!r})"

    def bearer(self) -> str | None:
        """The bearer token for the next request: re-read from tokenFile each minute, re-run from the exec
        plugin once it expires."""
        if self.token_file and time.monotonic() - self._token_read_at > TOKEN_REREAD:
            self.token = _read_text(self.token_file, "token file").strip()
            self._token_read_at = time.monotonic()
        if self.exec_config is not None and (self._exec_expiry is None or time.time() >= self._exec_expiry):
            self._run_exec()
        return self.token

    def _run_exec(self) -> None:
        status = run_exec_plugin(self.exec_config or {}, self.server, self.ca_data)
        self.token = status.get("token") or self.token
        if status.get("clientCertificateData"):
            self.cert_data = str(status["clientCertificateData"]).encode()
            self.key_data = str(status.get("clientKeyData") or "").encode()
        expiry = status.get("expirationTimestamp")
        self._exec_expiry = _timestamp(expiry) if expiry else float("inf")


def load(kubeconfig: str | None = None, context: str | None = None, *, as_user: str | None = None,
         as_groups: tuple[str, ...] = ()) -> Connection:
    """The connection of --kubeconfig / $KUBECONFIG / ~/.kube/config, or in-cluster without any."""
    files = _files(kubeconfig)
    if not files:
        if context:
            raise UserError(f"--context {context}: no kubeconfig found (use --kubeconfig or set KUBECONFIG)")
        conn = in_cluster()
    else:
        conn = _from_files(files, context)
    if as_user or as_groups:
        conn.impersonate_user, conn.impersonate_groups = as_user, tuple(as_groups)
    if conn.impersonate_groups and not conn.impersonate_user:
        raise UserError("--as-group needs --as (Kubernetes impersonates groups only together with a user)")
    return conn


def _files(explicit: str | None) -> list[str]:
    if explicit:
        if not os.path.isfile(explicit):
            raise UserError(f"kubeconfig {explicit} does not exist")
        return [explicit]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [p for i, p in enumerate(listed) if p not in listed[:i] and os.path.isfile(p)]
    home = os.path.expanduser("~/.kube/config")
    return [home] if os.path.isfile(home) else []


def _from_files(files: list[str], context: str | None) -> Connection:
    merged: dict[str, dict[str, tuple[dict[str, Any], str]]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = None
    for path in files:
        doc = _parse(path)
        base = os.path.dirname(os.path.abspath(path))
        for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            entries = doc.get(section) or []
            if not isinstance(entries, list):
                raise UserError(f"kubeconfig {path}: `{section}` is not a list")
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    body = entry.get(key)
                    merged[section].setdefault(entry["name"], (body if isinstance(body, dict) else {}, base))
        if not current and isinstance(doc.get("current-context"), str):
            current = doc["current-context"]
    name = context or current
    where = files[0] if len(files) == 1 else f"the merged kubeconfig ({', '.join(files)})"
    if not name:
        raise UserError(f"{where} has no current-context: pass --context "
                        f"(one of {', '.join(sorted(merged['contexts'])) or 'none defined'})")
    if name not in merged["contexts"]:
        raise UserError(f"context {name} is not in {where} "
                        f"(it has {', '.join(sorted(merged['contexts'])) or 'none'})")
    ctx, _ = merged["contexts"][name]
    cluster, cluster_dir = merged["clusters"].get(str(ctx.get("cluster")), (None, ""))
    if cluster is None:
        raise UserError(f"context {name} names cluster {ctx.get('cluster')!r}, which {where} does not define")
    if not isinstance(cluster.get("server"), str) or not cluster["server"]:
        raise UserError(f"cluster {ctx.get('cluster')} in {where} has no server address")
    user, user_dir = merged["users"].get(str(ctx.get("user")), ({}, ""))
    conn = Connection(
        name=name, server=cluster["server"].rstrip("/"), files=tuple(files),
        namespace=ctx.get("namespace") if isinstance(ctx.get("namespace"), str) else None,
        ca_file=_path(cluster.get("certificate-authority"), cluster_dir),
        ca_data=_decoded(cluster.get("certificate-authority-data"), "certificate-authority-data", name),
        insecure=cluster.get("insecure-skip-tls-verify") is True,
        tls_server_name=cluster.get("tls-server-name") or None, proxy_url=cluster.get("proxy-url") or None,
        cert_file=_path(user.get("client-certificate"), user_dir), key_file=_path(user.get("client-key"), user_dir),
        token=user.get("token") or None, username=user.get("username") or None,
        password=user.get("password") or None,
        exec_config=user.get("exec") if isinstance(user.get("exec"), dict) else None,
        auth_provider=(user.get("auth-provider") or {}).get("name") if isinstance(user.get("auth-provider"), dict)
        else None,
        impersonate_user=user.get("as") or None,
        impersonate_groups=tuple(g for g in user.get("as-groups") or [] if isinstance(g, str)))
    cert = _decoded(user.get("client-certificate-data"), "client-certificate-data", name)
    key = _decoded(user.get("client-key-data"), "client-key-data", name)
    conn.cert_data, conn.key_data = (cert.encode() if cert else None), (key.encode() if key else None)
    if not conn.token and user.get("tokenFile"):
        conn.token_file = _path(user["tokenFile"], user_dir)
    if conn.exec_config is not None and conn.exec_config.get("command"):
        command = str(conn.exec_config["command"])
        if os.sep in command and not os.path.isabs(command):  # as client-go: relative to the kubeconfig
            conn.exec_config = dict(conn.exec_config, command=os.path.join(user_dir, command))
    if conn.auth_provider:
        conn.token = _auth_provider_token(conn)
    return conn


def in_cluster() -> Connection:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    token = os.path.join(SA_DIR, "token")
    if not host or not port or not os.path.isfile(token):
        raise UserError("no kubeconfig found (use --kubeconfig, set KUBECONFIG, or run inside a cluster)")
    ns_file = os.path.join(SA_DIR, "namespace")
    namespace = _read_text(ns_file, "namespace file").strip() if os.path.isfile(ns_file) else None
    host = f"[{host}]" if ":" in host else host  # IPv6
    ca = os.path.join(SA_DIR, "ca.crt")
    return Connection(name="in-cluster", server=f"https://{host}:{port}", namespace=namespace, token_file=token,
                      ca_file=ca if os.path.isfile(ca) else None)


def run_exec_plugin(config: dict[str, Any], server: str, ca_data: str | None) -> dict[str, Any]:
    """The `status` of the ExecCredential an exec plugin prints (token or client certificate)."""
    command = config.get("command")
    if not isinstance(command, str) or not command:
        raise UserError("the kubeconfig user's exec plugin has no command")
    api_version = str(config.get("apiVersion") or "client.authentication.k8s.io/v1")
    spec: dict[str, Any] = {"interactive": False}
    if config.get("provideClusterInfo"):
        spec["cluster"] = {"server": server, **({"certificate-authority-data": base64.b64encode(
            ca_data.encode()).decode()} if ca_data else {})}
    env = dict(os.environ)
    env.update({str(e.get("name")): str(e.get("value", "")) for e in config.get("env") or [] if isinstance(e, dict)})
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "spec": spec})
    argv = [command, *[str(a) for a in config.get("args") or []]]
    hint = f" ({config['installHint'].strip()})" if isinstance(config.get("installHint"), str) else ""
    import subprocess  # only for exec plugins: every run pays for a module-level import

    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=60,
                              check=False)
    except FileNotFoundError:
        raise UserError(f"the kubeconfig's exec plugin {command} is not installed{hint}") from None
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"the kubeconfig's exec plugin {command} failed: {e}") from None
    if proc.returncode != 0:
        raise UserError(f"the kubeconfig's exec plugin {command} exited {proc.returncode}{hint}")
    try:
        status = json.loads(proc.stdout).get("status")
    except (ValueError, AttributeError):
        status = None
    if not isinstance(status, dict) or not (status.get("token") or status.get("clientCertificateData")):
        raise UserError(f"the kubeconfig's exec plugin {command} printed no ExecCredential with a token "
                        "or client certificate")
    return status


def _auth_provider_token(conn: Connection) -> str | None:
    """A legacy auth-provider's bearer token, through the `kubernetes` package's own loader."""
    from kubernetes import client, config

    cfg = client.Configuration()
    try:
        config.load_kube_config(config_file=os.pathsep.join(conn.files), context=conn.name,
                                client_configuration=cfg)
    except Exception as e:  # the loader raises many types; all mean the provider cannot authenticate
        raise UserError(f"auth-provider {conn.auth_provider} of context {conn.name}: {e}") from None
    value = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
    return value.split(" ", 1)[-1] if value else None


def _parse(path: str) -> dict[str, Any]:
    from . import safe_yaml

    try:
        doc = safe_yaml.load(_read_text(path, "kubeconfig"))
    except (safe_yaml.Invalid, safe_yaml.TooComplex) as e:
        raise UserError(f"kubeconfig {path} is not valid YAML: {e}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise UserError(f"kubeconfig {path} is not a kubeconfig (a mapping with clusters, users, contexts)")
    return doc


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {what} {path}: {e.strerror if isinstance(e, OSError) else e}") from None


def _path(value: Any, base: str) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value if os.path.isabs(value) else os.path.join(base, value)


def _decoded(value: Any, field: str, context: str) -> str | None:
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise UserError(f"{field} of context {context} is not base64 PEM") from None


def _timestamp(text: Any) -> float:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0  # unreadable: ask the plugin again next time
