"""Built-in check plugins (installed as argodoctor.checks)."""
