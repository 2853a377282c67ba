"""The argodoctor command line: check, fix, list, snapshot, role."""
from __future__ import annotations

import argparse
import atexit
import contextlib
import dataclasses
import datetime as dt
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..engine import registry
from ..engine.model import FORMATS
from ..errors import ApplyError, KubeError, UserError
from ..report.cronjob import DEFAULT_IMAGE

# Everything else is imported where it is used: `--help` and `list` must start fast (issue 11).
if TYPE_CHECKING:
    from rich.console import Console

    from ..engine.context import Context
    from ..report.report import Report
    from ..view.cluster import ClusterView
    from ..view.kube import Kube

DIFF_LINES = 40  # per object, in plans, unless --full-diff

EPILOG_CHECK = """\
exit codes: 0 nothing failed, 1 a check failed or could not run (or warned,
with --fail-on warn), 2 usage, connection or configuration error.

examples:
  argodoctor check                          # the current kubeconfig context
  argodoctor check -n team-a -n team-b      # only these namespaces (and what is cluster-wide)
  argodoctor check --workflow-namespace new-team   # judge a namespace with no workflows yet
  argodoctor check --checks 'AD2*' -o json  # artifact checks, machine-readable
  argodoctor check --snapshot examples/seed-broken
"""

EPILOG_FIX = """\
Remediations run in the catalog's order whatever order they are given in. Each
one plans first and shows its plan as a diff; it writes only after you confirm
(or with --yes), by server-side apply with field manager `argodoctor`. The live
before-image of every object it changes goes to a backup file whose path is
printed. Afterwards the checks it targets run again.

examples:
  argodoctor fix --all --dry-run            # show every planned change, write nothing
  argodoctor fix copy-artifact-secret --yes
  argodoctor fix AD203                      # the remediation named by check AD203
"""


def _add_connection_flags(g: Any, default: Any) -> None:
    """--kubeconfig, --context, --as, --as-group: on the top-level parser (default None) and again on each
    command that connects (default SUPPRESS, so a value given before the command is kept)."""
    g.add_argument("--kubeconfig", metavar="FILE", default=default,
                   help="kubeconfig file (default: the files of $KUBECONFIG, merged as kubectl merges them, "
                        "else ~/.kube/config, else the in-cluster config)")
    g.add_argument("--context", default=default, help="kubeconfig context to use (default: its current context)")
    g.add_argument("--as", dest="as_user", metavar="USER", default=default,
                   help="impersonate USER, e.g. system:serviceaccount:argodoctor:argodoctor to see what the "
                        "CronJob sees (needs the impersonate verb)")
    g.add_argument("--as-group", dest="as_groups", metavar="GROUP", action="append",
                   default=[] if default is None else default, help="impersonate GROUP too (repeatable; with --as)")


def _add_global_flags(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="log API requests and internals to stderr")
    p.add_argument("--no-color", action="store_true", default=default,
                   help="no colours, even on a terminal (as NO_COLOR=1)")


def _add_cluster_flags(p: argparse.ArgumentParser, snapshot: bool = True, argo: bool = True,
                       scope: bool = False, title: str = "cluster") -> None:
    """Connection flags; with argo, also the Argo and object-store flags that checks and fixes use; with
    scope, -n / -A (check)."""
    g = p.add_argument_group(title)
    _add_connection_flags(g, argparse.SUPPRESS)
    if snapshot:
        g.add_argument("--snapshot", metavar="PATH",
                       help="read objects from a file or directory of YAML/JSON instead of a cluster "
                            "(live-only checks report skip)")
    g.add_argument("--request-timeout", type=_duration, default=30.0, metavar="DURATION",
                   help="read timeout of each API request, as kubectl takes it: 30s, 1m, 500ms or seconds "
                        "(default 30s; connecting times out after 5s)")
    g.add_argument("--chunk-size", type=_chunk_size, metavar="N",
                   help="read each kind in LIST pages of N objects, as kubectl's --chunk-size; 0 reads each "
                        "kind whole (default: whole from Kubernetes 1.33, whose API server serves a whole list "
                        "from its cache, streamed; else 500)")
    if not argo:
        return
    a = p.add_argument_group("argo")
    if scope:
        a.add_argument("-n", "--namespace", dest="only_namespaces", action="append", default=[], metavar="NS",
                       help="report only on NS (repeatable) and on what is cluster-wide (the controller, "
                            "CRDs, bindings); the kubeconfig context's namespace plays no part: like "
                            "`kubectl get -A`, every workflow namespace is checked unless -n is given")
        a.add_argument("-A", "--all-namespaces", action="store_true",
                       help="every workflow namespace (the default; the opposite of -n)")
    a.add_argument("--workflow-namespace", dest="namespaces", action="append", default=[], metavar="NS",
                   help="also treat NS as a workflow namespace though it holds no workflow objects yet "
                        "(repeatable)")
    a.add_argument("--argo-version", metavar="VERSION",
                   help="Argo version to judge by, e.g. v3.5.15 (default: the controller image's tag)")
    a.add_argument("--controller-namespace", metavar="NS",
                   help="where the workflow-controller runs when it cannot be found (default: argo)")
    _add_s3_flags(p.add_argument_group("object store"))


def _add_access_flags(g: Any) -> None:
    """check's and role's: what argodoctor reads, so the role printed is the role that run needs."""
    g.add_argument("--namespaced-read", action="store_true",
                   help="read namespaced objects only in the controller's namespace (--controller-namespace, "
                        "default argo) and the namespaces named by --workflow-namespace and -n, one LIST per "
                        "kind and namespace, instead of cluster-wide; objects elsewhere (a Service, Secret or "
                        "binding in another namespace) are not seen. For a role of Roles in those namespaces "
                        "(`argodoctor role --namespaced-read ...`)")
    g.add_argument("--no-secrets", action="store_true",
                   help="read no Secret: the checks that need one (AD203, AD204-AD208, AD304) report skip, "
                        "never pass. For a role without Secret access (`argodoctor role --no-secrets`)")


def _add_s3_flags(o: Any) -> None:
    o.add_argument("--s3-endpoint", metavar="HOST:PORT",
                   help="reach the artifact repository's S3 store at HOST:PORT instead of its configured "
                        "endpoint (default: the endpoint itself, or a port-forward to the in-cluster "
                        "Service's pod when running outside the cluster)")
    o.add_argument("--s3-connect-timeout", type=float, default=3.0, metavar="SECONDS",
                   help="connect timeout of each S3 request (default 3)")
    o.add_argument("--s3-read-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="read timeout of each S3 request (default 10)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="argodoctor",
        description="Diagnose and repair Argo Workflows installations: the artifact repository, "
                    "its secrets and bucket, workflow service accounts and RBAC, the executor.",
        epilog="Run `argodoctor COMMAND --help` for each command's flags. Check ids and what they "
               "mean: `argodoctor list` and docs/checks.md.")
    p.add_argument("--version", action="version", version=f"argodoctor {__version__}")
    _add_global_flags(p, False)
    _add_connection_flags(p.add_argument_group("connection (also accepted after the command)"), None)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="run the checks and report", description="Run the checks against "
                       "a cluster or a snapshot and report one line per result.", epilog=EPILOG_CHECK,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_cluster_flags(c, scope=True)
    p_ = c.add_argument_group("before installing")
    p_.add_argument("--pre", action="store_true",
                    help="run the pre-install checks (AD001-AD004) instead: may the caller create what "
                         "`fix install-argo` and `deploy-object-store` create, does the release support this "
                         "Kubernetes version, is there a default StorageClass, which executor the nodes allow")
    p_.add_argument("--install-version", metavar="VERSION", type=_argo_version,
                    help="with --pre: the Argo release to judge (default: the installed one, else v3.7.18)")
    _add_access_flags(c.add_argument_group("access (what argodoctor reads; `argodoctor role` takes the same flags)"))
    m = c.add_argument_group("manifests (before apply)")
    m.add_argument("-f", "--filename", dest="filenames", action="append", default=[], metavar="PATH",
                   help="judge the objects of PATH as they will be once applied: a file, a directory, or - for "
                        "stdin (what `helm template` or `kubectl kustomize` prints); repeatable. Overlaid on the "
                        "live cluster unless --offline; findings name file:line")
    m.add_argument("--offline", action="store_true", help="with -f: judge the files alone, no cluster")
    m.add_argument("--apply-namespace", metavar="NS",
                   help="with -f: the namespace of namespaced objects that name none, as `kubectl apply -n NS` "
                        "(default: the kubeconfig context's namespace, else default)")
    c.add_argument("--checks", metavar="IDS", help="comma-separated check ids, slugs or globs (e.g. AD203,'AD1*')")
    c.add_argument("-o", "--output", choices=(*FORMATS, "wide"), default="table", metavar="FORMAT",
                   help="table (default, for people: failures first, passes rolled up per check), wide (the "
                        "table with every result), json (the catalog's schema, nothing else on stdout), "
                        "yaml, junit, sarif, markdown, html (one self-contained page) or prometheus")
    c.add_argument("--show", choices=["passed"], metavar="passed",
                   help="`--show passed`: list every passing result in the table instead of one line per check")
    c.add_argument("--only", metavar="STATUSES", type=_statuses,
                   help="report only results of these statuses, for every format: e.g. failed,warn "
                        "(pass, warn, fail, skip, error; the exit code still counts every result)")
    c.add_argument("--output-file", metavar="PATH", help="write the output to PATH instead of stdout")
    c.add_argument("--docs-url", metavar="URL",
                   help="where every format links each check's docs, anchor #ad203 appended (default: the "
                        "project's published docs/checks.md)")
    c.add_argument("--fail-on", choices=["fail", "warn", "none"], default="fail",
                   help="exit 1 on failures only (default), on warnings too, or never (scheduled runs)")
    c.add_argument("--config", metavar="FILE",
                   help="exemptions file (default: .argodoctor.yaml in the working directory when present)")
    c.add_argument("--no-annotation-exemptions", action="store_true",
                   help="ignore argodoctor.io/exempt annotations on objects (for auditors: only the reviewed "
                        "exemptions file counts)")
    r = c.add_argument_group("reports")
    r.add_argument("--report-to", action="append", default=[], metavar="URL",
                   help="also store the report at configmap://NAMESPACE/NAME (latest, previous and a bounded "
                        "history), s3://BUCKET/PREFIX (timestamped JSON and HTML, and latest.json) or "
                        "file://PATH (JSON); repeatable")
    r.add_argument("--report-s3-secret", metavar="NS/NAME",
                   help="Secret with keys accesskey and secretkey for s3:// reports (default: the artifact "
                        "repository's own credentials)")
    r.add_argument("--events", action="store_true",
                   help="emit a Kubernetes Event for each result whose status changed since the previous report "
                        "in the configmap:// destination")
    r.add_argument("--push-gateway", metavar="URL",
                   help="also push the metrics of -o prometheus to this Prometheus Pushgateway (replacing the "
                        "group job=--push-job, cluster=<cluster name>; timeout --request-timeout)")
    r.add_argument("--push-job", default="argodoctor", metavar="NAME",
                   help="the job label of the pushed metrics (default argodoctor)")

    f = sub.add_parser("fix", help="plan and apply remediations", description="Repair what the checks "
                       "found, or install from scratch with --all.", epilog=EPILOG_FIX,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("ids", nargs="*", metavar="ID", help="remediation ids (or check ids, for their remediation)")
    f.add_argument("--all", action="store_true", help="every remediation, in the catalog's order")
    f.add_argument("--dry-run", nargs="?", const="client", choices=["client", "server"], metavar="client|server",
                   help="show the plan as a diff and write nothing; --dry-run=server also sends it with the API "
                        "server's dry run (dryRun=All), so admission policies, quotas and field-ownership "
                        "conflicts are found, still writing nothing")
    f.add_argument("--force-conflicts", action="store_true",
                   help="take ownership of fields another field manager owns (helm, argocd-controller, "
                        "kubectl-client-side-apply), and patch objects Helm or Argo CD manage; their next "
                        "upgrade or sync may set them back")
    f.add_argument("-o", "--output", choices=["diff", "yaml"], default="diff",
                   help="diff (default: show the plan and apply it) or yaml (print the planned objects as "
                        "manifests to commit, Secret values left out, and apply nothing: for GitOps)")
    f.add_argument("--full-diff", action="store_true",
                   help=f"show every line of each object's diff (default: the first {DIFF_LINES})")
    f.add_argument("-y", "--yes", action="store_true", help="apply without asking")
    f.add_argument("--allow-destructive", action="store_true",
                   help="allow remediations that delete or narrow what exists (replace-broad-binding); "
                        "--all includes them only with this flag")
    f.add_argument("--backup-dir", metavar="DIR",
                   help="where before-images go (default: $XDG_STATE_HOME/argodoctor/backups)")
    _add_cluster_flags(f, snapshot=False)
    i = f.add_argument_group("install-argo")
    i.add_argument("--manifests", metavar="FILE|DIR|URL",
                   help="install manifests to apply: a file, a directory holding cluster-install.yaml / "
                        "namespace-install.yaml (air-gapped clusters; your own choice, its SHA-256 shown in the "
                        "plan), or an https:// URL (default: the release's install.yaml on GitHub); a download "
                        "is applied only if its SHA-256 is the one argodoctor pins for that release; http:// "
                        "is refused")
    i.add_argument("--install-version", metavar="VERSION",
                   help="Argo version to install when none is installed (default: v3.7.18)")
    i.add_argument("--namespaced-install", action="store_true",
                   help="install the namespace-scoped flavour (the controller watches only its namespace)")
    d = f.add_argument_group("deploy-object-store / configure-artifact-repository")
    d.add_argument("--object-store-namespace", metavar="NS",
                   help="where deploy-object-store puts MinIO when no repository names one "
                        "(default: the controller's namespace)")
    d.add_argument("--minio-image", metavar="IMAGE", help="MinIO image to deploy (default: a pinned release)")
    d.add_argument("--storage-size", metavar="SIZE", help="size of MinIO's PersistentVolumeClaim (default: 10Gi)")
    d.add_argument("--bucket", metavar="NAME",
                   help="bucket of a newly written artifactRepository (default: argo-artifacts)")

    ls = sub.add_parser("list", help="list every check and remediation",
                        description="Every check and remediation with id, slug, group and description.")
    ls.add_argument("-o", "--output", choices=["table", "json", "yaml"], default="table",
                    help="table (default) or json / yaml (checks with id, slug, group, severity, title and "
                         "remediation; remediations with id, title, the checks they fix and destructive)")
    e = sub.add_parser("explain", help="print a check's documentation (what, why, what you see, the fix)",
                       description="Print the section of docs/checks.md for a check id or slug, as shipped "
                                   "with argodoctor: e.g. `argodoctor explain AD203`.")
    e.add_argument("check", metavar="ID", help="a check id (AD203) or slug (artifact-secret-resolves)")

    s = sub.add_parser("snapshot", help="save a cluster's relevant objects to files",
                       description="Write the objects the checks read to DIR/<Kind>.json (one List per "
                                   "kind), to be checked with `check --snapshot DIR` and shared. A snapshot "
                                   "holds the kinds the checks read, as the API server returns them, except: "
                                   "Secrets: every value is a digest (HMAC-SHA256 under a key drawn for this "
                                   "run and never written: equal values compare equal within one snapshot, "
                                   "and no one can test a guess against a digest; empty stays empty), plus "
                                   "per key only whether it ends in a newline, has surrounding whitespace or "
                                   "holds non-printable bytes; annotations digested but the service-account "
                                   "ones. ConfigMaps: only those a check reads (the controller's, every "
                                   "artifact-repositories, and those an artifactRepositoryRef names); the "
                                   "others are left out. Workflows, WorkflowTemplates, CronWorkflows, "
                                   "ClusterWorkflowTemplates: env values, parameter values (value, default, "
                                   "enum), script sources, resource manifests, raw artifact data, HTTP "
                                   "bodies and header values, podSpecPatch, container command and args are "
                                   "digests. Deployments: env values are digests but the controller's ARGO_* "
                                   "settings. Every kind: no last-applied-configuration annotation, no "
                                   "managedFields; of a Workflow's status only the phase. DIR is created "
                                   "0700 (an existing DIR must be yours and 0700 or narrower), files 0600.")
    s.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="directory to write")
    s.add_argument("--format", choices=["json", "yaml"], default="json",
                   help="json (default, fastest to write and read) or yaml (DIR/<Kind>.yaml, as "
                        "`kubectl get -o yaml` prints); either is read back by check --snapshot")
    _add_cluster_flags(s, snapshot=False)

    rp = sub.add_parser("report", help="show or compare stored reports",
                        description="Read reports back from a file (check -o json), configmap://NAMESPACE/NAME "
                                    "or s3://BUCKET/KEY.",
                        epilog="examples:\n  argodoctor report show configmap://argodoctor/argodoctor-report\n"
                               "  argodoctor report diff old.json new.json      # exit 1 when something failed new\n"
                               "  argodoctor report diff configmap://argodoctor/argodoctor-report  # previous/latest",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    rsub = rp.add_subparsers(dest="report_command", metavar="show|diff")
    show = rsub.add_parser("show", help="print a stored report")
    show.add_argument("source", metavar="SOURCE", help="file, configmap://NS/NAME or s3://BUCKET/KEY")
    show.add_argument("-o", "--output", choices=FORMATS, default="table", metavar="FORMAT",
                      help="output format, as for check")
    dif = rsub.add_parser("diff", help="what failed new, what got fixed, what is unchanged (exit 1 on new failures)")
    dif.add_argument("old", metavar="OLD", help="the earlier report (or a configmap:// source alone: its previous "
                                                "report against its latest)")
    dif.add_argument("new", metavar="NEW", nargs="?", help="the later report")
    dif.add_argument("-o", "--output", choices=["table", "json"], default="table", help="table or json")
    for p_ in (show, dif):  # flags only the sources that read a cluster or a bucket use
        _add_cluster_flags(p_, snapshot=False, argo=False, title="for configmap:// and s3:// sources")
        s3 = p_.add_argument_group("for s3:// sources (the artifact repository's credentials unless "
                                   "--report-s3-secret)")
        s3.add_argument("--report-s3-secret", metavar="NS/NAME",
                        help="Secret with keys accesskey and secretkey for the bucket")
        s3.add_argument("--controller-namespace", metavar="NS",
                        help="where the workflow-controller runs when it cannot be found (default: argo)")
        _add_s3_flags(s3)

    cj = sub.add_parser("cronjob", help="run argodoctor on a schedule inside the cluster",
                        description="Manifests for a plain Kubernetes CronJob (it keeps working when Argo is "
                                    "broken) that runs `argodoctor check` and writes its report to a ConfigMap "
                                    "(and any other --report-to), with a ServiceAccount that may read what the "
                                    "checks read and write nothing but that ConfigMap and Events.",
                        epilog="examples:\n  argodoctor cronjob manifest > argodoctor-cronjob.yaml\n"
                               "  argodoctor cronjob install --schedule '0 3 * * *' --report-to s3://reports/argo "
                               "--yes -- --workflow-namespace team-a\n  argodoctor cronjob uninstall --yes",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    cjsub = cj.add_subparsers(dest="cronjob_command", metavar="manifest|install|uninstall")
    for verb, text in (("manifest", "print the manifests (YAML)"), ("install", "apply the manifests"),
                       ("uninstall", "delete what install created: objects labelled "
                                     "app.kubernetes.io/managed-by=argodoctor, the namespace only if install "
                                     "created it")):
        x = cjsub.add_parser(verb, help=text, description=text)
        x.add_argument("--cronjob-namespace", default="argodoctor", metavar="NS",
                       help="namespace (default argodoctor)")
        if verb == "uninstall":  # what it deletes is found by name: none of the settings below matter
            x.add_argument("--dry-run", action="store_true", help="show the plan and write nothing")
            x.add_argument("-y", "--yes", action="store_true", help="delete without asking")
            x.add_argument("--backup-dir", metavar="DIR", help="where before-images go")
            _add_cluster_flags(x, snapshot=False, argo=False)
            continue
        x.add_argument("--schedule", default="0 * * * *", help="cron schedule (default: hourly, '0 * * * *')")
        x.add_argument("--image", default=DEFAULT_IMAGE, help=f"argodoctor image (default {DEFAULT_IMAGE})")
        x.add_argument("--report-to", action="append", default=[], metavar="URL",
                       help="more report destinations besides the ConfigMap (repeatable)")
        x.add_argument("--no-events", action="store_true", help="do not emit Events on status changes")
        x.add_argument("--push-gateway", default="", metavar="URL",
                       help="also push the metrics to this Prometheus Pushgateway (check --push-gateway)")
        x.add_argument("--push-job", default="argodoctor", metavar="NAME", help="their job label")
        x.add_argument("--exemptions", metavar="FILE",
                       help="an exemptions file (check --config): stored in a ConfigMap the job mounts")
        r_ = x.add_argument_group("access (the job's check flags and its role, generated together)")
        r_.add_argument("--no-secrets", action="store_true",
                        help="the job reads no Secret (check --no-secrets) and its role grants none")
        r_.add_argument("--namespaced-read", action="store_true",
                        help="the job reads namespaced objects only in --controller-namespace and each "
                             "--workflow-namespace (check --namespaced-read), through Roles there")
        r_.add_argument("--controller-namespace", default="argo", metavar="NS",
                        help="with --namespaced-read: the controller's namespace (default argo)")
        r_.add_argument("--workflow-namespace", dest="read_namespaces", action="append", default=[], metavar="NS",
                        help="with --namespaced-read: a workflow namespace to read (repeatable)")
        x.add_argument("check_args", nargs="*", metavar="-- CHECK-ARGS",
                       help="after --, flags passed to `argodoctor check` (e.g. -- -n team-a --checks 'AD2*')")
        if verb == "install":
            x.add_argument("--dry-run", action="store_true", help="show the plan and write nothing")
            x.add_argument("-y", "--yes", action="store_true", help="write without asking")
            x.add_argument("--backup-dir", metavar="DIR", help="where before-images go")
            _add_cluster_flags(x, snapshot=False, argo=False)

    ro = sub.add_parser("role", help="print the roles argodoctor needs (to check, or to fix)",
                        description="Print the roles generated from argodoctor's table of what it sends "
                                    "(argodoctor/permissions.py). --for check: a ClusterRole with `list` on each "
                                    "kind the checks read, `get` on Secrets (the S3 probes' keys) and access "
                                    "reviews (AD100); no watch. With --namespaced-read, a Role in each namespace "
                                    "read and a ClusterRole of the cluster-scoped kinds only; --no-secrets leaves "
                                    "Secrets out. --for fix: ClusterRole argodoctor-fixer (that, and get/create/"
                                    "patch of what the remediations write; delete only of the bindings "
                                    "replace-broad-binding removes) and argodoctor-fixer-grants (the rights the "
                                    "RBAC objects it writes grant: Kubernetes lets it create them only if it "
                                    "holds them); no escalate, bind, update or watch. With --service-account, "
                                    "the bindings too.",
                        epilog="examples:\n  argodoctor role --service-account argodoctor/argodoctor | kubectl "
                               "apply -f -\n  argodoctor role --namespaced-read --controller-namespace argo "
                               "--workflow-namespace team-a --no-secrets\n  argodoctor role --for fix -o json\n"
                               "  argodoctor role --for fix copy-artifact-secret grant-workflow-rbac\n"
                               "  argodoctor role --for fix install-argo --manifests argo-v3.7.18/   # with Argo's "
                               "roles' rights",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ro.add_argument("ids", nargs="*", metavar="ID",
                    help="with --for fix: only these remediations (ids, or check ids for their remediation)")
    ro.add_argument("--for", dest="purpose", choices=["check", "fix"], default="check",
                    help="check (default: read only) or fix (also create and patch what fixes write)")
    _add_access_flags(ro)
    ro.add_argument("--controller-namespace", metavar="NS",
                    help="with --namespaced-read: the controller's namespace (default argo); with --for fix "
                         "--manifests: where Argo's Roles go")
    ro.add_argument("--workflow-namespace", dest="namespaces", action="append", default=[], metavar="NS",
                    help="with --namespaced-read: a workflow namespace to read (repeatable)")
    ro.add_argument("--manifests", metavar="FILE|DIR",
                    help="with --for fix: Argo's install manifests (as `fix --manifests`): install-argo's roles' "
                         "rights are added; without it install-argo can create Argo's roles only as a user "
                         "holding their rights already")
    ro.add_argument("--namespaced-install", action="store_true",
                    help="with --manifests DIR: its namespace-install.yaml")
    ro.add_argument("--service-account", metavar="NS/NAME", type=_namespaced_name,
                    help="also print the ClusterRoleBinding of the role to this ServiceAccount")
    ro.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml",
                    help="yaml (default, one document per object) or json (a List)")
    comp = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)",
                          description="A completion script for commands, flags, check and remediation ids.",
                          epilog="examples:\n  source <(argodoctor completion bash)        # in ~/.bashrc\n"
                                 "  source <(argodoctor completion zsh)         # in ~/.zshrc\n"
                                 "  argodoctor completion fish | source         # in ~/.config/fish/config.fish",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    comp.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell")
    for parser in _commands(p):  # -v and --no-color after the command too, as kubectl takes them
        _add_global_flags(parser, argparse.SUPPRESS)
    return p


def _commands(p: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every (sub)command's parser below p."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield child
                yield from _commands(child)


def _kube(args: argparse.Namespace) -> Kube:
    from ..view.kube import Kube

    kube = Kube(args.kubeconfig, args.context, timeout=(5.0, args.request_timeout), as_user=args.as_user,
                as_groups=tuple(args.as_groups))
    try:
        info = kube.request("GET", "/version")
    except KubeError as e:
        raise UserError(str(e)) from None
    from ..view.kube import chunk_for

    chunk = getattr(args, "chunk_size", None)
    kube.list_chunk = chunk_for(info) if chunk is None else chunk
    return kube


def _context(args: argparse.Namespace, view: ClusterView) -> Context:
    from ..engine.context import Context, Options

    return Context(view, Options(namespaces=tuple(getattr(args, "namespaces", ())),
                                 argo_version=getattr(args, "argo_version", None),
                                 controller_namespace=args.controller_namespace,
                                 backup_dir=getattr(args, "backup_dir", None), s3_endpoint=args.s3_endpoint,
                                 s3_connect_timeout=args.s3_connect_timeout,
                                 s3_read_timeout=args.s3_read_timeout,
                                 object_store_namespace=getattr(args, "object_store_namespace", None),
                                 minio_image=getattr(args, "minio_image", None),
                                 storage_size=getattr(args, "storage_size", None),
                                 bucket=getattr(args, "bucket", None),
                                 manifests=getattr(args, "manifests", None),
                                 install_version=getattr(args, "install_version", None),
                                 pre=getattr(args, "pre", False),
                                 namespaced=getattr(args, "namespaced_install", False)))


def _run(ctx: Context, checks: list, console: Console) -> Report:
    from ..engine.runner import run_checks
    from ..report.report import Report

    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    t0 = time.monotonic()
    if console.is_terminal:
        with console.status("running checks..."):
            results = run_checks(checks, ctx)
    else:
        results = run_checks(checks, ctx)
    version = str(ctx.version) if _safe(lambda: ctx.version) else None
    return Report(ctx.view.name, version, started.isoformat().replace("+00:00", "Z"),
                  time.monotonic() - t0, results)


def _manifest_view(args: argparse.Namespace) -> tuple[ClusterView, Any]:
    """check -f: the files' objects, overlaid on the live cluster or (--offline) alone."""
    from ..view import manifest_input

    if args.snapshot:
        raise UserError("-f and --snapshot cannot go together: -f judges files to apply, --snapshot a saved state")
    if args.offline:
        manifests = manifest_input.read(args.filenames, args.apply_namespace or "default")
        return manifest_input.offline_view(manifests), manifests
    try:
        kube = _kube(args)
    except UserError as e:
        raise UserError(f"{e}; to judge the files alone, without a cluster, add --offline") from None
    manifests = manifest_input.read(args.filenames, args.apply_namespace or kube.namespace or "default")
    return manifest_input.OverlayView(kube, manifests), manifests


NO_SECRETS = ("argodoctor reads no Secret (--no-secrets, a role without Secret access); this check needs a "
              "Secret's keys or contents")


def _read_scope(args: argparse.Namespace, view: ClusterView) -> None:
    """check --no-secrets / --namespaced-read: what the view may read (the role `argodoctor role` prints for
    the same flags)."""
    if args.no_secrets:
        if any(u.startswith("s3://") for u in args.report_to):
            raise UserError("--report-to s3:// reads the store's keys from a Secret; --no-secrets reads none")
        view.unread["Secret"] = NO_SECRETS
    if args.namespaced_read:
        from ..argo import DEFAULT_CONTROLLER_NAMESPACE

        if not view.live:
            raise UserError("--namespaced-read chooses what to read from a live cluster: not with --snapshot or "
                            "--offline")
        view.namespaces = (args.controller_namespace or DEFAULT_CONTROLLER_NAMESPACE, *args.only_namespaces,
                           *args.namespaces)


def _locate(results: list, manifests: Any) -> None:
    """Each result about an object of the files names its file and line."""
    from ..view.cluster import KINDS

    for r in results:
        kind, _, name = (r.object or "").partition("/")
        if name and kind in KINDS:
            r.location = manifests.location(kind, r.namespace if KINDS[kind].namespaced else None, name, r.pointer)


def _namespaces_exist(view: ClusterView, names: list[str]) -> None:
    """-n / --workflow-namespace must name namespaces that exist: a typo is an error, never findings
    about a namespace nobody made. Unknowable (no Namespaces readable or in the snapshot): not judged."""
    if not names:
        return
    try:
        known = {(ns.get("metadata") or {}).get("name") for ns in view.list("Namespace")}
    except KubeError:
        return
    missing = [n for n in dict.fromkeys(names) if n not in known]
    if known and missing:
        import difflib

        close = difflib.get_close_matches(missing[0], [k for k in known if k], n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (`kubectl get namespaces` lists them)"
        raise UserError(f"namespace {', '.join(missing)} does not exist{hint}")


def _safe(fn):
    try:
        return fn()
    except KubeError:
        return None


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """No cyclic garbage collection while a run builds hundreds of thousands of long-lived dicts (objects,
    results): each collection walks the young objects again, and the run makes almost no cycles (JSON and
    YAML documents are trees), so collecting costs a tenth of the run and frees nothing (peak RSS is the
    same with it off: bench/scale.py). Reference counting still frees everything else."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _PARKED is not None:  # the run's objects stay until the process ends: no collection walks them
            gc.freeze()
        if enabled:
            gc.enable()


# What a run built (objects, results), kept until the process ends when argodoctor runs as a command:
# freeing hundreds of thousands of dicts one by one takes a tenth of a large run, and the operating system
# takes them back at once. None in-process (tests, library use): there they are freed as usual.
_PARKED: list[Any] | None = None


def entry() -> int:
    """The console scripts' entry point: main(), then an exit that frees nothing one by one."""
    global _PARKED
    _PARKED = []
    code = main()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe (argodoctor check | head): nothing more to say
        code = code or 1
    atexit._run_exitfuncs()  # what a normal exit runs: temporary files, logging's flush
    sys.stderr.flush()
    os._exit(code)


def cmd_check(args: argparse.Namespace) -> int:
    with _fewer_collections():
        return _check(args)


def _check(args: argparse.Namespace) -> int:
    from ..engine import exemptions
    from ..engine.runner import kinds_read
    from ..report import sinks
    from ..view.cluster import LiveView, SnapshotView

    patterns = [p.strip() for p in args.checks.split(",") if p.strip()] if args.checks else None
    checks = registry.select_checks(patterns, pre=args.pre)
    config = exemptions.load_config(args.config)
    destinations = [sinks.parse_sink(u) for u in args.report_to]
    for d in destinations:  # before the run: a long check must not end in a failed write
        if d.scheme == "file":
            sinks.writable(d.target, "--report-to file://")
    if args.output_file:
        sinks.writable(args.output_file, "--output-file")
    if (destinations and any(d.scheme != "file" for d in destinations) or args.events) and args.snapshot:
        raise UserError("--report-to configmap:// or s3:// and --events need a live cluster, not --snapshot")
    if args.docs_url:
        from ..engine.model import set_docs_url

        set_docs_url(args.docs_url)
    manifests = None
    if args.filenames:
        view, manifests = _manifest_view(args)
    else:
        if args.offline or args.apply_namespace:
            raise UserError("--offline and --apply-namespace go with -f FILE")
        view = SnapshotView(args.snapshot) if args.snapshot else LiveView(_kube(args))
    _read_scope(args, view)
    # The API server lists while the rest of argodoctor is imported (the runner asks for nothing twice).
    view.prefetch(kinds_read(checks))
    from rich.console import Console

    _namespaces_exist(view, [*args.only_namespaces, *args.namespaces])
    ctx = _context(args, view)
    report = _run(ctx, checks, Console(stderr=True))
    if manifests is not None:
        _locate(report.results, manifests)
    if args.only_namespaces:  # -n: those namespaces and what is cluster-wide, in every output and the exit code
        scope = set(args.only_namespaces)
        report.results = [r for r in report.results if r.namespace is None or r.namespace in scope]
    used: set[int] = set()
    report.results = exemptions.apply(report.results, config, view, annotations=not args.no_annotation_exemptions,
                                      used=used)
    for warning in exemptions.config_warnings(config, used, [c.id for c in registry.all_checks()],
                                              [c.id for c in checks]):
        print(f"argodoctor: warning: {warning}", file=sys.stderr)
    # The report's JSON form, built only when something needs it (at scale it is a dict per result).
    doc = report.to_dict() if destinations or args.events else None
    if _PARKED is not None:
        _PARKED.extend((view, ctx, report, report.results, doc))
    history = None
    if doc is not None and (destinations or args.events):
        history = sinks.store(ctx, destinations, doc, events=args.events, s3_secret=args.report_s3_secret)
    shown, shown_doc = report, doc
    if args.only:  # what is printed; stored reports, metrics and the exit code keep every result
        shown = dataclasses.replace(report, results=[r for r in report.results if r.status.value in args.only])
        shown_doc = None
    show_passed = args.show == "passed"
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as f:
            _emit(shown, args.output, f, history, shown_doc, show_passed)
        print(f"wrote {args.output} report to {args.output_file}", file=sys.stderr)
    else:
        _emit(shown, args.output, sys.stdout, history, shown_doc, show_passed)
    code = report.exit_code(args.fail_on)
    if args.push_gateway:
        try:
            _push_metrics(report, args.push_gateway, args.push_job, args.request_timeout)
        except (OSError, ValueError) as e:  # urllib's errors, timeouts included, are OSErrors
            # After every other output is written; exit 2 unless the checks already exit non-zero.
            print(f"argodoctor: pushing metrics to {args.push_gateway} failed: "
                  f"{' '.join(str(e).split())}", file=sys.stderr)
            return code or 2
    return code


def _push_metrics(report: Report, gateway: str, job: str, timeout: float) -> None:
    """PUTs exactly what `-o prometheus` renders to a Pushgateway, as the group job=JOB, cluster=CLUSTER."""
    from prometheus_client import CollectorRegistry, push_to_gateway
    from prometheus_client.parser import text_string_to_metric_families

    from ..report.formats import render_prometheus

    text = render_prometheus(report)

    class Rendered:
        def collect(self):
            return text_string_to_metric_families(text)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Rendered())
    push_to_gateway(gateway, job=job, registry=registry, grouping_key={"cluster": report.cluster}, timeout=timeout)


def _emit(report: Report, fmt: str, stream, history: list | None = None, doc: dict | None = None,
          show_passed: bool = True) -> None:
    """Writes the report as fmt; doc: report.to_dict(), when the caller has it already."""
    from rich.console import Console

    from ..report.report import print_table, write_json

    if fmt in ("table", "wide"):
        print_table(report, Console(file=stream, highlight=False), compact=fmt == "table" and not show_passed)
    elif fmt == "json":  # streamed, result by result
        write_json(doc if doc is not None else report.to_dict(lazy=True), stream)
    else:
        from ..report.formats import render  # (its XML and HTML modules cost start-up the table does not need)

        stream.write(render(report, fmt, history=history))


def cmd_report(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..report import sinks
    from ..report.report import diff, from_dict, print_diff
    from ..view.cluster import LiveView

    if not args.report_command:
        raise UserError("report needs a subcommand: show or diff (see `argodoctor report --help`)")

    def kube() -> Kube:
        return _kube(args)

    def s3_client(bucket: str):
        from ..s3 import bucket_client

        return bucket_client(_context(args, LiveView(kube())), bucket, args.report_s3_secret)

    if args.report_command == "show":
        doc, _ = sinks.read_report(args.source, kube, s3_client)
        _emit(from_dict(doc), args.output, sys.stdout)
        return 0
    new_doc, stored = sinks.read_report(args.new or args.old, kube, s3_client)
    if args.new:
        old_doc, _ = sinks.read_report(args.old, kube, s3_client)
    elif stored and stored.get("previous"):
        old_doc = stored["previous"]
    else:
        raise UserError("report diff needs two reports, or one configmap:// source holding a previous report")
    d = diff(old_doc, new_doc)
    if args.output == "json":
        sys.stdout.write(json.dumps(d, indent=2) + "\n")
    else:
        print_diff(d, old_doc, new_doc, Console(highlight=False))
    return 1 if d["new"] else 0


def cmd_cronjob(args: argparse.Namespace) -> int:
    import yaml
    from rich.console import Console

    from ..engine.model import Action, Plan
    from ..fix.fixer import is_subset
    from ..report.cronjob import CronJobSpec, created_namespace, manifests, namespaced_grants, not_ours

    if not args.cronjob_command:
        raise UserError("cronjob needs a subcommand: manifest, install or uninstall")
    if args.cronjob_command != "uninstall":  # before anything is printed or written
        from ..k8s.cron_schedule import problem

        why = problem(args.schedule)
        if why:
            raise UserError(f"--schedule {args.schedule!r} is not a schedule Kubernetes accepts: {why}")
        why = _check_args_problem(args.check_args)
        if why:
            raise UserError(f"the flags after -- are not valid for `argodoctor check`: {why}")
        scoped = [a for a in args.check_args if a.split("=")[0] in ("--no-secrets", "--namespaced-read")]
        if scoped:
            raise UserError(f"{scoped[0]} decides the job's role too: give it to `cronjob {args.cronjob_command}` "
                            "before --, not after")
        if args.read_namespaces and not args.namespaced_read:
            raise UserError("--workflow-namespace goes with --namespaced-read (after --, it is check's own)")
    if args.cronjob_command == "uninstall":  # every object install may have made, the exemptions' included
        spec = CronJobSpec(namespace=args.cronjob_namespace, exemptions="# any")
    else:
        spec = CronJobSpec(namespace=args.cronjob_namespace, schedule=args.schedule, image=args.image,
                           report_to=tuple(args.report_to), events=not args.no_events,
                           push_gateway=args.push_gateway, push_job=args.push_job,
                           exemptions=_read_exemptions(args.exemptions), extra_args=tuple(args.check_args),
                           secrets=not args.no_secrets, namespaced_read=args.namespaced_read,
                           controller_namespace=args.controller_namespace,
                           workflow_namespaces=tuple(args.read_namespaces))
    objs = manifests(spec)
    if args.cronjob_command == "manifest":
        sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=False))
        return 0
    from ..fix.fixer import get_live

    kube = _kube(args)
    plan = Plan(f"cronjob {args.cronjob_command}")
    if args.cronjob_command == "uninstall":  # and what a --namespaced-read install put in the namespaces it read
        named = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs}
        objs += [o for o in namespaced_grants(kube, spec)
                 if (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) not in named]
    theirs = []
    for obj in objs if args.cronjob_command == "install" else reversed(objs):
        live = get_live(kube, obj)
        if args.cronjob_command == "install":
            if obj["kind"] == "Namespace":
                if live is not None:
                    continue  # an existing namespace is not claimed, so uninstall keeps it
                obj = created_namespace(obj)
            elif live is not None and not_ours(obj["kind"], live):
                meta = live["metadata"]  # someone else's object with argodoctor's name: never taken over
                theirs.append(f"{obj['kind']} {meta['namespace'] + '/' if meta.get('namespace') else ''}{meta['name']}")
                continue
            if live is None or not is_subset(obj, live):
                plan.actions.append(Action(obj, live, "argodoctor's scheduled checks"))
        elif live is not None:  # uninstall: only what install made (its label; a Namespace it created)
            why = not_ours(obj["kind"], live)
            if why:
                plan.notes.append(why)
            else:
                plan.actions.append(Action(obj, live, "installed by argodoctor cronjob install" + (
                    ", with everything in it" if obj["kind"] == "Namespace" else ""), delete=True))
    if theirs:  # binding argodoctor's reader role to someone else's ServiceAccount, writing into their objects
        raise UserError(f"cronjob install would take over what argodoctor did not make ({', '.join(theirs)}: no "
                        "app.kubernetes.io/managed-by: argodoctor); choose another --cronjob-namespace, or remove them")
    out = Console(highlight=False)
    writer = PlanWriter(kube, args, out)
    writer.run(plan, plan.remediation)
    writer.finish()
    return 1 if writer.failures else 0


def _check_args_problem(extra: list[str]) -> str | None:
    """What argparse would say about `argodoctor check EXTRA`, or None when it parses."""
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            build_parser().parse_args(["check", *extra])
    except SystemExit:
        lines = err.getvalue().strip().splitlines()
        return lines[-1].split("error: ", 1)[-1] if lines else "they do not parse"
    return None


def _read_exemptions(path: str | None) -> str:
    """The text of an exemptions file for the CronJob's ConfigMap, validated as `check --config` would."""
    if not path:
        return ""
    from ..engine.exemptions import load_config

    load_config(path)
    with open(path, encoding="utf-8") as f:
        return f.read()


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UserError("refusing to write without confirmation: re-run with --yes "
                        "(or --dry-run to only see the plan)")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


class PlanWriter:
    """Shows plans as diffs and applies them (unless --dry-run; asking unless --yes), sharing one
    backup file for the before-images of everything written in this command."""

    def __init__(self, kube: Kube, args: argparse.Namespace, out: Console):
        self.kube, self.args, self.out = kube, args, out
        self.applier = None
        self.failures = 0
        self._target: str | None = None

    @property
    def target(self) -> str:
        """Where the writes go, for the plan header and the prompt: context, server and the identity the API
        server sees (impersonation included)."""
        if self._target is None:
            from ..engine.permissions import whoami

            self._target = f"context {self.kube.name} (server {self.kube.host}) as {whoami(self.kube)}"
        return self._target

    def run(self, plan, title: str) -> bool:
        """Returns True when it wrote something."""
        from ..fix.fixer import Applier, preflight, render_plan

        out = self.out
        if not plan.actions:
            out.print(f"[bold]{title}[/]: nothing to do" + (f" ({len(plan.notes)} notes)" if plan.notes else ""))
            for note in plan.notes:
                out.print(f"  note: {note}", markup=False)
            return False
        from rich.markup import escape

        out.print(f"[bold]{title}[/]: {len(plan.actions)} change(s) to {escape(self.target)}")
        full = getattr(self.args, "full_diff", False)
        out.print(render_plan(plan, None if full else DIFF_LINES), markup=False, highlight=False)
        force = getattr(self.args, "force_conflicts", False)
        if not force:
            from ..fix.gitops import managed_notes

            held = managed_notes(plan.actions)
            if held:
                for note in held:
                    out.print(f"  held: {note}", markup=False)
                out.print(f"  {title} is not applied (--force-conflicts patches it anyway)", markup=False)
                self.failures += 1
                return False
        else:
            out.print("  --force-conflicts: fields other managers own are taken, and Helm or Argo CD may set "
                      "them back", style="bold yellow")
        dry_run = self.args.dry_run  # None, "client", "server" (cronjob's --dry-run: True)
        if dry_run and dry_run != "server":
            return False
        question = f"apply {len(plan.actions)} change(s) of {title} to {self.target}?"
        if not dry_run and not self.args.yes and not _confirm(question):
            out.print("skipped")
            return False
        refused = preflight(self.kube, plan.actions, force)
        for problem in refused:
            out.print(f"  refused by the API server: {problem}", markup=False)
        if refused:
            out.print(f"  nothing of {title} was written", markup=False)
            self.failures += 1
            return False
        if dry_run == "server":
            out.print(f"  server dry run: the API server accepts all {len(plan.actions)} change(s)", markup=False)
            return False
        self.applier = self.applier or Applier(self.kube, getattr(self.args, "backup_dir", None), force)
        for action in plan.actions:
            try:
                self.applier.apply(action)
            except (ApplyError, KubeError) as e:
                out.print(f"  failed: {action.describe()}: {e}", markup=False)
                self.failures += 1
                break  # the rest of this plan builds on it
            out.print(f"  applied: {action.describe()}", markup=False)
        return True

    def finish(self) -> None:
        if self.args.dry_run:
            self.out.print("dry run: nothing was written")
        elif self.applier:
            self.out.print(f"before-images saved to {self.applier.backup_path}", markup=False)
        else:
            self.out.print("nothing was written")


def cmd_fix(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..report.report import print_table
    from ..view.cluster import LiveView

    if args.all == bool(args.ids):
        raise UserError("name the remediations to run, or pass --all (see `argodoctor list`)")
    ids = [r.id for r in registry.all_remediations()] if args.all else _remediation_ids(args.ids)
    rems = registry.select_remediations(ids)
    blocked = [r.id for r in rems if r.destructive and not args.allow_destructive]
    if blocked and not args.all:
        raise UserError(f"{', '.join(blocked)} removes what exists (its before-image lets you restore it): "
                        "re-run with --allow-destructive")
    rems = [r for r in rems if r.id not in blocked]
    kube = _kube(args)
    view = LiveView(kube)
    _namespaces_exist(view, args.namespaces)
    ctx = _context(args, view)
    if args.output == "yaml":
        return _fix_manifests(rems, ctx)
    out = Console(highlight=False)
    writer = PlanWriter(kube, args, out)
    if args.dry_run and len(rems) > 1:
        out.print("dry run: each remediation is planned against the cluster as it is now; once earlier ones "
                  "have applied, later ones may find more to do", markup=False)
    from ..fix.fixer import plan_each

    targeted = plan_each(rems, ctx, writer.run, dry_run=args.dry_run)
    writer.finish()
    if args.dry_run or not targeted:
        return 1 if writer.failures else 0
    ctx.reset()
    checks = registry.select_checks(sorted(set(targeted)))
    report = _run(ctx, checks, Console(stderr=True))
    out.print("\n[bold]re-check[/]")
    print_table(report, out)
    return 1 if writer.failures else report.exit_code("fail")


def _fix_manifests(rems: list, ctx: Context) -> int:
    """fix -o yaml: every plan's objects as manifests to commit (GitOps), applied nowhere."""
    import yaml

    from ..fix.gitops import manifests

    chunks = ["# argodoctor fix -o yaml: the planned objects, to commit where this cluster's manifests live.\n"
              "# Each remediation is planned against the cluster as it is now; nothing was applied.\n"]
    planned: dict = {}
    for rem_cls in rems:
        rem = rem_cls()
        plan = rem.plan(ctx).once(planned)
        chunks.append(f"# --- {rem.id}: {len(plan.actions)} change(s)\n")
        chunks += [f"# note: {' '.join(note.split())}\n" for note in plan.notes]
        for doc in manifests(plan.actions):
            chunks.append(f"{doc}\n" if isinstance(doc, str) else "---\n" + yaml.safe_dump(doc, sort_keys=False))
    sys.stdout.write("".join(chunks))
    return 0


def _remediation_ids(ids: list[str]) -> list[str]:
    """Remediation ids as given; a check id stands for the remediation it names."""
    checks = {c.id: c for c in registry.all_checks()}
    out = []
    for i in ids:
        check = checks.get(i.upper())
        if check is not None:
            if not check.remediation:
                raise UserError(f"check {check.id} has no remediation: its message says what to do")
            out.append(check.remediation)
        else:
            out.append(i)
    return out


def cmd_list(args: argparse.Namespace) -> int:
    checks, rems = registry.all_checks(), registry.all_remediations()
    if args.output in ("json", "yaml"):
        doc = {"checks": [{"id": c.id, "slug": c.slug, "group": c.group, "severity": c.severity,
                           "title": c.title, "remediation": c.remediation} for c in checks],
               "remediations": [{"id": r.id, "title": r.title, "fixes": list(r.fixes),
                                 "destructive": r.destructive} for r in rems]}
        _write_doc(doc, args.output)
        return 0
    # Plain lines (no rich): `list` must start fast, and it is read by people and grep alike.
    lines = ["checks"]
    lines += [f"  {c.id}  {c.slug:34} {c.group:12} {c.title}" + (f" (fix: {c.remediation})" if c.remediation else "")
              for c in checks]
    lines += ["", "remediations (in `fix --all` order)"]
    lines += [f"  {r.id:34} fixes {','.join(r.fixes):12} {r.title}" for r in rems]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _write_doc(doc: object, fmt: str) -> None:
    """A document on stdout as json or yaml (`list -o`, `role -o`)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))


def cmd_snapshot(args: argparse.Namespace) -> int:
    from ..view.cluster import LiveView, private_snapshot_dir, write_snapshot

    private_snapshot_dir(args.output_dir)  # before the cluster is asked anything
    view = LiveView(_kube(args))
    with _fewer_collections():
        counts = write_snapshot(view, args.output_dir, fmt=args.format)
    total = sum(n for n in counts.values() if n > 0)
    print(f"wrote {total} objects of {sum(1 for n in counts.values() if n >= 0)} kinds to {args.output_dir} "
          "(private to you; secret values and what no check judges digested, ConfigMaps no check reads left "
          "out: see `snapshot --help`)", file=sys.stderr)
    return 0 if all(n >= 0 for n in counts.values()) else 1


def cmd_role(args: argparse.Namespace) -> int:
    from ..engine.permissions import bindings, fixer_roles, reader_roles

    controller_ns = args.controller_namespace or "argo"
    if args.purpose == "fix":
        if args.namespaced_read or args.no_secrets or args.namespaces:
            raise UserError("--namespaced-read, --no-secrets and --workflow-namespace go with --for check")
        ids = _remediation_ids(args.ids) if args.ids else None
        if ids:
            registry.select_remediations(ids)  # an unknown id is a usage error
        docs = _role_manifests(args) if args.manifests else None
        roles = fixer_roles(ids, argo_docs=docs, controller_namespace=controller_ns)
    else:
        if args.ids or args.manifests:
            raise UserError("remediation ids and --manifests go with --for fix")
        if args.namespaces and not args.namespaced_read:
            raise UserError("--workflow-namespace goes with --namespaced-read (a cluster-wide role reads them all)")
        roles = reader_roles(secrets=not args.no_secrets,
                             namespaces=[controller_ns, *args.namespaces] if args.namespaced_read else None)
    objs = roles + (bindings(roles, args.service_account) if args.service_account else [])
    if args.output == "json":
        _write_doc({"apiVersion": "v1", "kind": "List", "items": objs} if len(objs) > 1 else objs[0], "json")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=False))
    return 0


def _role_manifests(args: argparse.Namespace) -> list[dict[str, Any]]:
    """`role --for fix --manifests`: the objects install-argo would apply from there (read as it reads them)."""
    from remediations.install_argo import read_manifests

    from ..engine.context import Context, Options

    if "://" in args.manifests:
        raise UserError(f"role --manifests {args.manifests}: a FILE or DIR (role downloads nothing)")
    ctx = Context(None, Options(manifests=args.manifests, namespaced=args.namespaced_install))  # type: ignore[arg-type]
    return read_manifests(ctx, "v0")[0]


def _namespaced_name(text: str) -> str:
    """NS/NAME, both DNS labels (argparse turns the ValueError into a usage error)."""
    import re

    label = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    if not re.fullmatch(rf"{label}/{label}(\.{label})*", text):
        raise ValueError(text)
    return text


_namespaced_name.__name__ = "NAMESPACE/NAME"


def cmd_completion(args: argparse.Namespace) -> int:
    from .completion import script

    checks = [c.id for c in registry.all_checks()]
    rems = [r.id for r in registry.all_remediations()]
    sys.stdout.write(script(args.shell, build_parser(), checks, rems))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import section

    print(section(args.check))
    return 0


COMMANDS = {"check": cmd_check, "fix": cmd_fix, "list": cmd_list, "snapshot": cmd_snapshot, "role": cmd_role,
            "report": cmd_report, "cronjob": cmd_cronjob, "explain": cmd_explain, "completion": cmd_completion}


_STATUS_WORDS = {"pass": "pass", "passed": "pass", "warn": "warn", "warning": "warn", "warnings": "warn",
                 "fail": "fail", "failed": "fail", "skip": "skip", "skipped": "skip", "error": "error",
                 "errors": "error"}


def _statuses(text: str) -> frozenset[str]:
    """--only failed,warn -> {"fail", "warn"} (argparse turns the ValueError into a usage error)."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words or any(w not in _STATUS_WORDS for w in words):
        raise ValueError(text)
    return frozenset(_STATUS_WORDS[w] for w in words)


_statuses.__name__ = "list of statuses (pass, warn, fail, skip, error)"


def _argo_version(text: str) -> str:
    """An Argo version like v3.7.18 (argparse turns the ValueError into a usage error)."""
    from ..argo import parse_version

    if parse_version(text) is None:
        raise ValueError(text)
    return text if text.startswith("v") else f"v{text}"


_argo_version.__name__ = "Argo version (e.g. v3.7.18)"

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _chunk_size(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of objects (0 or more)")
    return n


def _duration(text: str) -> float:
    """Seconds of a duration as kubectl's --request-timeout takes it (Go's time.ParseDuration: 30s, 1m30s,
    500ms) or a bare number of seconds; above 0 (argparse turns the ValueError into a usage error)."""
    import re

    text = text.strip()
    if re.fullmatch(r"\d+(\.\d*)?|\.\d+", text):
        value = float(text)
    elif re.fullmatch(r"((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+", text):
        value = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text))
    else:
        raise ValueError(text)
    if not 0 < value < float("inf"):
        raise ValueError(text)
    return value


_duration.__name__ = "duration (30s, 1m, 500ms or seconds)"  # argparse names the type in its message


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    if args.no_color:
        os.environ["NO_COLOR"] = "1"  # rich honours it for every console
    # argodoctor's own loggers only: the kubernetes client logs response bodies (secret values).
    logger = logging.getLogger("argodoctor")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    logger.propagate = False
    # Libraries' warnings (urllib3's InsecureRequestWarning, the kubernetes client's deprecations) go to
    # the -v log, never as extra lines on stderr.
    logging.captureWarnings(True)
    warnings_log = logging.getLogger("py.warnings")
    warnings_log.handlers = [handler] if args.verbose else [logging.NullHandler()]
    warnings_log.propagate = False
    try:
        return COMMANDS[args.command](args)
    except UserError as e:
        print(f"argodoctor: {e}", file=sys.stderr)
        return 2
    except KubeError as e:
        print(f"argodoctor: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("argodoctor: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of argodoctor's: exit 3, the traceback only with -v
        if args.verbose:
            logger.exception("internal error")
        print(f"argodoctor: internal error: {type(e).__name__} (run with -v for the traceback, and report it)",
              file=sys.stderr)
        return 3

