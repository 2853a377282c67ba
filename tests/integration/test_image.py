"""Issue 15: the real image, built from the Dockerfile without a Docker engine (buildah, chroot isolation),
and the CronJob's command run from it exactly as in a pod: uid 10001, a read-only root filesystem with only
the manifest's volumes writable, the ServiceAccount's token and CA at the in-cluster paths and
KUBERNETES_SERVICE_HOST/PORT set, against the test control plane. The reports it writes to the ConfigMap
and to the S3 server are read back.

The Dockerfile's default base (a slim Python image) needs a registry; when it cannot be pulled, the base
is built with mmdebstrap from the Debian mirror apt uses here (python3 and python3-venv), cached as an OCI
archive under ~/.cache/argodoctor/image and in buildah's storage."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from argodoctor.report.cronjob import DEFAULT_IMAGE
from argodoctor.report.sinks import ConfigMapStore, parse_sink

from ..conftest import _unavailable
from .test_reports import REPORT, cluster  # noqa: F401  (the fixture: Argo, artifact repository on S3, team-a)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ARGODOCTOR_CACHE", Path.home() / ".cache" / "argodoctor")) / "image"
SUITE = "bookworm"
PACKAGES = ("python3-venv",)  # pulls python3; nothing else: no compilers, no apt caches
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def sh(*argv: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def default_base() -> str:
    m = re.search(r"^ARG BASE_IMAGE=(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert m, "the Dockerfile declares ARG BASE_IMAGE with a default"
    return m.group(1)


def apt_sources() -> Path:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    for p in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"),
              *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if p.is_file() and "debian" in p.read_text() and p.suffix in (".sources", ".list"):
            return p
    _unavailable("no Debian mirror in /etc/apt/sources.list*")


def debian_base() -> tuple[str, str]:
    """(image, how it was obtained): the mmdebstrap base, from buildah's storage, the cached OCI archive or
    built now."""
    sources = apt_sources()
    key = hashlib.sha256(f"{SUITE} {PACKAGES} {sources.read_text()}".encode()).hexdigest()[:12]
    image = f"localhost/argodoctor-base:{SUITE}-{key}"
    if sh("buildah", "inspect", "--type", "image", image, check=False).returncode == 0:
        return image, "cached in buildah storage"
    archive = CACHE / f"base-{SUITE}-{key}.oci.tar"
    if archive.exists():
        sh("buildah", "tag", sh("buildah", "pull", "-q", f"oci-archive:{archive}").stdout.strip(), image)
        return image, f"loaded from {archive}"
    CACHE.mkdir(parents=True, exist_ok=True)
    rootfs = CACHE / f"base-{SUITE}-{key}.rootfs.tar"
    t0 = time.monotonic()
    sh("mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", f"--include={','.join(PACKAGES)}",
       "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-include=/usr/share/doc/*/copyright",
       "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
       "--aptopt=Acquire::Retries \"3\"", SUITE, str(rootfs), str(sources), timeout=1800)
    ctr = sh("buildah", "from", "scratch").stdout.strip()
    try:
        sh("buildah", "add", "--quiet", ctr, str(rootfs), "/")
        sh("buildah", "config", "--env", "PATH=/usr/local/bin:/usr/bin:/bin", "--cmd", "/usr/bin/python3", ctr)
        sh("buildah", "commit", "-q", ctr, image)
    finally:
        sh("buildah", "rm", ctr, check=False)
    rootfs.unlink()
    sh("buildah", "push", "-q", image, f"oci-archive:{archive}.tmp:{image}")
    os.replace(f"{archive}.tmp", archive)
    return image, f"built by mmdebstrap in {time.monotonic() - t0:.0f}s, cached at {archive}"


def resolve_inside(root: str, path: str) -> str:
    """path with the symbolic links of its directories resolved as inside the root filesystem at root."""
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    for _ in range(40):
        if not parts:
            return "/" + "/".join(done)
        head = parts.pop(0)
        link = os.path.join(root, *done, head)
        if os.path.islink(link):
            target = os.readlink(link)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
        elif head == "..":
            done = done[:-1]
        elif head != ".":
            done.append(head)
    raise AssertionError(f"too many links resolving {path}")


def image_size(image: str) -> float:
    """Bytes, uncompressed: what `buildah images` says (decimal units)."""
    text = json.loads(sh("buildah", "images", "--json", image).stdout)[0]["size"]
    m = re.fullmatch(r"([\d.]+)\s*([kMGT]?B)", text.strip())
    assert m, text
    return float(m.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[m.group(2)]


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    """The Dockerfile built with buildah and tagged as the image the CronJob names."""
    for tool in ("buildah", "mmdebstrap"):
        if not shutil.which(tool):
            _unavailable(f"{tool} is not installed (tests/run.sh installs it with apt-get as root)")
    base = default_base()
    t0 = time.monotonic()
    pulled = sh("buildah", "pull", "-q", base, timeout=300, check=False)
    if pulled.returncode == 0:
        how = f"pulled {base}"
    else:
        base, how = debian_base()
    base_s = time.monotonic() - t0
    args = ["--build-arg", f"BASE_IMAGE={base}"]
    # pip's CA bundle, when pip is configured with one (a proxy that re-signs TLS)
    cert = os.environ.get("PIP_CERT") or sh(sys.executable, "-m", "pip", "config", "get", "global.cert",
                                             check=False).stdout.strip()
    if cert and Path(cert).is_file():
        args += ["--secret", f"id=pip-ca,src={cert}"]
    t0 = time.monotonic()
    sh("buildah", "bud", "--isolation", "chroot", "--layers", "-q", *args, "-t", DEFAULT_IMAGE, str(ROOT),
       timeout=1800)
    build_s = time.monotonic() - t0
    out = tmp_path_factory.mktemp("image") / "argodoctor.oci.tar"
    sh("buildah", "push", "-q", DEFAULT_IMAGE, f"oci-archive:{out}:{DEFAULT_IMAGE}")
    size, base_size = image_size(DEFAULT_IMAGE), image_size(base)
    print(f"\n[image] base {base} ({how}, {base_s:.1f}s, {base_size / 1e6:.0f} MB); "
          f"build {build_s:.1f}s; image {DEFAULT_IMAGE}: {size / 1e6:.0f} MB "
          f"({(size - base_size) / 1e6:.0f} MB over the base), OCI archive {out.stat().st_size / 1e6:.0f} MB")
    assert size - base_size < 150e6, "argodoctor's layers should stay small"
    return DEFAULT_IMAGE


def test_image_runs_as_uid_10001_without_pip_or_compilers(image):
    cfg = json.loads(sh("buildah", "inspect", "--type", "image", image).stdout)["OCIv1"]["config"]
    assert cfg["User"] == "10001:10001" and "HOME=/tmp" in cfg["Env"]
    ctr = sh("buildah", "from", "-q", image).stdout.strip()
    try:
        p = sh("buildah", "run", "--isolation", "chroot", ctr, "--", "sh", "-c",
               "id -u; argodoctor --version; command -v pip gcc cc || true; "
               "ls /opt/argodoctor/bin | grep -c pip || true")
        assert p.stdout.split() == ["10001", "argodoctor", "0.1.0", "0"], p.stdout
    finally:
        sh("buildah", "rm", ctr, check=False)


def test_image_holds_exactly_the_locked_dependencies(image):
    """The venv's distributions are requirements.lock's pins (setuptools, the build backend, removed after
    the build) and argodoctor: nothing resolved at build time beside the lock."""
    from packaging.utils import canonicalize_name

    from ..unit.test_lock import locked

    ctr = sh("buildah", "from", "-q", image).stdout.strip()
    try:
        p = sh("buildah", "run", "--isolation", "chroot", ctr, "--", "python3", "-c",
               "import importlib.metadata as m, json; "
               "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    finally:
        sh("buildah", "rm", ctr, check=False)
    found = {canonicalize_name(k): v for k, v in json.loads(p.stdout).items()}
    want = {name: version for name, (version, _) in locked().items() if name != "setuptools"}
    assert found.pop("argodoctor") == "0.1.0"
    assert found == want


def test_the_cronjobs_command_runs_from_the_image_in_cluster(image, cluster, cli, tmp_path):  # noqa: F811
    cp, kube, s3, bucket = cluster
    code, out, err = cli("cronjob", "install", "--yes", "--kubeconfig", str(cp.kubeconfig()),
                         "--backup-dir", tmp_path, "--report-to", f"s3://{bucket}/from-image")
    assert code == 0, out + err
    # What the pod would run, from the manifest itself (the in-cluster S3 endpoint and team-a as check args).
    code, out, _ = cli("cronjob", "manifest", "--report-to", f"s3://{bucket}/from-image", "--",
                       "--s3-endpoint", s3.endpoint, "--workflow-namespace", "team-a")
    cron = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "CronJob")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == image
    sec = container["securityContext"]
    assert sec["readOnlyRootFilesystem"] and sec["runAsUser"] == 10001

    # The ServiceAccount's token (TokenRequest) and the CA, as the kubelet projects them.
    sa_dir = tmp_path / "serviceaccount"
    sa_dir.mkdir()
    token = kube.request("POST", f"/api/v1/namespaces/{cron['metadata']['namespace']}/serviceaccounts/"
                                 f"{pod['serviceAccountName']}/token",
                         body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                               "spec": {"expirationSeconds": 3600}})["status"]["token"]
    (sa_dir / "token").write_text(token)
    shutil.copy(cp.pki / "ca.crt", sa_dir / "ca.crt")
    (sa_dir / "namespace").write_text(cron["metadata"]["namespace"])
    for f in sa_dir.iterdir():
        f.chmod(0o644)
    sa_dir.chmod(0o755)
    # The manifest's volumes: each an empty directory the pod's user may write (emptyDir + fsGroup).
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = []
    for m in container["volumeMounts"]:
        assert "emptyDir" in volumes[m["name"]], m
        d = tmp_path / f"vol-{m['name']}"
        d.mkdir()
        os.chown(d, 0, pod["securityContext"]["fsGroup"])
        d.chmod(0o2775)
        mounts += ["-v", f"{d}:{m['mountPath']}"]

    ctr = sh("buildah", "from", "-q", image).stdout.strip()
    try:
        # Mount points and the files buildah binds (hosts, resolv.conf, .containerenv) made once, as root;
        # then the container's root filesystem is remounted read-only for the real run.
        root = sh("buildah", "mount", ctr).stdout.strip()
        # /var/run is a link to /run: buildah 1.28 would follow an absolute link on the host when it makes
        # the mount point, so the mount goes to the path the link resolves to inside the image.
        sa_dest = resolve_inside(root, SA_DIR)
        sh("buildah", "run", "--isolation", "chroot", "--user", "0:0", ctr, "--", "mkdir", "-p", sa_dest)
        for f in ("run/.containerenv", "etc/hosts", "etc/resolv.conf", "etc/hostname"):  # never through a link
            os.close(os.open(os.path.join(root, f), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644))
        sh("mount", "-o", "remount,ro", root)
        env = [a for e in container["env"] for a in ("-e", f"{e['name']}={e['value']}")]
        env += ["-e", "KUBERNETES_SERVICE_HOST=127.0.0.1", "-e", f"KUBERNETES_SERVICE_PORT={cp.port}"]
        t0 = time.monotonic()
        p = sh("buildah", "run", "--isolation", "chroot", "--network", "host",
               "--user", f"{sec['runAsUser']}:{sec['runAsGroup']}", *env, *mounts,
               "-v", f"{sa_dir}:{sa_dest}:ro", ctr, "--",
               "sh", "-c", '"$@"; echo "command exited $?"', "sh", *container["command"], check=False, timeout=300)
        run_s = time.monotonic() - t0
        probe = sh("buildah", "run", "--isolation", "chroot", "--user", "10001:10001", *mounts, ctr, "--",
                   "sh", "-c", "touch /opt/x 2>&1; touch /x 2>&1; touch /tmp/ok && echo tmp-writable",
                   check=False)
    finally:
        sh("buildah", "umount", ctr, check=False)
        sh("buildah", "rm", ctr, check=False)
    # buildah 1.28's own exit status is no use here: cleaning up its mount points on the read-only root
    # filesystem fails and it panics after the command; the command's exit status is printed by sh.
    m = re.search(r"command exited (\d+)", p.stdout)
    print(f"\n[image] the CronJob's command ran from the image in {run_s:.1f}s "
          f"(exit {m.group(1) if m else '?'}; buildah {p.returncode})")
    assert m and m.group(1) == "0", p.stdout[-3000:] + p.stderr[-3000:]
    assert "in-cluster" in p.stdout and "AD203" in p.stdout, p.stdout[-2000:]
    assert probe.stdout.count("Read-only file system") == 2 and "tmp-writable" in probe.stdout, probe.stdout

    # The report in the ConfigMap, written by the ServiceAccount (the audit log says who).
    stored = ConfigMapStore(kube, parse_sink(REPORT)).read()
    latest = stored["latest"]
    assert latest["cluster"] == "in-cluster" and latest["results"]
    assert {r["status"] for r in latest["results"] if r["id"] == "AD203"} == {"pass"}
    # ... and in the S3 server, read back through `report show`.
    names = [o.object_name for o in s3.client().list_objects(bucket, prefix="from-image/", recursive=True)]
    assert "from-image/latest.json" in names and any(n.endswith(".html") for n in names), names
    body = s3.client().get_object(bucket, "from-image/latest.json").read()
    assert json.loads(body)["started"] == latest["started"]
    # the in-cluster identity is the CronJob's ServiceAccount, and it wrote nothing but its report and Events
    sa_writes = [e for e in cp.audit_events() if e.get("user", {}).get("username") ==
                 "system:serviceaccount:argodoctor:argodoctor" and e["verb"] in ("patch", "update", "create")]
    assert {e["objectRef"]["resource"] for e in sa_writes} <= {"configmaps", "events", "selfsubjectreviews",
                                                               "selfsubjectaccessreviews"}  # reviews store nothing
    assert any(e["objectRef"].get("name") == "argodoctor-report" for e in sa_writes)
