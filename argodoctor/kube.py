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
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .errors import KubeError, UserError

log = logging.getLogger(__name__)

APPLY_PATCH = "application/apply-patch+yaml"
FIELD_MANAGER = "argodoctor"
# As client-go does (rest/request.go, with_retry.go): 429 and 503 are retried after their Retry-After
# (seconds), other 5xx on reads with a short backoff; at most MAX_RETRIES times, and never past the
# request's own read timeout in total.
MAX_RETRIES = 5
RETRY_ANY = (429, 503)
RETRY_READ = (500, 502, 504)


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
        deadline = time.monotonic() + self.timeout[1]
        for attempt in range(MAX_RETRIES + 1):
            status, data, retry_after = self._once(method, path, url, headers, body)
            retryable = status in RETRY_ANY or (status in RETRY_READ and method == "GET")
            if not retryable or attempt == MAX_RETRIES:
                break
            wait = retry_after if retry_after is not None else min(0.2 * 2 ** attempt, 2.0)
            if time.monotonic() + wait > deadline:
                break
            log.debug("%s %s: HTTP %s, retrying in %.1fs", method, path, status, wait)
            time.sleep(wait)
        if not 200 <= status < 300:
            try:
                message = json.loads(data).get("message", "")
            except (ValueError, AttributeError):
                message = _not_kubernetes(self.host, data) or data[:200].decode(errors="replace")
            raise KubeError(status, message or f"HTTP {status}", verb=method)
        if not data:
            return {}
        try:
            parsed = json.loads(data)
        except ValueError:
            raise KubeError(0, _not_kubernetes(self.host, data) or
                            f"the server at {self.host} answered {path} with something that is not JSON") from None
        if not isinstance(parsed, dict):
            raise KubeError(0, f"the server at {self.host} answered {path} with JSON that is not a Kubernetes "
                               "object (a proxy in between?)")
        return parsed

    def _once(self, method: str, path: str, url: str, headers: dict, body: Any) -> tuple[int, bytes, float | None]:
        with self._lock:
            self.requests[method] += 1
        log.debug("%s %s", method, path)  # never bodies: they may hold secret values
        from urllib3.exceptions import HTTPError  # loaded with the client already; not at start-up

        try:
            resp = self.api.call_api(method, url, header_params=headers, body=body,
                                     _request_timeout=self.timeout)
            data = resp.read()
        except (HTTPError, OSError) as e:
            raise KubeError(0, f"cannot reach the API server at {self.host}: {_reason(e)}") from None
        except Exception as e:  # the client wraps TLS errors in ApiException(status=0)
            if getattr(e, "status", None) == 0:
                raise KubeError(0, f"cannot reach the API server at {self.host}: "
                                   f"{str(getattr(e, 'reason', e)).splitlines()[-1]}") from None
            raise
        return resp.status, data, _retry_after(resp)

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


def _retry_after(resp: Any) -> float | None:
    """Retry-After in seconds (the API server sends whole seconds); None when absent or not a number."""
    try:
        value = resp.getheader("Retry-After") if hasattr(resp, "getheader") else resp.headers.get("Retry-After")
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _not_kubernetes(host: str, data: bytes) -> str | None:
    """A clear message when the answer is an HTML page (a login page, an auth proxy), not the API."""
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return (f"the server at {host} answered HTML, not the Kubernetes API (a proxy or login page?); "
                "check the kubeconfig's server address and credentials")
    return None


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
