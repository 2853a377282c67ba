"""Secrets other controllers write (view/secret_declarers.py) as AD203 judges them (issue 23 item 2)."""
from __future__ import annotations

import json

import pytest
import yaml

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks
from argodoctor.view import secret_declarers
from argodoctor.view.cluster import KINDS, LiveView

from .builders import context, seed_objects
from .test_scale import FakeKube


def crd(kind: str) -> dict:
    k = KINDS[kind]
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{k.plural}.{k.group}"}, "status": {"conditions": []}}


def external_secret(name: str = "minio", ns: str = "team-a", **spec) -> dict:
    body = {"data": [{"secretKey": "accesskey", "remoteRef": {"key": "minio/ak"}},
                     {"secretKey": "secretkey", "remoteRef": {"key": "minio/sk"}}], **spec}
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": ns}, "spec": body,
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError",
                                       "message": "could not get secret data from provider"}]}}


def ad203(*objects) -> list:
    return [r for r in run_checks(select_checks(["AD203"]), context(*seed_objects(), *objects))
            if r.namespace == "team-a"]


def test_an_external_secret_not_synced_yet_is_a_warning_with_its_condition_not_a_copy():
    (r,) = ad203(crd("ExternalSecret"), external_secret())
    assert r.status == "warn" and r.remediation is None
    assert "ExternalSecret team-a/minio declares it" in r.message and "SecretSyncedError" in r.message


def test_without_the_crd_the_declaration_is_not_read_and_the_verdict_is_as_before():
    (r,) = ad203(external_secret())
    assert r.status == "fail" and "exists only in argo" in r.message


@pytest.mark.parametrize("policy", ["Merge", "None"])
def test_an_external_secret_that_creates_no_secret_does_not_count(policy):
    (r,) = ad203(crd("ExternalSecret"), external_secret(target={"creationPolicy": policy}))
    assert r.status == "fail"


def test_the_keys_a_declaration_names_are_judged_and_unknown_keys_are_not():
    es = external_secret(data=[{"secretKey": "accesskey", "remoteRef": {"key": "a"}}])
    (r,) = ad203(crd("ExternalSecret"), es)
    assert r.status == "fail" and "lack secretkey" in r.message and r.remediation is None
    es["spec"]["dataFrom"] = [{"extract": {"key": "minio"}}]  # keys from the provider: not knowable
    (r,) = ad203(crd("ExternalSecret"), es)
    assert r.status == "warn"


def test_target_name_defaults_to_the_external_secrets_name():
    (r,) = ad203(crd("ExternalSecret"), external_secret(name="creds", target={"name": "minio"}))
    assert r.status == "warn" and "ExternalSecret team-a/creds" in r.message
    (r,) = ad203(crd("ExternalSecret"), external_secret(name="other"))
    assert r.status == "fail"  # it declares Secret "other", not "minio"


def test_sealed_vault_csi_and_1password_declarations():
    sealed = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "minio",
              "namespace": "team-a"}, "spec": {"encryptedData": {"accesskey": "AgB...", "secretkey": "AgC..."}}}
    assert ad203(crd("SealedSecret"), sealed)[0].status == "warn"
    vault = {"apiVersion": "secrets.hashicorp.com/v1beta1", "kind": "VaultStaticSecret",
             "metadata": {"name": "v", "namespace": "team-a"}, "spec": {"destination": {"name": "minio"}}}
    assert ad203(crd("VaultStaticSecret"), vault)[0].status == "fail"  # destination.create unset: no Secret
    vault["spec"]["destination"]["create"] = True
    assert ad203(crd("VaultStaticSecret"), vault)[0].status == "warn"
    spc = {"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
           "metadata": {"name": "aws", "namespace": "team-a"},
           "spec": {"secretObjects": [{"secretName": "minio", "data": [{"key": "accesskey"}]}]}}
    r = ad203(crd("SecretProviderClass"), spc)[0]
    assert r.status == "fail" and "lack secretkey" in r.message
    item = {"apiVersion": "onepassword.com/v1", "kind": "OnePasswordItem",
            "metadata": {"name": "minio", "namespace": "team-a"}, "spec": {"itemPath": "vaults/x/items/y"}}
    assert ad203(crd("OnePasswordItem"), item)[0].status == "warn"


def test_in_files_a_declaration_counts_as_the_secret(cli, tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"
    docs = [d for f in sorted(example.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    es = external_secret()
    del es["status"]
    docs.append(es)
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    code, out, _ = cli("check", "-f", str(path), "--offline", "--checks", "AD203", "-o", "json")
    (r,) = [r for r in json.loads(out)["results"] if r["namespace"] == "team-a"]
    assert r["status"] == "pass" and "once External Secrets Operator syncs it" in r["message"], r


def test_the_view_keeps_no_template_values_or_ciphertext():
    es = external_secret(target={"template": {"data": {"accesskey": "{{ .password }}-LITERAL-SECRET"}}})
    sealed = {"kind": "SealedSecret", "metadata": {"name": "s", "namespace": "a"},
              "spec": {"encryptedData": {"k": "AgBCIPHERTEXT"}}}
    text = json.dumps([secret_declarers.slim("ExternalSecret", es), secret_declarers.slim("SealedSecret", sealed)])
    assert "LITERAL-SECRET" not in text and "CIPHERTEXT" not in text and "accesskey" in text


def test_declaring_kinds_are_listed_once_and_only_where_their_crd_is_installed():

    sealed = {"metadata": {"name": "minio", "namespace": "team-a"}, "spec": {"encryptedData": {"accesskey": "x"}}}
    kube = FakeKube({"customresourcedefinitions": [crd("SealedSecret")], "sealedsecrets": [sealed]})
    found = secret_declarers.declarations(LiveView(kube))  # type: ignore[arg-type]
    declarer_lists = [p for p in kube.listed if any(KINDS[k].plural in p for k in secret_declarers.DECLARER_KINDS)]
    assert declarer_lists == ["/apis/bitnami.com/v1alpha1/sealedsecrets"]
    assert [d.describe() for d in found[("team-a", "minio")]] == ["SealedSecret team-a/minio"]
    # a CRD list that cannot be read: each kind is tried once, a 404 is no declaration
    kube = FakeKube({"sealedsecrets": [sealed]}, forbidden=("customresourcedefinitions",))
    found = secret_declarers.declarations(LiveView(kube))  # type: ignore[arg-type]
    assert list(found) == [("team-a", "minio")]
