"""AD701 archive-config on snapshot fixtures (issue 27): the persistence block as the controller reads it
(argo-workflows v3.4.0..v4.1.2 workflow/controller/config.go updateConfig, persist/sqldb GetTableName,
util/sqldb CreateDBSession: Secrets read in the controller's namespace)."""
from __future__ import annotations

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks

from .builders import context, controller, controller_configmap, secret

POSTGRES = {"host": "postgres", "port": 5432, "database": "argo", "tableName": "argo_workflows",
            "userNameSecret": {"name": "argo-postgres-config", "key": "username"},
            "passwordSecret": {"name": "argo-postgres-config", "key": "password"}}


def ad701(persistence, *objects, version: str = "v3.7.18"):
    cm = controller_configmap(form="config", persistence=persistence) if persistence is not None else \
        controller_configmap()
    (r,) = run_checks(select_checks(["AD701"]), context(controller(version), cm, *objects))
    return r


DB_SECRET = secret("argo-postgres-config", "argo", username="argo", password="pw")


def test_a_complete_block_with_its_secret_in_the_controllers_namespace_passes():
    assert ad701({"archive": True, "postgresql": POSTGRES}, DB_SECRET).status == "pass"
    assert ad701(None).status == "skip"


def test_the_secret_only_in_another_namespace_fails():
    r = ad701({"archive": True, "postgresql": POSTGRES}, secret("argo-postgres-config", "team-a", username="a",
                                                                   password="b"))
    assert r.status == "fail" and "does not hold" in r.message and r.remediation is None


def test_no_database_or_no_table_name_fails_with_the_controllers_words():
    r = ad701({"archive": True})
    assert r.status == "fail" and "TableName is empty" in r.message
    r = ad701({"archive": True, "postgresql": {**POSTGRES, "tableName": ""}}, DB_SECRET)
    assert r.status == "fail" and "postgresql.tableName is empty" in r.message


def test_both_databases_warn_and_a_missing_key_fails():
    r = ad701({"postgresql": POSTGRES, "mysql": {**POSTGRES, "port": 3306}}, DB_SECRET)
    assert r.status == "warn" and "ignores mysql" in r.message
    r = ad701({"postgresql": POSTGRES}, secret("argo-postgres-config", "argo", username="argo"))
    assert r.status == "fail" and "lacks key password" in r.message


def test_argo_before_v3_4_is_not_judged():
    assert ad701({"archive": True}, version="v3.3.10").status == "skip"
