"""The argument parser: every command, flag and help text in one tree (`--help`, completion scripts and
`cronjob`'s check of the flags after -- all read it). One function on purpose: the tree reads top to
bottom as `argodoctor --help` prints it; the shared flags and argument types are in options."""
from __future__ import annotations

import argparse
from collections.abc import Iterator

from .. import __version__
from ..engine.model import FORMATS
from ..report.cronjob import DEFAULT_IMAGE
from .options import (
    DIFF_LINES,
    add_access_flags,
    add_cluster_flags,
    add_connection_flags,
    add_global_flags,
    add_s3_flags,
    argo_version,
    duration,
    namespaced_name,
    statuses,
)

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


EPILOG_DIAGNOSE = """\
exit codes: 0 every Workflow diagnosed is healthy or failed in its own code, 1 a cause in the
install was found (or a message is unknown), 2 usage, connection or configuration error.

examples:
  argodoctor diagnose my-wf-x7k2p -n team-a      # one Workflow
  argodoctor diagnose --failed --since 2h        # every failed or stuck Workflow of the last 2 hours
  argodoctor diagnose --failed --snapshot DIR    # from a snapshot someone sent (pods and events included)
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="argodoctor",
        description="Diagnose and repair Argo Workflows installations: the artifact repository, "
                    "its secrets and bucket, workflow service accounts and RBAC, the executor.",
        epilog="Run `argodoctor COMMAND --help` for each command's flags. Check ids and what they "
               "mean: `argodoctor list` and docs/checks.md.")
    p.add_argument("--version", action="version", version=f"argodoctor {__version__}")
    add_global_flags(p, False)
    add_connection_flags(p.add_argument_group("connection (also accepted after the command)"), None)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="run the checks and report", description="Run the checks against "
                       "a cluster or a snapshot and report one line per result.", epilog=EPILOG_CHECK,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_cluster_flags(c, scope=True)
    p_ = c.add_argument_group("before installing")
    p_.add_argument("--pre", action="store_true",
                    help="run the pre-install checks (AD001-AD004) instead: may the caller create what "
                         "`fix install-argo` and `deploy-object-store` create, does the release support this "
                         "Kubernetes version, is there a default StorageClass, which executor the nodes allow")
    p_.add_argument("--install-version", metavar="VERSION", type=argo_version,
                    help="with --pre: the Argo release to judge (default: the installed one, else v3.7.18)")
    add_access_flags(c.add_argument_group("access (what argodoctor reads; `argodoctor role` takes the same flags)"))
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
    c.add_argument("--only", metavar="STATUSES", type=statuses,
                   help="report only results of these statuses, for every format: e.g. failed,warn "
                        "(pass, warn, fail, skip, error; the exit code still counts every result)")
    c.add_argument("--output-file", metavar="PATH", help="write the output to PATH instead of stdout")
    c.add_argument("--since", type=duration, default=24 * 3600.0, metavar="DURATION",
                   help="name on each failing result the Workflows that failed within DURATION because of it "
                        "(default 24h; `argodoctor diagnose --failed` explains each one)")
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

    d = sub.add_parser("diagnose", help="explain why a Workflow failed, from its messages to the fix",
                       description="Start from a Workflow that failed, errored or is stuck: read its status, "
                                   "its pods' states and their Warning Events, match each message against the "
                                   "messages Argo, the kubelet, admission and object stores write (per Argo "
                                   "version), name the cause, and run the checks that judge it for that "
                                   "Workflow's namespace and identities. Prints symptom, cause, evidence, fix.",
                       epilog=EPILOG_DIAGNOSE, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("workflow", nargs="?", metavar="WORKFLOW", help="the Workflow's name (in -n NS)")
    add_cluster_flags(d)
    d.add_argument("-n", "--namespace", dest="diagnose_namespace", metavar="NS",
                   help="the Workflow's namespace (default: the kubeconfig context's, else default); with "
                        "--failed: only this namespace (default: every namespace)")
    d.add_argument("--failed", action="store_true",
                   help="every Workflow that failed or errored within --since, and those stuck Pending or "
                        "with no status (no controller took them)")
    d.add_argument("--since", type=duration, default=24 * 3600.0, metavar="DURATION",
                   help="with --failed: how far back (default 24h; 30m, 7d as 168h)")
    d.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                   help="table (default, for people), json or yaml (docs/diagnose.schema.json)")

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
    add_cluster_flags(f, snapshot=False)
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
    add_cluster_flags(s, snapshot=False)

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
        add_cluster_flags(p_, snapshot=False, argo=False, title="for configmap:// and s3:// sources")
        s3 = p_.add_argument_group("for s3:// sources (the artifact repository's credentials unless "
                                   "--report-s3-secret)")
        s3.add_argument("--report-s3-secret", metavar="NS/NAME",
                        help="Secret with keys accesskey and secretkey for the bucket")
        s3.add_argument("--controller-namespace", metavar="NS",
                        help="where the workflow-controller runs when it cannot be found (default: argo)")
        add_s3_flags(s3)

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
            add_cluster_flags(x, snapshot=False, argo=False)
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
            add_cluster_flags(x, snapshot=False, argo=False)

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
    add_access_flags(ro)
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
    ro.add_argument("--service-account", metavar="NS/NAME", type=namespaced_name,
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
    for parser in commands(p):  # -v and --no-color after the command too, as kubectl takes them
        add_global_flags(parser, argparse.SUPPRESS)
    return p


def commands(p: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every (sub)command's parser below p."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield child
                yield from commands(child)
