"""The workflow archive's `persistence` block of the controller config, as the controller reads it.

argo-workflows v3.4.0..v4.1.2 workflow/controller/config.go updateConfig: with `persistence` set, the
controller first takes the table name (persist/sqldb/sqldb.go GetTableName: postgresql's tableName, else
mysql's; "TableName is empty" when neither gives one), then opens the database (util/sqldb/sqldb.go
CreateDBSession @v4.0+, persist/sqldb before: postgresql wins over mysql; "no databases are configured"
when neither), reading userNameSecret and passwordSecret from the controller's own namespace
(util.GetSecrets). Any error is returned from updateConfig: the controller does not start (or keeps its
old config). v3.0-v3.3 read it differently (CreateDBSession returned the table name): not judged there."""
from __future__ import annotations

import dataclasses
from typing import Any

from .version import Version

JUDGED_SINCE = (3, 4)


@dataclasses.dataclass(frozen=True)
class SecretNeed:
    field: str  # e.g. "postgresql.userNameSecret"
    name: str
    key: str


def persistence_problems(persistence: Any, version: Version | None) -> tuple[list[str], list[str], list[SecretNeed]]:
    """(fatal problems, warnings, the Secrets the controller reads) of a `persistence` setting."""
    if version is not None and not version.at_least(*JUDGED_SINCE):
        return [], [], []
    if not isinstance(persistence, dict):
        return [f"persistence is {type(persistence).__name__}, not a mapping of settings"], [], []
    dbs = [k for k in ("postgresql", "mysql") if isinstance(persistence.get(k), dict)]
    if not dbs:
        return ["has neither postgresql nor mysql: the controller fails with `TableName is empty` (and "
                "`no databases are configured`)"], [], []
    problems, warnings = [], []
    if len(dbs) == 2:
        warnings.append("sets both postgresql and mysql: the controller uses postgresql and ignores mysql")
    db = dbs[0]
    cfg = persistence[db]
    if not str(cfg.get("tableName") or "").strip():
        problems.append(f"{db}.tableName is empty: the controller fails with `TableName is empty`")
    for field in ("host", "database"):  # empty: the driver's defaults (localhost, the user's name), rarely meant
        if not str(cfg.get(field) or "").strip():
            warnings.append(f"{db}.{field} is empty: the database driver falls back to its default")
    needs = []
    for field in ("userNameSecret", "passwordSecret"):
        sel = cfg.get(field)
        sel = sel if isinstance(sel, dict) else {}
        if not sel.get("name") or not sel.get("key"):
            problems.append(f"{db}.{field} needs a name and a key: the controller reads the credentials from it")
        else:
            needs.append(SecretNeed(f"{db}.{field}", str(sel["name"]), str(sel["key"])))
    return problems, warnings, needs
