from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from argodoctor.cli import main

from . import harness


def _manifests_dir() -> Path:
    """ARGODOCTOR_MANIFESTS, else ../shared/argo-manifests beside the checkout, else the workplace's copy."""
    if os.environ.get("ARGODOCTOR_MANIFESTS"):
        return Path(os.environ["ARGODOCTOR_MANIFESTS"])
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "argo-manifests",
                  Path("/work/shared/argo-manifests")]
    return next((c for c in candidates if c.is_dir()), candidates[0])


MANIFESTS = _manifests_dir()
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str):
    # In CI a missing server is a failure, never a silent skip.
    if IN_CI:
        pytest.fail(f"integration prerequisites missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def server_bin() -> Path:
    try:
        return harness.build_servers()
    except Exception as e:  # build failure: report why
        _unavailable(f"cannot build the test servers: {e}")


@pytest.fixture(scope="session")
def workdir():
    path = harness.make_workdir()
    yield path
    if not os.environ.get("ARGODOCTOR_KEEP_WORKDIR"):
        harness.remove_workdir(path)


@pytest.fixture(scope="session")
def control_plane(server_bin, workdir):
    cp = harness.ControlPlane(server_bin, workdir / "cp")
    try:
        cp.start()
    except Exception:
        cp.stop()
        raise
    print(f"\n[harness] real {cp.version()} with etcd on {cp.url} (RBAC, audit log)")
    yield cp
    cp.stop()


@pytest.fixture(scope="module")
def own_control_plane(server_bin, workdir, request):
    """A control plane of the test module's own, for tests that need a clean cluster."""
    cp = harness.ControlPlane(server_bin, workdir / f"cp-{request.module.__name__.rsplit('.', 1)[-1]}")
    try:
        cp.start()
    except Exception:
        cp.stop()
        raise
    yield cp
    cp.stop()


@pytest.fixture
def fresh_control_plane(server_bin, workdir, request):
    """A control plane of the test's own: each parametrised case on a clean state."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    cp = harness.ControlPlane(server_bin, workdir / f"cp-{name}")
    try:
        cp.start()
        yield cp
    finally:
        cp.stop()


@pytest.fixture
def full_control_plane(server_bin, workdir, request):
    """A fuller control plane of the test's own (kube-controller-manager, kube-scheduler, kwok fake
    nodes: add_node), stopped after the test."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    cp = harness.FullControlPlane(server_bin, workdir / f"fullcp-{name}")
    try:
        cp.start()
        print(f"\n[harness] full control plane ({cp.server_version()}, kube-controller-manager, "
              f"kube-scheduler, kwok) up in {cp.startup_seconds:.1f}s")
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="module")
def real_plane(server_bin, workdir, request):
    """A fuller control plane of the test module's own whose Workflows really run (issue 26): kwok's
    node kwok-0 for the pods of Deployments, the tests' kubelet (tests/kubelet.py) on real-node,
    tainted so that only Workflows given kubelet.on_real_node go there, running Argo's argoexec built
    by build.sh; versitygw on port 9000 of a loopback address of its own, which the kubelet's cluster
    DNS gives as minio.argo.svc (while that Service exists). Yields .cp, .s3, .kubelet."""
    from types import SimpleNamespace

    from .kubelet import REAL_NODE_TAINT, Kubelet, loopback_address

    if os.geteuid() != 0:
        _unavailable("the test kubelet needs root (mount namespaces, overlay mounts)")
    name = request.module.__name__.rsplit(".", 1)[-1]
    cp = harness.FullControlPlane(server_bin, workdir / f"realcp-{name}")
    s3 = harness.S3Server(server_bin, workdir / f"reals3-{name}", address=(loopback_address(), 9000))
    kubelet = None
    try:
        cp.start()
        s3.start()
        cp.add_node("kwok-0")
        kubelet = Kubelet(cp, "real-node", argoexec=server_bin / "argoexec", taints=[REAL_NODE_TAINT])
        kubelet.route_service("argo", "minio", s3.host)
        kubelet.start()
        yield SimpleNamespace(cp=cp, s3=s3, kubelet=kubelet)
    finally:
        if kubelet is not None:
            kubelet.stop()
        s3.stop()
        cp.stop()


@pytest.fixture
def wait_deployment_available(full_control_plane):
    """wait_deployment_available(namespace, name, timeout=90) -> the Deployment once Available."""
    return full_control_plane.wait_deployment_available


@pytest.fixture(scope="module")
def own_s3_server(server_bin, workdir, request):
    """An S3 server of the test module's own (empty: bucket names as the seed guide writes them)."""
    s3 = harness.S3Server(server_bin, workdir / f"s3-{request.module.__name__.rsplit('.', 1)[-1]}")
    s3.start()
    yield s3
    s3.stop()


@pytest.fixture(scope="session")
def s3_server(server_bin, workdir):
    s3 = harness.S3Server(server_bin, workdir / "s3")
    s3.start()
    print(f"\n[harness] real S3 server versitygw on {s3.endpoint}")
    yield s3
    s3.stop()


@pytest.fixture(scope="session")
def admin_kubeconfig(control_plane) -> Path:
    return control_plane.kubeconfig()


@pytest.fixture(scope="session")
def admin_kube(admin_kubeconfig):
    from argodoctor.view.kube import Kube

    return Kube(str(admin_kubeconfig))


@pytest.fixture
def unique():
    """A short unique suffix for names, so tests share one control plane without clashing."""
    return uuid.uuid4().hex[:6]


REPORT_SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "report.schema.json"


def validate_report(text: str) -> None:
    """Every `check -o json` the suite runs is validated against the published JSON Schema."""
    import json

    import jsonschema

    jsonschema.validate(json.loads(text), json.loads(REPORT_SCHEMA.read_text()))


DIAGNOSE_SCHEMA = REPORT_SCHEMA.with_name("diagnose.schema.json")


def validate_diagnose(text: str) -> dict:
    """`diagnose -o json` against docs/diagnose.schema.json (its evidence refers to the report's result)."""
    import json

    import jsonschema
    from referencing import Registry, Resource

    report = json.loads(REPORT_SCHEMA.read_text())
    registry = Registry().with_resource(report["$id"], Resource.from_contents(report))
    doc = json.loads(text)
    jsonschema.Draft202012Validator(json.loads(DIAGNOSE_SCHEMA.read_text()), registry=registry).validate(doc)
    return doc


@pytest.fixture
def cli(capsys):
    """Runs argodoctor in-process: cli(*argv) -> (exit code, stdout, stderr)."""
    def run(*argv: str) -> tuple[int, str, str]:
        argv = tuple(str(a) for a in argv)
        code = main(list(argv))
        out = capsys.readouterr()
        json_out = any(a in ("-o", "--output") and argv[i + 1] == "json" for i, a in enumerate(argv[:-1]))
        if argv and argv[0] == "check" and json_out and code in (0, 1) and "--output-file" not in argv:
            validate_report(out.out)
        return code, out.out, out.err
    return run


def manifests(version: str, flavour: str = "cluster-install") -> Path:
    path = MANIFESTS / version / f"{flavour}.yaml"
    if not path.exists():
        _unavailable(f"Argo manifests not found at {path} (set ARGODOCTOR_MANIFESTS)")
    return path


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true a skipped test, or a run without integration tests, fails the suite."""
    if not IN_CI or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter else {}
    skipped = stats.get("skipped", [])
    ran_integration = [r for r in stats.get("passed", []) if "/integration/" in r.nodeid]
    if skipped or not ran_integration:
        why = f"{len(skipped)} skipped" if skipped else "no integration test ran"
        print(f"\nCI=true: {why}; integration tests must run against the real servers")
        session.exitstatus = 1
    else:
        print(f"\nCI=true: {len(ran_integration)} integration tests passed against the real servers")
