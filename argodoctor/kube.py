"""The one place argodoctor talks HTTP to a Kubernetes API server.

Uses the `kubernetes` package only to load kubeconfig / in-cluster config and
to sign requests; responses are parsed as plain JSON dicts (the generated
model classes are slow at scale). Every request has a (connect, read) timeout.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import urllib3

from .errors import KubeError, UserError

log = logging.getLogger(__name__)

APPLY_PATCH = "application/apply-patch+yaml"
FIELD_MANAGER = "argodoctor"


class Kube:
    def __init__(self, kubeconfig: str | None = None, context: str | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0)):
        from kubernetes import client, config

        cfg = client.Configuration()
        path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or os.path.expanduser(
            "~/.kube/config")
        if kubeconfig and not os.path.exists(kubeconfig):
            raise UserError(f"kubeconfig {kubeconfig} does not exist")
        if os.path.exists(path):
            try:
                config.load_kube_config(config_file=path, context=context, client_configuration=cfg)
            except Exception as e:  # the loader raises many types; all mean bad config
                raise UserError(f"cannot load kubeconfig {path}: {e}") from None
            self.name = context or _current_context(path)
        else:
            try:
                config.load_incluster_config(client_configuration=cfg)
            except Exception:
                raise UserError("no kubeconfig found (use --kubeconfig, set KUBECONFIG, "
                                "or run inside a cluster)") from None
            self.name = "in-cluster"
        cfg.retries = False  # fail fast; the timeout bounds each request
        self.host = cfg.host
        self.timeout = timeout
        self.api = client.ApiClient(cfg)
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # by HTTP method, for benchmarks and tests

    def request(self, method: str, path: str, *, query: dict[str, Any] | None = None,
                body: Any = None, content_type: str | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            if content_type == APPLY_PATCH and not isinstance(body, (str, bytes)):
                body = json.dumps(body)  # JSON is YAML; send it as-is
        _method, url, headers, body, _ = self.api.param_serialize(
            method=method, resource_path=path, query_params=list((query or {}).items()),
            header_params=headers, body=body, auth_settings=["BearerToken"])
        with self._lock:
            self.requests[method] += 1
        log.debug("%s %s", method, path)  # never bodies: they may hold secret values
        try:
            resp = self.api.call_api(method, url, header_params=headers, body=body,
                                     _request_timeout=self.timeout)
            data = resp.read()
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise KubeError(0, f"cannot reach the API server at {self.host}: {_reason(e)}") from None
        except Exception as e:  # the client wraps TLS errors in ApiException(status=0)
            if getattr(e, "status", None) == 0:
                raise KubeError(0, f"cannot reach the API server at {self.host}: "
                                   f"{str(getattr(e, 'reason', e)).splitlines()[-1]}") from None
            raise
        if not 200 <= resp.status < 300:
            try:
                message = json.loads(data).get("message", "")
            except ValueError:
                message = data[:200].decode(errors="replace")
            raise KubeError(resp.status, message or f"HTTP {resp.status}", verb=method)
        return json.loads(data) if data else {}

    def list(self, path: str, *, page_size: int = 500,
             query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yields the items of a LIST, page by page."""
        cont = None
        while True:
            q = dict(query or {}, limit=page_size)
            if cont:
                q["continue"] = cont
            page = self.request("GET", path, query=q)
            yield from page.get("items") or []
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return

    def apply(self, path: str, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply of obj at path (the object's own URL), field manager argodoctor."""
        query: dict[str, Any] = {"fieldManager": FIELD_MANAGER, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", path, query=query, body=obj, content_type=APPLY_PATCH)


def _reason(e: Exception) -> str:
    reason = getattr(e, "reason", None) or e
    return str(reason).split(": ", 1)[-1] if ">:" in str(reason) else str(reason)


def _current_context(path: str) -> str:
    try:
        import yaml

        with open(path) as f:
            return (yaml.safe_load(f) or {}).get("current-context") or path
    except Exception:
        return path
