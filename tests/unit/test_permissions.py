"""Issue 31 items 4-5: the one table of what argodoctor sends (argodoctor.engine.permissions) and the roles
generated from it: the reader lists, gets only Secrets, never watches; namespaced and Secret-less
variants; the fix roles hold no escalate/bind/update/watch, delete only bindings; the chart's rules
file is the table's; --no-secrets makes the checks that read Secrets skip, never pass."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from argodoctor import argo
from argodoctor.engine import permissions, registry
from argodoctor.engine.context import Context
from argodoctor.engine.model import Status
from argodoctor.engine.runner import run_checks
from argodoctor.view.cluster import KINDS, SnapshotView

ROOT = Path(__file__).resolve().parents[2]


def verbs_of(rules: list[dict]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for r in rules:
        for g in r["apiGroups"]:
            for res in r["resources"]:
                out.setdefault((g, res), set()).update(r["verbs"])
    return out


def test_reader_lists_every_kind_gets_only_secrets_and_never_watches():
    got = verbs_of(permissions.reader_cluster_role()["rules"])
    for k in KINDS.values():
        assert got[(k.group, k.plural)] == ({"list", "get"} if k.name == "Secret" else {"list"}), k.name
    assert got[("authorization.k8s.io", "selfsubjectaccessreviews")] == {"create"}
    assert len(got) == len(KINDS) + 1


def test_no_secrets_and_namespaced_variants():
    assert ("", "secrets") not in verbs_of(permissions.reader_rules(secrets=False))
    roles = permissions.reader_roles(namespaces=["argo", "team-a", "argo"])
    assert [(r["kind"], r["metadata"].get("namespace")) for r in roles] == [
        ("ClusterRole", None), ("Role", "argo"), ("Role", "team-a")]
    cluster, role = verbs_of(roles[0]["rules"]), verbs_of(roles[1]["rules"])
    assert set(cluster) == {(k.group, k.plural) for k in KINDS.values() if not k.namespaced} | {
        ("authorization.k8s.io", "selfsubjectaccessreviews")}
    assert set(role) == {(k.group, k.plural) for k in KINDS.values() if k.namespaced}
    bound = permissions.bindings(roles, "ops/reader")
    assert [(b["kind"], b["metadata"].get("namespace"), b["roleRef"]["kind"]) for b in bound] == [
        ("ClusterRoleBinding", None, "ClusterRole"), ("RoleBinding", "argo", "Role"), ("RoleBinding", "team-a", "Role")]


def test_report_role_is_get_and_patch_of_its_configmap_only():
    r = permissions.report_role("x-report", "ns", "the-report")
    assert r["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"],
                           "resourceNames": ["the-report"]}]


def test_the_charts_rules_file_is_generated_from_the_table():
    text = (ROOT / "charts" / "argodoctor" / "rbac-rules.yaml").read_text()
    assert yaml.safe_load(text) == permissions.chart_rules(), \
        "stale: python -m argodoctor.engine.permissions > charts/argodoctor/rbac-rules.yaml"


def test_every_remediation_has_its_writes_in_the_table():
    assert set(permissions.FIX_WRITES) == {r.id for r in registry.all_remediations()}


def test_fix_roles_hold_no_escalation():
    roles = permissions.fixer_roles()
    for r in roles:
        for rule in r["rules"]:
            assert not set(rule["verbs"]) & {"escalate", "bind", "*"}, rule
    own = verbs_of(roles[0]["rules"])
    for (_group, res), verbs in own.items():
        assert not verbs & {"update", "watch"}, res
        if "delete" in verbs:
            assert res in ("rolebindings", "clusterrolebindings"), res


def test_fix_role_for_some_remediations_holds_only_their_writes():
    [role] = permissions.fixer_roles(["copy-artifact-secret"])
    got = verbs_of(role["rules"])
    assert got[("", "secrets")] == {"list", "get", "create", "patch"}
    assert got[("", "configmaps")] == {"list"} and got[("apps", "deployments")] == {"list"}
    assert ("rbac.authorization.k8s.io", "clusterrolebindings") in got  # listed by the re-check
    assert "create" not in got[("rbac.authorization.k8s.io", "clusterrolebindings")]


def test_the_grants_role_holds_what_grant_workflow_rbac_writes_for_any_release():
    granted = verbs_of(permissions.workflow_grant_rules())
    for version in [None, *(argo.parse_version(v) for v, _ in argo.RELEASE_SHA256)]:
        for executor in ("emissary", *argo.LEGACY_EXECUTORS):
            perms = argo.executor_permissions(version, argo.Executors(executor))
            for p in perms + argo.agent_permissions(version) + list(argo.ARTIFACT_GC_PERMISSIONS):
                res = f"{p.resource}/{p.subresource}" if p.subresource else p.resource
                assert p.verb in granted.get((p.group, res), set()), (str(version), executor, str(p))


def test_install_argo_roles_rules_come_from_the_manifests(cli, tmp_path):
    argo_role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "argo-role"},
                 "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]}]}
    cluster = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "argo-cluster-role"},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete"]}]}
    f = tmp_path / "install.yaml"
    f.write_text(yaml.safe_dump_all([argo_role, cluster]))
    code, out, err = cli("role", "--for", "fix", "install-argo", "--manifests", str(f), "--controller-namespace",
                         "wf", "-o", "json")
    assert code == 0, err
    items = {(o["kind"], o["metadata"]["name"]): o for o in json.loads(out)["items"]}
    assert cluster["rules"][0] in items[("ClusterRole", "argodoctor-fixer-grants")]["rules"]
    role = items[("Role", "argodoctor-fixer-grants")]
    assert role["metadata"]["namespace"] == "wf" and role["rules"] == argo_role["rules"]
    own = verbs_of(items[("ClusterRole", "argodoctor-fixer")]["rules"])
    assert own[("rbac.authorization.k8s.io", "clusterroles")] == {"list", "get", "create", "patch"}
    code, _, err = cli("role", "--for", "fix", "no-such-fix")
    assert code == 2 and "no-such-fix" in err


def test_role_flags_are_judged(cli):
    assert cli("role", "--for", "fix", "--no-secrets")[0] == 2
    assert cli("role", "--workflow-namespace", "team-a")[0] == 2
    assert cli("role", "copy-artifact-secret")[0] == 2
    code, out, _ = cli("role", "--namespaced-read", "--workflow-namespace", "team-a", "--no-secrets", "-o", "json")
    kinds = [(o["kind"], o["metadata"].get("namespace")) for o in json.loads(out)["items"]]
    assert kinds == [("ClusterRole", None), ("Role", "argo"), ("Role", "team-a")]


@pytest.fixture
def seed_snapshot() -> str:
    path = ROOT / "examples" / "seed-broken"
    if not path.exists():
        pytest.skip("examples/seed-broken is not there")
    return str(path)


def test_no_secrets_checks_that_read_secrets_skip_never_pass(seed_snapshot):
    view = SnapshotView(seed_snapshot)
    view.unread["Secret"] = "argodoctor reads no Secret (--no-secrets)"
    results = run_checks(registry.select_checks(None), Context(view))
    readers = {c.id for c in registry.all_checks() if "Secret" in c.reads}
    assert {"AD203", "AD208", "AD304"} <= readers
    mine = [r for r in results if r.id in readers]
    assert mine and all(r.status is Status.SKIP and "--no-secrets" in r.message for r in mine), mine
    others = [r for r in results if r.id not in readers]
    assert any(r.status is Status.FAIL for r in others)  # the rest still judges
