"""Issue 31 item 6 on the real apiserver (the audit log as the oracle): `cronjob uninstall` deletes only what
`cronjob install` made: objects with argodoctor's managed-by label, and a Namespace only when install
created it. A pre-existing namespace, its contents and unlabelled objects with argodoctor's names survive."""
from __future__ import annotations

import pytest

from argodoctor.fix.manifests import apply_manifests
from argodoctor.view.kube import Kube, KubeError

from .test_foundation import ns_obj, writes


def _configmap(name: str, ns: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": {"owner": "team-a"}}


def _exists(kube: Kube, path: str) -> bool:
    try:
        obj = kube.request("GET", path)
    except KubeError as e:
        if e.not_found:
            return False
        raise
    return not obj["metadata"].get("deletionTimestamp")


@pytest.fixture(scope="module")
def cluster(own_control_plane):
    kube = Kube(str(own_control_plane.kubeconfig()))
    # team-a exists before argodoctor, with a ConfigMap of its own and an unlabelled one bearing the name
    # of argodoctor's exemptions ConfigMap.
    apply_manifests(kube, [ns_obj("team-a"), _configmap("keep-me", "team-a"),
                           _configmap("argodoctor-config", "team-a")])
    return own_control_plane, kube


def test_uninstall_keeps_a_namespace_install_did_not_create(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    mark = cp.audit_mark()
    code, out, err = cli("cronjob", "install", "--cronjob-namespace", "team-a", "--yes", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert code == 0, out + err
    made = writes(cp.audit_events(mark))
    assert "patch cronjobs team-a/argodoctor" in made
    assert not [w for w in made if " namespaces " in w], made  # the existing namespace is not claimed
    ns = kube.request("GET", "/api/v1/namespaces/team-a")["metadata"]
    assert "app.kubernetes.io/managed-by" not in (ns.get("labels") or {})
    assert "argodoctor.io/created-by" not in (ns.get("annotations") or {})

    mark = cp.audit_mark()
    code, out, err = cli("cronjob", "uninstall", "--cronjob-namespace", "team-a", "--yes", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert code == 0, out + err
    deleted = [w for w in writes(cp.audit_events(mark)) if w.startswith("delete ")]
    assert "delete cronjobs team-a/argodoctor" in deleted and "delete serviceaccounts team-a/argodoctor" in deleted
    assert not [w for w in deleted if " namespaces " in w or w.endswith("/argodoctor-config")], deleted
    assert _exists(kube, "/api/v1/namespaces/team-a")
    assert _exists(kube, "/api/v1/namespaces/team-a/configmaps/keep-me")
    assert _exists(kube, "/api/v1/namespaces/team-a/configmaps/argodoctor-config")
    assert not _exists(kube, "/apis/batch/v1/namespaces/team-a/cronjobs/argodoctor")
    assert not _exists(kube, "/api/v1/namespaces/team-a/configmaps/argodoctor-report")
    text = " ".join(out.split())
    assert "Namespace team-a was not created by `argodoctor cronjob install`" in text
    assert "ConfigMap team-a/argodoctor-config does not carry app.kubernetes.io/managed-by" in text


def test_uninstall_deletes_the_namespace_install_created(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    code, out, err = cli("cronjob", "install", "--cronjob-namespace", "argodoctor-new", "--yes", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert code == 0, out + err
    ns = kube.request("GET", "/api/v1/namespaces/argodoctor-new")["metadata"]
    assert ns["annotations"]["argodoctor.io/created-by"] == "cronjob-install"
    mark = cp.audit_mark()
    code, out, err = cli("cronjob", "uninstall", "--cronjob-namespace", "argodoctor-new", "--yes", "--kubeconfig",
                         kc, "--backup-dir", tmp_path)
    assert code == 0, out + err
    assert [w for w in writes(cp.audit_events(mark)) if w.startswith("delete namespaces ")
            and w.endswith("/argodoctor-new")]
    assert not _exists(kube, "/api/v1/namespaces/argodoctor-new")
    # team-a, installed into and uninstalled from before, is untouched by this one.
    assert _exists(kube, "/api/v1/namespaces/team-a/configmaps/keep-me")


def test_uninstall_finds_the_roles_a_namespaced_install_put_in_the_namespaces_it_read(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-b"), ns_obj("team-c"), {
        # a labelled binding of someone else's ServiceAccount, with argodoctor's name: not this install's
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "argodoctor-reader", "namespace": "team-c",
                     "labels": {"app.kubernetes.io/managed-by": "argodoctor"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "argodoctor-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "argodoctor", "namespace": "elsewhere"}]}])
    code, out, err = cli("cronjob", "install", "--cronjob-namespace", "argodoctor-nsr", "--namespaced-read",
                         "--workflow-namespace", "team-b", "--no-events", "--yes", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert code == 0, out + err
    reader = "/apis/rbac.authorization.k8s.io/v1/namespaces/team-b/{}/argodoctor-reader"
    assert _exists(kube, reader.format("roles")) and _exists(kube, reader.format("rolebindings"))
    mark = cp.audit_mark()
    code, out, err = cli("cronjob", "uninstall", "--cronjob-namespace", "argodoctor-nsr", "--yes", "--kubeconfig",
                         kc, "--backup-dir", tmp_path)
    assert code == 0, out + err
    deleted = [w for w in writes(cp.audit_events(mark)) if w.startswith("delete ")]
    assert "delete roles team-b/argodoctor-reader" in deleted and "delete rolebindings team-b/argodoctor-reader" \
        in deleted, deleted
    assert not _exists(kube, reader.format("roles")) and not _exists(kube, reader.format("rolebindings"))
    assert _exists(kube, "/apis/rbac.authorization.k8s.io/v1/namespaces/team-c/rolebindings/argodoctor-reader")
    # one labelled LIST of each kind, cluster-wide: no per-namespace loop
    lists = [e["requestURI"] for e in cp.audit_events(mark) if e.get("verb") == "list"]
    assert len([u for u in lists if "/roles" in u or "/rolebindings" in u]) == 2, lists


def test_install_takes_over_nothing_it_did_not_make(cluster, cli, tmp_path):
    """An unlabelled ServiceAccount or report ConfigMap with argodoctor's names is someone else's: install
    neither binds the reader role to it nor writes into it (and so uninstall cannot delete it)."""
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    apply_manifests(kube, [ns_obj("team-d"), _configmap("argodoctor-report", "team-d"),
                           {"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": "argodoctor", "namespace": "team-d"}}])
    mark = cp.audit_mark()
    code, out, err = cli("cronjob", "install", "--cronjob-namespace", "team-d", "--yes", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert code == 2 and "ServiceAccount team-d/argodoctor" in err and "ConfigMap team-d/argodoctor-report" in err
    assert len(err.strip().splitlines()) == 1, err
    assert writes(cp.audit_events(mark)) == []
    cm = kube.request("GET", "/api/v1/namespaces/team-d/configmaps/argodoctor-report")
    assert cm["data"] == {"owner": "team-a"} and not (cm["metadata"].get("labels") or {})
