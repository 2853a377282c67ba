"""The plugin contract at the path third-party plugins import (`from argodoctor.model import Check,
Result`): re-exported from argodoctor.engine.model, where it lives since the layout of issue 24."""
from .engine.model import (  # noqa: F401
    Action,
    Check,
    Plan,
    Remediation,
    Result,
    Status,
    obj_ref,
    scrub,
)
