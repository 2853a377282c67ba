"""What a network probe may say about what it reached: the HTTP status, the content type and the protocol's
own error code, never a body. An endpoint is the tenant's to choose, and may be an internal service whose
answers hold what the tenant may not read; the SDKs' exceptions carry those answers (minio's
InvalidResponseError puts the whole body in its message), so no exception text or name leaves here."""
from __future__ import annotations

import re
from typing import Any

# An S3 error code is a CamelCase word (AWS S3 API Reference, "Error responses": NoSuchBucket,
# AccessDenied, SignatureDoesNotMatch); anything else in <Code> is not shown.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}")
# A media type as RFC 9110 8.3.1 writes it, type "/" subtype, each a token; parameters are dropped.
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,40}/[A-Za-z0-9!#$&^_.+-]{1,80}")


def code(value: Any) -> str | None:
    """The protocol's error code when it looks like one, else None."""
    return value if isinstance(value, str) and _CODE.fullmatch(value) else None


def media_type(value: Any) -> str | None:
    text = value.split(";", 1)[0].strip() if isinstance(value, str) else ""
    if not text:
        return None
    return text.lower() if _MEDIA_TYPE.fullmatch(text) else "an unrecognised content type"


def _http(status: Any, content_type: Any) -> str:
    parts = [f"HTTP {status}" if isinstance(status, int) else "an HTTP answer"]
    ctype = media_type(content_type)
    if ctype:
        parts.append(ctype)
    return ", ".join(parts)


def from_probe(e: BaseException) -> bool:
    """True for the exceptions of the network clients probes use (their text may hold what answered)."""
    from xml.etree.ElementTree import ParseError

    from minio.error import MinioException
    from urllib3.exceptions import HTTPError

    return isinstance(e, (MinioException, HTTPError, ParseError))


def answered(e: BaseException) -> bool:
    """True when the server answered but not in the protocol (a web page where S3 was expected): a
    verdict on the endpoint, not a failure of the probe's own transport."""
    from xml.etree.ElementTree import ParseError

    from minio.error import InvalidResponseError, ServerError
    return isinstance(e, (InvalidResponseError, ServerError, ParseError))


def summary(e: BaseException) -> str:
    """A probe's exception as status, content type and protocol error code, or what failed on the way."""
    import ssl
    from xml.etree.ElementTree import ParseError

    from minio.error import InvalidResponseError, S3Error, ServerError
    from urllib3 import exceptions as u3

    if isinstance(e, S3Error):
        resp = getattr(e, "response", None)
        headers = getattr(resp, "headers", None) or {}
        s3_code = code(e.code)
        return (f"S3 error {s3_code}" if s3_code else "an S3 error without a known code") + \
            f" ({_http(getattr(resp, 'status', None), headers.get('content-type'))})"
    if isinstance(e, InvalidResponseError):
        return f"{_http(getattr(e, '_code', None), getattr(e, '_content_type', None))}: not an S3 answer"
    if isinstance(e, ServerError):
        return f"{_http(e.status_code, None)} with no S3 error in it"
    if isinstance(e, ParseError):
        return "an answer that is not the XML S3 sends"
    if isinstance(e, u3.MaxRetryError) and e.reason is not None:
        return summary(e.reason)
    if isinstance(e, (u3.ConnectTimeoutError, u3.ReadTimeoutError, TimeoutError)):
        return "no answer in time (timed out)"
    if isinstance(e, (u3.SSLError, ssl.SSLError)):
        reason = getattr(e, "reason", None)
        if reason is None and e.args and isinstance(e.args[0], ssl.SSLError):
            reason = e.args[0].reason
        return f"TLS failed ({reason})" if isinstance(reason, str) and code(reason.replace("_", "")) else "TLS failed"
    if isinstance(e, u3.NewConnectionError):
        return "the connection failed"
    if isinstance(e, (u3.ProtocolError, ConnectionError)):
        return "the connection was dropped"
    if isinstance(e, u3.HTTPError):
        return "the HTTP exchange failed"
    if isinstance(e, OSError) and isinstance(e.strerror, str):
        return e.strerror
    return "an unexpected failure"
