"""The one place argodoctor talks HTTP to a Kubernetes API server.

Plain urllib3 with the connection argodoctor.view.kubeconfig reads; responses are parsed as plain JSON
dicts. Not the `kubernetes` package: importing it alone takes half a second, and its generated model
classes are slow at scale (only the port-forward to an in-cluster object store uses it). Every request
has a (connect, read) timeout.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from ..errors import KubeError, UserError

log = logging.getLogger("argodoctor.kube")  # the name -v prints, kept from before the move to view/

APPLY_PATCH = "application/apply-patch+yaml"
FIELD_MANAGER = "argodoctor"
# As client-go does (rest/request.go, with_retry.go): 429 and 503 are retried after their Retry-After
# (seconds), other 5xx on reads with a short backoff; at most MAX_RETRIES times, and never past the
# request's own read timeout in total.
MAX_RETRIES = 5
RETRY_ANY = (429, 503)
RETRY_READ = (500, 502, 504)
# How LISTs are read (kubectl's --chunk-size; 0: each kind whole). From Kubernetes 1.33 a whole LIST is
# served from the API server's watch cache as a consistent read (KEP-2340, beta and on since 1.31) and
# written item by item (KEP-5116 streaming list encoding, beta since 1.33), while every continuation page
# is read from etcd (k8s.io/apiserver storage/cacher/delegator.go shouldDelegateList: a continue token
# always delegates): 10,000 Workflows take 0.34 s whole against 0.97 s in pages of 500 on 1.35. Older
# servers build a whole LIST in memory from etcd: there, pages of 500 as client-go's pager reads them.
WHOLE_LISTS_FROM = (1, 33)
PAGED_CHUNK = 500
# Bytes read at a time from a streamed answer. Whole reads, not read1's chunk at a time: the API server
# writes chunks of 2 KiB, and a Python call per chunk costs more than the wait for 64 KiB.
_READ_SIZE = 1 << 16


def chunk_for(version_info: dict[str, Any]) -> int:
    """The chunk size for a server that answered /version with version_info (0: whole lists)."""
    try:
        major = int(str(version_info.get("major", "")).rstrip("+"))
        minor = int(str(version_info.get("minor", "")).rstrip("+"))
    except ValueError:
        return PAGED_CHUNK  # an unknown server: the cautious way
    return 0 if (major, minor) >= WHOLE_LISTS_FROM else PAGED_CHUNK


class Kube:
    def __init__(self, kubeconfig: str | None = None, context: str | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0), *, as_user: str | None = None,
                 as_groups: tuple[str, ...] = ()):
        from . import kubeconfig as kc

        self.conn = kc.load(kubeconfig, context, as_user=as_user, as_groups=as_groups)
        self.name, self.host, self.namespace = self.conn.name, self.conn.server, self.conn.namespace
        self.timeout = timeout
        self._http: Any = None
        self._cert: bytes | None = None
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # by HTTP method, for benchmarks and tests
        self.list_chunk = PAGED_CHUNK  # set from the server's version once it is known (argodoctor.cli._kube)

    def _pool(self) -> Any:
        """The connection pool, rebuilt when an exec plugin hands out a new client certificate."""
        import urllib3

        conn = self.conn
        with self._lock:
            if self._http is not None and self._cert == conn.cert_data:
                return self._http
            ctx = _tls_context(conn)
            kw: dict[str, Any] = {"maxsize": 8, "retries": False, "ssl_context": ctx,
                                  "timeout": urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1])}
            if conn.tls_server_name:
                kw.update(server_hostname=conn.tls_server_name, assert_hostname=conn.tls_server_name)
            if conn.insecure:
                kw.update(cert_reqs="CERT_NONE", assert_hostname=False)
            self._http = urllib3.ProxyManager(conn.proxy_url, **kw) if conn.proxy_url else urllib3.PoolManager(**kw)
            self._cert = conn.cert_data
            return self._http

    def _headers(self) -> dict[str, Any]:
        import urllib3

        conn = self.conn
        headers = urllib3.HTTPHeaderDict({"Accept": "application/json", "User-Agent": "argodoctor"})
        token = conn.bearer()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif conn.username is not None:
            basic = base64.b64encode(f"{conn.username}:{conn.password or ''}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        if conn.impersonate_user:
            headers["Impersonate-User"] = conn.impersonate_user
            for group in conn.impersonate_groups:
                headers.add("Impersonate-Group", group)
        return headers

    def client_configuration(self) -> Any:
        """The same connection as a `kubernetes` client Configuration (for its port-forward)."""
        from kubernetes import client

        conn = self.conn
        cfg = client.Configuration()
        cfg.host, cfg.verify_ssl, cfg.retries = conn.server, not conn.insecure, False
        cfg.ssl_ca_cert = conn.ca_file or (_private_file(conn.ca_data.encode()) if conn.ca_data else None)
        cfg.cert_file = conn.cert_file or (_private_file(conn.cert_data) if conn.cert_data else None)
        cfg.key_file = conn.key_file or (_private_file(conn.key_data) if conn.key_data else None)
        cfg.tls_server_name, cfg.proxy = conn.tls_server_name, conn.proxy_url
        token = conn.bearer()
        if token:
            cfg.api_key = {"authorization": f"Bearer {token}"}
        return cfg

    def request(self, method: str, path: str, *, query: dict[str, Any] | None = None,
                body: Any = None, content_type: str | None = None) -> dict[str, Any]:
        return self._parse(path, self._raw(method, path, query=query, body=body, content_type=content_type))

    def _raw(self, method: str, path: str, *, query: dict[str, Any] | None = None,
             body: Any = None, content_type: str | None = None, stream: bool = False) -> Any:
        """The body of a 2xx answer (retried as client-go retries); any other answer raises KubeError.
        stream: the urllib3 response instead, its body not read yet (the caller releases it)."""
        from urllib.parse import urlencode

        headers = self._headers()
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)  # JSON is YAML too: apply patches are sent as JSON
        if any(seg in (".", "..") for seg in path.split("?", 1)[0].split("/")):
            # urllib3 would resolve it (RFC 3986 remove_dot_segments) into another object's path; every path
            # comes from names.api_path, which refuses such names: this is its guard, not a check of input
            raise KubeError(0, f"refusing to send a path with a dot segment: {path!r}", verb=method)
        url = self.host + path + (f"?{urlencode(query)}" if query else "")
        deadline = time.monotonic() + self.timeout[1]
        for attempt in range(MAX_RETRIES + 1):
            status, data, retry_after = self._once(method, path, url, headers, body, stream)
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
        return data

    def _parse(self, path: str, data: bytes) -> dict[str, Any]:
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

    def _once(self, method: str, path: str, url: str, headers: dict, body: Any,
              stream: bool = False) -> tuple[int, Any, float | None]:
        with self._lock:
            self.requests[method] += 1
        log.debug("%s %s", method, path)  # never bodies: they may hold secret values
        from urllib3.exceptions import HTTPError

        pool = self._pool()
        try:
            resp = pool.request(method, url, headers=headers, body=body, preload_content=not stream,
                                redirect=False)
            if stream and 200 <= resp.status < 300:
                return resp.status, resp, None
            data = resp.data
            if stream:
                resp.release_conn()
        except (HTTPError, OSError) as e:
            raise KubeError(0, f"cannot reach the API server at {self.host}: {_reason(e)}") from None
        return resp.status, data, _retry_after(resp)

    def list(self, path: str, *, page_size: int = 500,
             query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yields the items of a LIST, page by page (page_size 0: the whole list at once). The next
        page is asked for while this one is decoded and its items used, when the page's continue token
        can be read off the page without decoding it (continue_token); the decoded page then confirms the
        token (a guess that differs, which valid JSON cannot give, is dropped and the page asked for
        again)."""
        def fetch(cont: str | None) -> bytes:
            q = dict(query or {}, **({"limit": page_size} if page_size > 0 else {}))
            if cont:
                q["continue"] = cont
            return self._raw("GET", path, query=q)

        if page_size > 0:
            data = fetch(None)
        else:  # a whole list: decoded as the server writes it
            head: dict[str, Any] = {}
            yield from self._streamed(path, query, head)
            meta = head.get("metadata")
            cont = meta.get("continue") if isinstance(meta, dict) else None
            if not cont:
                return
            data = fetch(cont)  # not asked for; as client-go's pager, follow it
        while True:
            guess = continue_token(data)
            ahead = _Ahead(fetch, guess) if guess else None
            page = self._parse(path, data)
            cont = (page.get("metadata") or {}).get("continue")
            if ahead is not None and guess != cont:
                ahead.drop()
                ahead = None
            del data
            yield from page.get("items") or []
            if not cont:
                return
            data = ahead.result() if ahead is not None else fetch(cont)

    def _streamed(self, path: str, query: dict[str, Any] | None, head: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The items of one LIST answer, decoded while it arrives (json_stream); its other keys go to head."""
        from urllib3.exceptions import HTTPError

        from .json_stream import list_items

        resp = self._raw("GET", path, query=query, stream=True)
        first = bytearray()  # the answer's start, to name an HTML page for what it is

        def chunks() -> Iterator[bytes]:
            try:
                while chunk := resp.read(_READ_SIZE):
                    if len(first) < 512:
                        first.extend(chunk[:512])
                    yield chunk
            except (HTTPError, OSError) as e:
                raise KubeError(0, f"lost the API server at {self.host} while reading {path}: {_reason(e)}") \
                    from None
        finished = False
        try:
            for item in list_items(chunks(), head):
                if not isinstance(item, dict):
                    raise ValueError("an item that is not an object")
                yield item
            finished = True
        except ValueError:
            raise KubeError(0, _not_kubernetes(self.host, bytes(first)) or f"the server at {self.host} answered "
                               f"{path} with something that is not a Kubernetes list") from None
        finally:
            if not finished:  # the rest of the answer is not read: the connection cannot be used again
                resp.close()
            resp.release_conn()

    def apply(self, path: str, obj: dict[str, Any], *, dry_run: bool = False, force: bool = True) -> dict[str, Any]:
        """Server-side apply of obj at path (the object's own URL), field manager argodoctor. force=False:
        a field another manager owns and this changes is a 409 conflict naming the manager and field."""
        query: dict[str, Any] = {"fieldManager": FIELD_MANAGER, "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", path, query=query, body=obj, content_type=APPLY_PATCH)


class _Ahead:
    """fetch(token) running in a thread of its own (the socket wait and TLS reads release the GIL)."""

    def __init__(self, fetch: Any, token: str):
        self._data: bytes | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fetch, token), daemon=True,
                                        name="argodoctor-page")
        self._thread.start()

    def _run(self, fetch: Any, token: str) -> None:
        try:
            self._data = fetch(token)
        except BaseException as e:  # raised again, in the caller's thread, by result()
            self._error = e

    def result(self) -> bytes:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._data is not None
        return self._data

    def drop(self) -> None:
        self._thread.join()  # its answer (or error) is not used


_META_KEY = b'"metadata":'
_META_WINDOW = 1 << 16  # bytes a list's own metadata (resourceVersion, continue token) fits in


def continue_token(page: bytes) -> str | None:
    """A LIST page's metadata.continue read without decoding its items, or None (no token, or not
    found this way). Go writes a CRD's list (a map) with sorted keys, metadata last; a built-in kind's
    list (a struct) as kind, apiVersion, metadata, items. So the list's metadata is the text after the
    last `,"metadata":` up to the final `}`, or the first `"metadata":` value when the text before it
    is an object's start: each candidate counts only when that text alone parses as JSON, which holds
    for a key of the top-level object and no other (a nested key leaves its closing brackets behind)."""
    end = len(page)
    while end and page[end - 1] in b" \t\r\n":  # no copy of a page of megabytes
        end -= 1
    if not end or page[end - 1] != ord("}"):
        return None
    meta: Any = None
    at = page.rfind(b"," + _META_KEY, 0, end)
    if at >= 0:
        try:
            meta = json.loads(page[at + 1 + len(_META_KEY):end - 1])
        except ValueError:
            meta = None
    if meta is None:
        at = page.find(_META_KEY, 0, end)
        if at > 0:
            try:
                head = json.loads(page[:at].rstrip().rstrip(b",") + b"}")  # {"kind":...,"apiVersion":...}
                window = page[at + len(_META_KEY):at + len(_META_KEY) + _META_WINDOW].decode(errors="ignore")
                meta, _ = json.JSONDecoder().raw_decode(window)
            except ValueError:
                return None
            if not isinstance(head, dict):
                return None
    cont = meta.get("continue") if isinstance(meta, dict) else None
    return cont if isinstance(cont, str) and cont else None


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


def _tls_context(conn: Any) -> Any:
    """Trust the cluster's CA (else the system's), present the client certificate if there is one."""
    import ssl

    try:
        ctx = ssl.create_default_context(cafile=conn.ca_file, cadata=conn.ca_data)
        if conn.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if conn.cert_data:  # ssl loads a chain only from files: private ones, removed at once
            cert, key = _private_file(conn.cert_data, keep=False), _private_file(conn.key_data or b"", keep=False)
            try:
                ctx.load_cert_chain(cert, key)
            finally:
                os.unlink(cert)
                os.unlink(key)
        elif conn.cert_file:
            ctx.load_cert_chain(conn.cert_file, conn.key_file)
    except (ssl.SSLError, OSError, ValueError) as e:
        raise UserError(f"cannot use the CA or client certificate of {conn.name}: {e}") from None
    return ctx


def _private_file(data: bytes, keep: bool = True) -> str:
    """A file only this user can read holding data; kept ones are removed when argodoctor exits."""
    import atexit
    import tempfile

    fd, path = tempfile.mkstemp(prefix="argodoctor-", suffix=".pem")  # mode 0600
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if keep:
        atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    return path
