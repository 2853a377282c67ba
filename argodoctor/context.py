"""What a check or remediation sees (`from argodoctor.context import Context`), at the path third-party
plugins import: re-exported from argodoctor.engine.context, where it lives since the layout of issue 24."""
from .engine.context import Context, Options  # noqa: F401
