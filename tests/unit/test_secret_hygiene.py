"""AD208 secret-value-hygiene: shape facts recorded when a Secret's values become digests (never the
values), carried by snapshots, judged for the repository's single-line credentials only."""
from __future__ import annotations

import base64
import json

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks
from argodoctor.view import secret_facts
from argodoctor.view.cluster import redact_secret

from .builders import context, controller, controller_configmap, crds


def raw_secret(ns: str, name: str, **values: bytes) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "data": {k: base64.b64encode(v).decode() for k, v in values.items()}}


def test_facts_are_recorded_at_redaction_and_the_value_is_gone():
    s = redact_secret(raw_secret("argo", "minio", accesskey=b"AKIAEXAMPLE\n", secretkey=b" s3cr3t", empty=b""))
    shapes = json.loads(s["metadata"]["annotations"][secret_facts.SHAPES_ANNOTATION])
    # only the facts a check judges: no length (how long a password is), no emptiness (the digest shows it)
    assert shapes["accesskey"] == {"trailing_newline": True, "whitespace": True, "nonprintable": False}
    assert shapes["secretkey"]["whitespace"] and not shapes["secretkey"]["trailing_newline"]
    assert s["data"]["empty"] == "" and not any(shapes["empty"].values())
    assert "AKIAEXAMPLE" not in json.dumps(s) and base64.b64encode(b"AKIAEXAMPLE\n").decode() not in json.dumps(s)
    assert redact_secret({"kind": "Secret", "metadata": {"name": "x"}, "data": ["AKIA-in-a-list"]})["data"] == {}


def ad208(*secrets) -> dict:
    """Results by (object, key): one per credential."""
    objs = [controller(), controller_configmap(), *secrets]
    return {(r.object, r.message.split(" key ")[1].split(" ")[0]): r
            for r in run_checks(select_checks(["AD208"]), context(*objs)) if r.id == "AD208"}


def test_ad208_fails_a_trailing_newline_and_names_the_fix_not_the_value():
    res = ad208(raw_secret("argo", "minio", accesskey=b"AKIAEXAMPLE\n", secretkey=b"wJalrXUtnFEMI"))
    r = res[("Secret/minio", "accesskey")]
    assert r.status == "fail" and "key accesskey (s3.accessKeySecret) ends in a newline" in r.message
    assert res[("Secret/minio", "secretkey")].status == "pass"
    assert "kubectl create secret generic minio -n argo --from-literal=accesskey=..." in r.message
    assert "AKIAEXAMPLE" not in r.message


def test_ad208_passes_clean_keys_and_ignores_certificates():
    res = ad208(raw_secret("argo", "minio", accesskey=b"AKIAEXAMPLE", secretkey=b"wJalrXUtnFEMI"))
    assert [r.status for r in res.values()] == ["pass", "pass"]


def test_ad208_non_printable_bytes():
    res = ad208(raw_secret("argo", "minio", accesskey=b"AKIA\x00EXAMPLE", secretkey=b"x"))
    r = res[("Secret/minio", "accesskey")]
    assert r.status == "fail" and "non-printable" in r.message


def test_snapshots_carry_the_facts(tmp_path, cli):
    snap = tmp_path / "s.json"
    redacted = redact_secret(raw_secret("argo", "minio", accesskey=b"AKIAEXAMPLE\n", secretkey=b"k"))
    snap.write_text(json.dumps({"kind": "List", "items": [controller(), controller_configmap(), redacted, *crds()]}))
    code, out, _ = cli("check", "--snapshot", str(snap), "--checks", "AD208", "-o", "json")
    doc = json.loads(out)
    assert [r["status"] for r in doc["results"] if r["id"] == "AD208"] == ["fail", "pass"] and code == 1




def test_snapshots_key_their_digests_without_writing_the_key_and_redact_annotations_and_env(tmp_path, monkeypatch):
    from argodoctor.view import cluster
    from argodoctor.view.cluster import SnapshotView, write_snapshot

    s = raw_secret("argo", "minio", accesskey=b"admin", secretkey=b"password")
    s["metadata"]["annotations"] = {"note": "password is hunter2", "kubernetes.io/service-account.name": "x"}
    dep = controller()
    dep["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "MINIO_ROOT_PASSWORD", "value": "hunter2"}, {"name": "ARGO_NAMESPACED", "value": "true"}]
    write_snapshot(SnapshotView("x", [s, dep]), str(tmp_path / "a"))
    text = (tmp_path / "a" / "Secret.json").read_text() + (tmp_path / "a" / "Deployment.json").read_text()
    assert "hunter2" not in text and "password is" not in text
    assert '"ARGO_NAMESPACED"' in text and '"true"' in text  # the controller's own settings stay readable
    assert '"kubernetes.io/service-account.name":"x"' in text
    # the key never leaves the process: no file holds it, in any encoding
    key = cluster._DIGEST_KEY
    for f in (tmp_path / "a").iterdir():
        raw = f.read_bytes()
        assert key not in raw and key.hex().encode() not in raw and base64.b64encode(key) not in raw
    assert sorted(f.name for f in (tmp_path / "a").iterdir()) == sorted(f"{k}.json" for k in cluster.KINDS)
    first = json.loads((tmp_path / "a" / "Secret.json").read_text())["items"][0]["data"]["secretkey"]
    monkeypatch.setattr(cluster, "_DIGEST_KEY", b"another run's key")
    write_snapshot(SnapshotView("x", [raw_secret("argo", "minio", secretkey=b"password")]), str(tmp_path / "b"))
    second = json.loads((tmp_path / "b" / "Secret.json").read_text())["items"][0]["data"]["secretkey"]
    assert first.startswith("hmac:") and second.startswith("hmac:") and first != second


def test_scrub_finds_every_kind_of_credential_its_shortcut_lets_through():
    """scrub skips the full expression when no telltale is present: each pattern must have one."""
    from argodoctor.engine.model import CREDENTIAL_PATTERNS, scrub

    samples = ["AKIAABCDEFGHIJKLMNOP", "ASIAABCDEFGHIJKLMNOP", "AIDAABCDEFGHIJKLMNOP", "AROAABCDEFGHIJKLMNOP",
               "ANPAABCDEFGHIJKLMNOP", "AGPAABCDEFGHIJKLMNOP",
               "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
               "-----BEGIN PRIVATE KEY-----MIIEvQ", "eyJhbGciOiJSUzI1.eyJpc3MiOiJrdWJl.c2lnbmF0dXJlX2hl",
               "ghp_" + "a" * 36, "gho_" + "B" * 30, "ghu_" + "1" * 30, "ghs_" + "x" * 30, "ghr_" + "Z" * 30,
               "xoxb-1234567890-abcdef", "xoxp-12345678901"]
    for s in samples:
        text = f"endpoint {s} is not host:port"
        assert CREDENTIAL_PATTERNS.search(text), s
        assert s not in scrub(text) and "redacted" in scrub(text), s
    plain = "service account team-a/runner has the rights it needs through RoleBinding team-a/argo"
    assert scrub(plain) is plain
