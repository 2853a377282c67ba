"""Errors argodoctor reports as one line on stderr (exit 2), never a traceback."""


class UserError(Exception):
    """Bad input, configuration or connection: the CLI prints it and exits 2."""


class KubeError(Exception):
    """An API request failed. `status` is the HTTP status (0 for connection errors)."""

    def __init__(self, status: int, message: str, *, verb: str = "", resource: str = ""):
        super().__init__(message)
        self.status = status
        self.verb = verb
        self.resource = resource

    @property
    def forbidden(self) -> bool:
        return self.status == 403

    @property
    def not_found(self) -> bool:
        return self.status == 404


class ApplyError(Exception):
    """A planned write the target refused; the message says what to do instead."""
