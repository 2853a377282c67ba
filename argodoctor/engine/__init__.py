"""The engine. The plugin contract (model: Check, Remediation, Result, Plan), what a check sees (context),
how plugins are found (registry) and run (runner: concurrently, in dependency order), exemptions applied
to results, and argodoctor's own access (permissions: the one table of what it reads and writes, from
which `argodoctor role`, the CronJob's role and AD100 are generated)."""
