"""What keeps a run linear at scale (issue 11), asserted as behaviour, never as timings: the indexed
`blocked`, `once` caching failures, the snapshot formats and their readers, and output that renders
the same as the line-by-line forms it replaced."""
from __future__ import annotations

import io
import json
import random
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from rich.markup import escape

from argodoctor import s3
from argodoctor.engine.context import Context
from argodoctor.engine.model import Result, Status
from argodoctor.engine.runner import run_checks
from argodoctor.errors import KubeError
from argodoctor.report.report import SYMBOLS, Report, fix_command, print_table, to_json, write_json
from argodoctor.view.cluster import LiveView, SnapshotView, load_documents, write_snapshot

from .builders import context, controller, controller_configmap, crds, secret, workflow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seed-broken"


# ------------------------------------------------------------------------------- blocked, indexed

def scan_blocked(results: dict[str, list[Result]], check_ids: tuple[str, ...], namespace: str | None) -> str | None:
    """Context.blocked as it was: a scan of every result of each required check."""
    for cid in check_ids:
        for r in results.get(cid, []):
            if r.namespace not in (None, namespace):
                continue
            if r.status in (Status.FAIL, Status.ERROR):
                where = f" for {r.namespace}" if r.namespace else ""
                return f"blocked: {cid} {r.slug} is {r.status.value}{where}"
            if r.status is Status.SKIP and r.message.startswith("blocked:"):
                return r.message
    return None


def random_results(rng: random.Random, cid: str, namespaces: list[str | None], n: int) -> list[Result]:
    out = []
    for i in range(n):
        status = rng.choice(list(Status))
        message = rng.choice(["ok", f"blocked: AD1{i % 10} x is fail", "live only"])
        out.append(Result(cid, f"slug-{cid}", status, message, namespace=rng.choice(namespaces)))
    return out


def test_blocked_answers_as_a_scan_of_every_result_would():
    rng = random.Random(11)
    namespaces: list[str | None] = [None] + [f"ns-{i}" for i in range(40)]
    ctx = context()
    reference: dict[str, list[Result]] = {}
    for cid in ("AD201", "AD202", "AD203", "AD301"):
        reference[cid] = random_results(rng, cid, namespaces, rng.choice([0, 1, 5, 200]))
        ctx.results[cid] = reference[cid]
    queries = [("AD201",), ("AD202", "AD201"), ("AD203", "AD301", "AD999"), ("AD999",), ()]
    for requires in queries:
        for ns in [*namespaces, "elsewhere"]:
            assert ctx.blocked(requires, ns) == scan_blocked(reference, requires, ns), (requires, ns)


def test_blocked_follows_results_changed_after_they_were_stored():
    ctx = context()
    ctx.results["AD201"] = [Result("AD201", "a", Status.PASS, "ok", namespace="team-a")]
    assert ctx.blocked(("AD201",), "team-a") is None
    ctx.results["AD201"].append(Result("AD201", "a", Status.FAIL, "no", namespace="team-a"))
    assert ctx.blocked(("AD201",), "team-a") == "blocked: AD201 a is fail for team-a"
    ctx.results["AD201"] = [Result("AD201", "a", Status.ERROR, "boom")]  # cluster-wide blocks everywhere
    assert ctx.blocked(("AD201",), "team-b") == "blocked: AD201 a is error"
    assert ctx.blocked(("AD201",), None) == "blocked: AD201 a is error"
    del ctx.results["AD201"]
    assert ctx.blocked(("AD201",), "team-b") is None
    ctx.results = {"AD202": [Result("AD202", "b", Status.FAIL, "no", namespace="team-c")]}  # a plain dict
    assert ctx.blocked(("AD202",), "team-c") == "blocked: AD202 b is fail for team-c"
    assert ctx.blocked(("AD202",), "team-a") is None
    assert ctx.results["AD202"][0].message == "no" and isinstance(ctx.results, dict)


def test_the_runner_stores_each_checks_results_as_a_list():
    ctx = context(controller(), controller_configmap(), workflow("team-a"), workflow("team-b"))
    from argodoctor.engine.registry import select_checks

    results = run_checks(select_checks(["AD201", "AD203"]), ctx)
    assert results and set(ctx.results) >= {"AD201", "AD203"}
    for cid, rs in ctx.results.items():
        assert isinstance(rs, list) and all(r.id == cid for r in rs)
    ad203 = {r.namespace: r for r in ctx.results["AD203"]}
    for ns in ("team-a", "team-b"):
        assert ctx.blocked(("AD203",), ns) == scan_blocked(dict(ctx.results), ("AD203",), ns)
        assert ad203[ns].status is Status.FAIL  # the Secret is missing in both


# ------------------------------------------------------------------------------- once caches failures

def test_once_computes_a_failing_fact_once_and_raises_it_again():
    ctx = context()
    calls = []

    def compute() -> int:
        calls.append(1)
        raise KubeError(403, "forbidden: cannot list namespaces")

    for _ in range(5):
        with pytest.raises(KubeError, match="cannot list namespaces") as info:
            ctx.once("fact", compute)
    assert len(calls) == 1 and info.value.status == 403
    # raising it again does not pile up frames in its traceback
    depth = len(traceback.extract_tb(info.value.__traceback__))
    with pytest.raises(KubeError) as again:
        ctx.once("fact", compute)
    assert len(traceback.extract_tb(again.value.__traceback__)) == depth
    ctx.reset()  # after a fix: computed anew
    with pytest.raises(KubeError):
        ctx.once("fact", compute)
    assert len(calls) == 2


def test_once_computes_once_under_concurrency_and_keeps_values_apart():
    ctx = context()
    calls = []
    gate = threading.Event()

    def slow() -> str:
        calls.append(1)
        gate.wait(5)
        return "value"

    out: list[str] = []
    threads = [threading.Thread(target=lambda: out.append(ctx.once("slow", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert out == ["value"] * 8 and len(calls) == 1
    assert ctx.once("other", lambda: 2) == 2 and ctx.once("slow", lambda: "new") == "value"


def test_known_namespaces_are_the_clusters_and_the_workflow_namespaces_built_once():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo"}}
    ctx = context(ns, controller(), controller_configmap(), workflow("team-a"), namespaces=("team-x",))
    lists = []
    original = ctx.view.list

    def counting(kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        lists.append(kind)
        return original(kind, namespace)
    ctx.view.list = counting  # type: ignore[method-assign]
    first = s3.known_namespaces(ctx)
    assert first == {"argo", "team-a", "team-x"}
    assert s3.known_namespaces(ctx) is first and lists.count("Namespace") == 1


def test_ad501_names_every_namespace_holding_the_service_sorted():
    svc = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": ns},
            "spec": {"ports": [{"port": 9000}]}} for ns in ("zeta", "argo")]
    ctx = context(controller(), controller_configmap(), workflow("team-a"), *svc)
    from argodoctor.engine.registry import select_checks

    results = [r for r in run_checks(select_checks(["AD501"]), ctx) if r.id == "AD501"]
    (team_a,) = [r for r in results if r.namespace == "team-a"]
    assert team_a.status is Status.FAIL
    assert "the Service is in argo, zeta: use endpoint: minio.argo.svc:9000" in team_a.message


def test_list_of_one_namespace_is_that_namespaces_objects():
    view = SnapshotView("x", [secret("a", "n1"), secret("b", "n2"), secret("c", "n1")])
    assert [o["metadata"]["name"] for o in view.list("Secret", "n1")] == ["a", "c"]
    assert view.list("Secret", "n3") == []
    view.list("Secret", "n1").clear()  # a copy: the view's own lists stay whole
    assert len(view.list("Secret", "n1")) == 2 and len(view.list("Secret")) == 3


# ------------------------------------------------------------------------------- snapshots

def check_json(cli, snapshot: Path | str) -> list[dict[str, Any]]:
    code, out, err = cli("check", "--snapshot", snapshot, "-o", "json")
    assert code in (0, 1), err
    doc = json.loads(out)
    return doc["results"]


def old_loader_documents(path: Path) -> list[dict[str, Any]]:
    """The snapshot reader as it was: PyYAML's pure-Python safe loader for every file, .json too."""
    out = []
    for file in sorted(p for p in Path(path).rglob("*") if p.suffix in (".yaml", ".yml", ".json")):
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
                out += [i for i in doc["items"] if isinstance(i, dict)]
            elif doc is not None:
                out.append(doc)
    return out


def test_a_snapshot_gives_the_same_results_through_json_yaml_and_the_old_reader(cli, tmp_path):
    view = SnapshotView(str(EXAMPLE))
    counts_json = write_snapshot(view, str(tmp_path / "json"))
    counts_yaml = write_snapshot(SnapshotView(str(EXAMPLE)), str(tmp_path / "yaml"), fmt="yaml")
    assert counts_json == counts_yaml and counts_json["Secret"] >= 1
    # one file per kind and nothing else (no file with the digest key)
    assert sorted(p.name for p in (tmp_path / "json").iterdir()) == sorted(f"{k}.json" for k in counts_json)
    assert sorted(p.name for p in (tmp_path / "yaml").iterdir()) == sorted(f"{k}.yaml" for k in counts_yaml)

    original = check_json(cli, EXAMPLE)
    assert check_json(cli, tmp_path / "json") == original
    assert check_json(cli, tmp_path / "yaml") == original
    for snap in (EXAMPLE, tmp_path / "json", tmp_path / "yaml"):
        old = run_checks(_all(), Context(SnapshotView("old", old_loader_documents(snap))))
        new = run_checks(_all(), Context(SnapshotView(str(snap))))
        assert [r.to_dict() for r in old] == [r.to_dict() for r in new]
        assert sorted(map(_key, load_documents(str(snap)))) == sorted(map(_key, old_loader_documents(snap)))


def _all():
    from argodoctor.engine.registry import all_checks

    return all_checks()


def _key(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def test_snapshot_files_are_one_list_per_kind_with_secret_values_as_digests(tmp_path):
    objs = [controller(), controller_configmap(), secret("minio", "argo", accesskey="AKIA-leak", secretkey="s3cr3t"),
            workflow("team-a"), *crds()]
    for fmt in ("json", "yaml"):
        out = tmp_path / fmt
        counts = write_snapshot(SnapshotView("x", [json.loads(json.dumps(o)) for o in objs]), str(out), fmt=fmt)
        assert counts["Secret"] == 1 and counts["Node"] == 0 and counts["Workflow"] == 1
        text = "".join(p.read_text() for p in out.iterdir())
        assert "AKIA-leak" not in text and "s3cr3t" not in text and "QUtJQS1sZWFr" not in text
        for kind, n in counts.items():
            docs = list(yaml.safe_load_all((out / f"{kind}.{fmt}").read_text()))  # JSON is YAML too
            assert len(docs) == 1 and docs[0]["kind"] == "List" and docs[0]["apiVersion"] == "v1"
            assert len(docs[0]["items"]) == n
            if fmt == "json":
                assert json.loads((out / f"{kind}.json").read_text()) == docs[0]
        (sec,) = json.loads(json.dumps(yaml.safe_load((out / f"Secret.{fmt}").read_text())["items"]))
        assert all(v.startswith("hmac:") for v in sec["data"].values())


def test_a_snapshot_in_another_format_replaces_the_earlier_one(tmp_path):
    objs = [controller(), workflow("team-a")]
    write_snapshot(SnapshotView("x", objs), str(tmp_path), fmt="yaml")
    write_snapshot(SnapshotView("x", objs), str(tmp_path), fmt="json")
    assert not list(tmp_path.glob("*.yaml")) and len(list(tmp_path.glob("*.json"))) > 1
    assert len(SnapshotView(str(tmp_path)).list("Workflow")) == 1  # not twice


def test_snapshot_reader_takes_json_in_yaml_files_and_yaml_in_json_files(tmp_path):
    (tmp_path / "a.yaml").write_text('{"kind": "List", "items": [{"kind": "Namespace", "metadata": {"name": "x"}}]}')
    (tmp_path / "b.json").write_text("kind: Namespace\nmetadata: {name: y}\n---\n"
                                     "kind: Namespace\nmetadata: {name: z}\n")
    (tmp_path / "c.json").write_text('[{"kind": "Namespace"}]')
    with pytest.raises(Exception, match="a document is not a Kubernetes object"):
        list(load_documents(str(tmp_path)))
    (tmp_path / "c.json").unlink()
    assert sorted(n["metadata"]["name"] for n in SnapshotView(str(tmp_path)).list("Namespace")) == ["x", "y", "z"]


class FakeKube:
    """LIST pages of canned objects, as Kube.list yields them; counts what was listed."""

    name = "fake"

    def __init__(self, objects: dict[str, list[dict[str, Any]]], forbidden: tuple[str, ...] = ()):
        self.objects, self.forbidden, self.listed = objects, forbidden, []

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        return {"gitVersion": "v1.35.4"}

    def list(self, path: str, *, page_size: int = 500, query: dict | None = None):
        self.listed.append(path)
        plural = path.rstrip("/").rsplit("/", 1)[-1]
        if plural in self.forbidden:
            raise KubeError(403, f"{plural} is forbidden")
        if plural not in self.objects:
            raise KubeError(404, "the server could not find the requested resource")
        for obj in self.objects[plural]:
            yield json.loads(json.dumps(obj))


def test_snapshot_of_a_live_view_streams_its_pages_and_reports_what_it_cannot_list(tmp_path, capsys):
    kube = FakeKube({"secrets": [secret("minio", "argo", accesskey="AKIA-leak")],
                     "workflows": [workflow(f"team-{i}", name=f"w{i}") for i in range(1200)],
                     "namespaces": []}, forbidden=("nodes",))
    view = LiveView(kube)  # type: ignore[arg-type]
    counts = write_snapshot(view, str(tmp_path))
    assert counts["Workflow"] == 1200 and counts["Secret"] == 1 and counts["Node"] == -1
    assert counts["Namespace"] == 0 and counts["CronWorkflow"] == 0  # 404: the kind is not served
    assert "cannot list nodes" in capsys.readouterr().err
    assert not (tmp_path / "Node.json").exists() and not list(tmp_path.glob("*.partial"))
    assert view._cache == {}  # streamed into the files, not held by the view as well
    assert "AKIA-leak" not in (tmp_path / "Secret.json").read_text()
    back = SnapshotView(str(tmp_path))
    assert len(back.list("Workflow")) == 1200 and back.list("Workflow")[5]["metadata"]["name"] == "w5"


def test_snapshot_command_writes_json_by_default_and_yaml_on_request(cli, tmp_path, monkeypatch):
    from argodoctor.cli import snapshot as snapshot_command

    kube = FakeKube({"secrets": [secret("minio", "argo", accesskey="a")], "workflows": [workflow("team-a")]})
    monkeypatch.setattr(snapshot_command, "connect", lambda args: kube)
    code, _, err = cli("snapshot", "-o", tmp_path / "j")
    assert code == 0 and "wrote 2 objects" in err, err
    assert (tmp_path / "j" / "Secret.json").exists() and not list((tmp_path / "j").glob("*.yaml"))
    code, _, err = cli("snapshot", "-o", tmp_path / "y", "--format", "yaml")
    assert code == 0, err
    (wf,) = yaml.safe_load((tmp_path / "y" / "Workflow.yaml").read_text())["items"]
    assert wf["metadata"]["namespace"] == "team-a"
    with pytest.raises(SystemExit) as bad:  # argparse refuses it: a usage error
        cli("snapshot", "-o", tmp_path / "z", "--format", "xml")
    assert bad.value.code == 2


# ------------------------------------------------------------------------------- output

MESSAGES = ["plain", "tab\there", "bell \x07 cr\r x", "[bold]markup[/] \\[x] [red]r", "multi\nline",
            "wide 日本語 é", "\x1b[31mesc", "vt\x0bff\x0cbs\x08"]


def odd_report() -> Report:
    results = []
    for i, message in enumerate(MESSAGES):
        for status in Status:
            results.append(Result(f"AD{100 + i}", "slug", status, message, namespace="n[s]" if i % 2 else None,
                                  object="o[b]" if i % 3 else None, remediation="fix-it",
                                  group=["install", "rbac", "custom"][i % 3]))
    return Report("cluster [x]", None, "2026-01-01T00:00:00Z", 1.5, results)


def print_table_line_by_line(report: Report, console: Console) -> None:
    """The table as it was printed before: one console.print per line."""
    from argodoctor import __version__
    from argodoctor.report.report import GROUP_ORDER

    console.print(f"[bold]argodoctor {__version__}[/] · {escape(report.cluster)} · Argo "
                  f"{report.argo_version or 'not detected'}")
    groups: dict[str, list[Result]] = {}
    for r in report.results:
        groups.setdefault(r.group, []).append(r)
    for group in GROUP_ORDER + sorted(g for g in groups if g not in GROUP_ORDER):
        if group not in groups:
            continue
        console.print(f"\n[bold]{group}[/]")
        for r in groups[group]:
            symbol, style = SYMBOLS[r.status]
            where = " ".join(x for x in (r.namespace, r.object) if x)
            where = f" {escape(where)}" if where else ""
            console.print(f"  [{style}]{symbol}[/] {r.id} {r.slug}{where}: {escape(r.message)}", soft_wrap=True)
            if r.remediation and r.status in (Status.FAIL, Status.WARN):
                console.print(f"      fix: [cyan]{fix_command(r.remediation)}[/]", soft_wrap=True)
            if r.status is Status.FAIL:
                console.print(f"      docs: [blue]{r.docs}[/]", soft_wrap=True)
    s = report.summary()
    console.print(f"\n{', '.join(f'{n} {k}' for k, n in s.items())} ({report.duration_s:.1f}s)")


@pytest.mark.parametrize("console_kw", [dict(width=80), dict(width=20),
                                        dict(force_terminal=False, color_system="truecolor", width=100),
                                        dict(force_terminal=False, color_system="standard", width=40)])
@pytest.mark.parametrize("messages", [MESSAGES, ["plain", "wide 日本語 é", "[bold]x[/]", "multi\nline"]])
def test_the_table_prints_what_printing_it_line_by_line_printed(console_kw, messages):
    """Into a pipe or a file (a terminal gets the wrapped grid: tests/unit/test_table_terminal.py)."""
    report = odd_report()
    report.results = [r for r in report.results if r.message in messages]
    outs = []
    for printer in (print_table, print_table_line_by_line):
        buf = io.StringIO()
        printer(report, Console(file=buf, highlight=False, **console_kw))
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]
    assert "AD100 slug: plain" in outs[0] and "fix-it" in outs[0]


def test_json_output_is_json_dumps_with_indent_two():
    report = odd_report()
    assert to_json(report) == json.dumps(report.to_dict(), indent=2) + "\n"
    empty = Report("c", None, "now", 0.0, [])
    assert to_json(empty) == json.dumps(empty.to_dict(), indent=2) + "\n"
    for doc in ({"a": 1, "results": [{"x": {"y": [1, {"z": "é\n"}]}, "n": None}, {}, {"i": 2.5, "b": True, 3: 4}, 5]},
                {"results": [{"id": "x"}], "after": 1}, {"results": []}, {"results": None}):
        for lazy in (False, True):  # a list, or an iterator as Report.to_dict(lazy=True) gives
            given = dict(doc, results=iter(doc["results"])) if lazy and doc["results"] is not None else doc
            buf = io.StringIO()
            write_json(given, buf, chunk=2)
            assert buf.getvalue() == json.dumps(doc, indent=2) + "\n"
    for r in (report, empty):
        buf = io.StringIO()
        write_json(r.to_dict(lazy=True), buf)
        assert buf.getvalue() == to_json(r)


def test_check_json_output_is_the_reports_json(cli):
    code, out, _ = cli("check", "--snapshot", EXAMPLE, "-o", "json")
    doc = json.loads(out)
    assert code == 1 and out == json.dumps(doc, indent=2) + "\n" and doc["results"]
