"""Built-in remediation plugins (installed as argodoctor.remediations)."""
