"""The messages a failed Workflow shows, and what each means: a versioned table of what Argo, the kubelet,
the API server's admission and the object stores write, read verbatim from their source at each tag.

Each row holds the text as its source writes it (a Go format string where it has verbs), where that is,
the Argo versions it belongs to (wording that changed across versions is kept as separate rows), the
cause in one sentence and the checks that judge that cause. The matcher is derived from the text: the
verbs become bounded groups, the rest matches literally, anywhere in a message (Argo wraps errors in
others). Messages are cut to MAX_SCANNED characters before matching, and every pattern is linear: a
megabyte-long message costs no more than its first part.

Sources: argoproj/argo-workflows (git tags named in each row, read from the repository at that tag);
kubernetes/kubernetes v1.35.4 (the test plane's pinned version; the texts quoted have not changed since
v1.25); the S3 error texts are the standard S3 error messages that AWS S3, MinIO and versitygw return
(Argo prints the SDK's error, which quotes them)."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

MAX_SCANNED = 16_384  # characters of a message matched; the rest is never scanned
_VERB = re.compile(r"%(?:\[\d+\])?[-+# 0]*\d*(?:\.\d+)?[vsqdwxf]")
ARGO = "argoproj/argo-workflows"
K8S = "kubernetes/kubernetes v1.35.4"


@dataclasses.dataclass(frozen=True)
class Row:
    id: str
    text: str  # verbatim
    component: str  # controller, executor, kubelet, admission, apiserver, s3
    source: str
    cause: str
    checks: tuple[str, ...]
    remediation: str | None = None
    since: tuple[int, int] | None = None  # Argo minor versions, inclusive
    until: tuple[int, int] | None = None  # inclusive
    pattern: str | None = None  # when the text alone cannot be matched (a message assembled by a library)
    wraps: bool = False  # its last verb holds another error: a row matching that one is the cause

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self)

    def applies(self, version: Any) -> bool:
        if version is None:
            return True
        minor = (version.major, version.minor)
        return (self.since is None or minor >= self.since) and (self.until is None or minor <= self.until)

    def versions(self) -> str:
        low = f"v{self.since[0]}.{self.since[1]}" if self.since else ""
        high = f"v{self.until[0]}.{self.until[1]}" if self.until else ""
        return f"{low}..{high}" if (low or high) else "every version"


def _from_text(text: str) -> str:
    """A regex from a Go format string: each verb a bounded lazy group (%q: a quoted one), the rest literal."""
    out, last = [], 0
    for m in _VERB.finditer(text):
        out.append(re.escape(text[last:m.start()]))
        out.append(r'"([^"\n]{0,300})"' if m.group().endswith("q") else r"(.{0,300}?)")
        last = m.end()
    out.append(re.escape(text[last:]))
    return "".join(out).rstrip()


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(row: Row) -> re.Pattern[str]:
    found = _CACHE.get(row.id)
    if found is None:
        found = _CACHE[row.id] = re.compile(row.pattern or _from_text(row.text), re.S)
    return found


ROWS: tuple[Row, ...] = (
    # --- the controller: the artifact repository
    Row("repository-ref-not-found",
        'failed to find any artifact repository for artifact repository ref "%v"', "controller",
        f"{ARGO} workflow/artifactrepositories/artifactrepositories.go Resolve @v3.0.2..v4.1.2",
        "the Workflow's artifactRepositoryRef names a ConfigMap or key found neither in its namespace nor in "
        "the controller's", ("AD201", "AD202"), "configure-artifact-repository", since=(3, 0)),
    Row("no-repository-v3",
        "You need to configure artifact storage. More information on how to do this can be found in the docs",
        "controller", f"{ARGO} pkg/apis/workflow/v1alpha1/workflow_types.go @v3.0.0..v3.7.18",
        "no default artifact repository resolves for the Workflow's namespace", ("AD201",),
        "configure-artifact-repository", until=(3, 7)),
    Row("no-repository-v4",
        "artifact storage is not configured; see the docs for setup instructions", "controller",
        f"{ARGO} pkg/apis/workflow/v1alpha1/workflow_types.go @v4.0.0..v4.1.2",
        "no default artifact repository resolves for the Workflow's namespace", ("AD201",),
        "configure-artifact-repository", since=(4, 0)),
    Row("repository-unreadable", "failed to get artifact repository: %v", "controller",
        f"{ARGO} workflow/controller/operator.go operate @v3.1.0..v4.1.2",
        "the artifact repository the Workflow resolves cannot be read or decoded", ("AD201", "AD202"),
        "configure-artifact-repository", since=(3, 1), wraps=True),
    Row("artifact-driver-not-found", "artifact driver %s not found", "executor",
        f"{ARGO} config/config.go GetArtifactDriver @v4.0.0..v4.1.2",
        "a `plugin` artifact repository names a driver the controller config's artifactDrivers lacks",
        ("AD202",), None, since=(4, 0)),
    # --- the executor: secrets and artifacts
    Row("secret-key-file-missing", "open /argo/secret/%s/%s: no such file or directory", "executor",
        f"{ARGO} workflow/executor/executor.go GetSecret (os.ReadFile of common.SecretVolMountPath) @v3.0.0..v4.1.2",
        "the artifact Secret is mounted but lacks the key the repository names", ("AD203",), "copy-artifact-secret",
        pattern=r"open /argo/secret/([^/\s]{1,253})/([^\s:]{1,253}): no such file or directory"),
    Row("secret-key-missing", "secret '%s' does not have the key '%s'", "executor",
        f"{ARGO} workflow/executor/executor.go @v3.0.0..v4.1.2",
        "a Secret the template names lacks the key", ("AD203",), "copy-artifact-secret"),
    Row("task-result-forbidden",
        'workflowtaskresults.argoproj.io "%s" is forbidden: User "%s" cannot %s resource "workflowtaskresults"',
        "executor", f"{K8S} staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go "
                    f"forbiddenMessage; {ARGO} workflow/executor/executor.go (task results, v3.3+)",
        "the identity the executor acts as may not create or patch WorkflowTaskResults", ("AD302",),
        "grant-workflow-rbac", since=(3, 3),
        pattern=r'workflowtaskresults\.argoproj\.io( "[^"\n]{0,253}")? is forbidden: User "([^"\n]{0,300})" '
                r'cannot (create|patch|get|list|watch) resource "workflowtaskresults"'),
    Row("task-result-patch-failed", "failed to patch task result", "executor",
        f"{ARGO} workflow/executor/executor.go reportResult @v3.5.0..v4.1.2",
        "the wait container could not record the task's outputs (its identity's rights)", ("AD302",),
        "grant-workflow-rbac", since=(3, 5)),
    Row("pod-patch-forbidden", 'pods "%s" is forbidden: User "%s" cannot patch resource "pods"', "executor",
        f"{K8S} staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage; "
        f"{ARGO} workflow/executor (pod annotations, v2.x..v3.5)",
        "the executor's identity may not patch its pod (the outputs path before WorkflowTaskResults)",
        ("AD302",), "grant-workflow-rbac", until=(3, 5)),
    Row("executor-unauthorized", "Unauthorized", "executor",
        f"{K8S} staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters (401)",
        "the executor's service account token is missing or no longer valid", ("AD304",),
        "create-sa-token-secret", pattern=r"(?:^|: )Unauthorized\b"),
    # --- S3 object stores (the SDK quotes the server's message)
    Row("s3-no-such-bucket", "The specified bucket does not exist", "s3", "S3 error NoSuchBucket",
        "the repository's bucket was never created", ("AD206",), "create-bucket"),
    Row("s3-access-denied", "Access Denied", "s3", "S3 error AccessDenied",
        "the credentials are valid but the bucket policy refuses the operation", ("AD207", "AD205")),
    Row("s3-signature-mismatch",
        "The request signature we calculated does not match the signature you provided", "s3",
        "S3 error SignatureDoesNotMatch",
        "the secret key is wrong (often a trailing newline from `echo KEY | base64`)", ("AD205", "AD208")),
    Row("s3-unknown-access-key", "The Access Key Id you provided does not exist in our records", "s3",
        "S3 error InvalidAccessKeyId", "the access key is wrong", ("AD205", "AD208")),
    Row("s3-no-such-host", "dial tcp: lookup %s: no such host", "s3",
        "Go net package (*DNSError).Error, as the S3 SDK reports a failed dial",
        "the endpoint's host name does not resolve from the pod (e.g. a Service of another namespace named "
        "without its namespace)", ("AD204", "AD501"), "deploy-object-store",
        pattern=r"dial tcp: lookup ([^\s:]{1,253})(?: on [^:]{1,100}:\d{1,5})?: no such host"),
    Row("s3-connection-refused", "dial tcp %s: connect: connection refused", "s3",
        "Go net package (syscall.ECONNREFUSED), as the S3 SDK reports a failed dial",
        "nothing listens at the endpoint (the object store is not running)", ("AD204", "AD501"),
        "deploy-object-store", pattern=r"dial tcp ([^\s]{1,300}): connect: connection refused"),
    # --- API server admission of the pods the controller creates
    Row("service-account-missing", "error looking up service account %s/%s: %v", "admission",
        f"{K8S} plugin/pkg/admission/serviceaccount/admission.go Admit",
        "the Workflow's service account does not exist in its namespace", ("AD301",), "create-service-account",
        pattern=r"error looking up service account ([^/\s]{1,63})/([^:\s]{1,253}): "),
    Row("quota-must-specify", "failed quota: %s: must specify %s", "admission",
        f"{K8S} staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go",
        "a ResourceQuota requires requests or limits that the executor's init/wait containers do not set",
        ("AD405",), "set-executor-resources"),
    Row("quota-exceeded", "exceeded quota: %s, requested: %s, used: %s, limited: %s", "admission",
        f"{K8S} staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go",
        "the namespace's ResourceQuota is used up", ("AD405",)),
    Row("limitrange-maximum", "maximum %s usage per %s is %s, but limit is %s", "admission",
        f"{K8S} plugin/pkg/admission/limitranger/admission.go maxConstraint",
        "a LimitRange maximum rejects the pod's containers", ("AD405",), "set-executor-resources"),
    Row("limitrange-minimum", "minimum %s usage per %s is %s, but request is %s", "admission",
        f"{K8S} plugin/pkg/admission/limitranger/admission.go minConstraint",
        "a LimitRange minimum rejects the pod's containers", ("AD405",), "set-executor-resources"),
    Row("pod-security", 'violates PodSecurity "%s": %s', "admission",
        f"{K8S} staging/src/k8s.io/pod-security-admission/admission/admission.go",
        "the namespace's Pod Security level rejects the pods the executor creates", ("AD404",),
        "set-executor-security-context"),
    # --- the kubelet (Events on the pod, container states)
    Row("secret-volume-missing", 'MountVolume.SetUp failed for volume "%s" : secret "%s" not found', "kubelet",
        f"{K8S} pkg/volume/util/operationexecutor/operation_generator.go GenerateMountVolumeFunc; "
        "pkg/kubelet/util/manager/watch_based_manager.go (NotFound of resource secret)",
        "a Secret the pod mounts (the artifact repository's credentials) is absent from the Workflow's "
        "namespace", ("AD203",), "copy-artifact-secret",
        pattern=r'MountVolume\.SetUp failed for volume "([^"\n]{0,253})" : secrets? "([^"\n]{0,253})" not found'),
    Row("secret-volume-key-missing", "references non-existent secret key: %s", "kubelet",
        f"{K8S} pkg/volume/secret/secret.go MakePayload",
        "a Secret the pod mounts lacks a key the repository names", ("AD203",), "copy-artifact-secret"),
    Row("secret-env-key-missing", "couldn't find key %v in Secret %v/%v", "kubelet",
        f"{K8S} pkg/kubelet/kubelet_pods.go makeEnvironmentVariables",
        "a Secret a container's env names lacks the key", ("AD203",)),
    Row("image-pull-backoff", 'Back-off pulling image "%s"', "kubelet",
        f"{K8S} pkg/kubelet/images/image_manager.go EnsureImageExists",
        "the node cannot pull an image (registry, name, or pull secret)", ("AD406", "AD104")),
    Row("image-pull-failed", 'Failed to pull image "%s": %v', "kubelet",
        f"{K8S} pkg/kubelet/images/image_manager.go EnsureImageExists",
        "the node cannot pull an image (registry, name, or pull secret)", ("AD406", "AD104")),
    # --- the controller: synchronization, versions
    Row("sync-key-not-found", "Sync configuration key '%s' not found in ConfigMap", "controller",
        f"{ARGO} workflow/controller/controller.go @v3.0.0..v4.1.2",
        "a semaphore names a ConfigMap key that does not exist", ("AD107",)),
    Row("sync-semaphore-init", "failed to initialize semaphore %s with limit", "controller",
        f"{ARGO} workflow/sync/semaphore.go @v3.7.0..v4.1.2 (the real controller v3.7.18 writes it, wrapped in "
        "the lock failure below, for a semaphore key its ConfigMap lacks)",
        "a semaphore names a ConfigMap or key that does not exist, or a limit that is not a number", ("AD107",),
        since=(3, 7)),
    Row("sync-lock-failed", "Failed to acquire the synchronization lock. %s", "controller",
        f"{ARGO} workflow/controller/operator.go operate @v3.0.0..v4.1.2",
        "the Workflow's synchronization (semaphore or mutex) cannot be set up", ("AD107",), wraps=True),
    Row("cron-no-schedule", "cron workflow must have at least one schedule", "controller",
        f"{ARGO} workflow/validate/validate.go ValidateCronWorkflow @v4.0.0..v4.1.2",
        "a CronWorkflow still uses the singular `schedule` that v4 removed", ("AD108",), since=(4, 0)),
    Row("unknown-config-field", 'json: unknown field "%s"', "controller",
        f"{ARGO} config/config.go (strict unmarshalling of the controller ConfigMap) @v3.4.0..v4.1.2",
        "the controller ConfigMap holds a field this version rejects (the controller does not start)",
        ("AD103", "AD402"), "rewrite-controller-config", since=(3, 4)),
)
ROW_BY_ID = {r.id: r for r in ROWS}


@dataclasses.dataclass(frozen=True)
class Match:
    row: Row
    groups: tuple[str, ...]


def classify(message: str, version: Any = None) -> list[Match]:
    """The rows a message matches at this Argo version (None: any), most specific first: a row that only
    wraps another error after the one it wraps, then the longer text first."""
    if not isinstance(message, str) or not message:
        return []
    text = message[:MAX_SCANNED]
    found = []
    for row in ROWS:
        if not row.applies(version):
            continue
        m = row.regex.search(text)
        if m:
            found.append(Match(row, tuple(g or "" for g in m.groups())))
    found.sort(key=lambda m: (m.row.wraps, -len(m.row.text)))
    return found


def rows_for_check(check_id: str) -> list[Row]:
    """The rows whose cause a check judges (docs: each check's "What you see")."""
    return [r for r in ROWS if check_id in r.checks]


def markdown() -> str:
    """docs/symptoms.md: the table by check (`python -m argodoctor.argo.symptoms > docs/symptoms.md`)."""
    lines = ["# Messages and the checks that judge them", "",
             "Generated by `python -m argodoctor.argo.symptoms` from argodoctor/argo/symptoms.py: do not edit.",
             "`argodoctor diagnose` classifies a failed Workflow's messages with this table; `argodoctor explain "
             "ADnnn` prints the rows of a check.", ""]
    ids = sorted({c for r in ROWS for c in r.checks})
    for cid in ids:
        lines += [f"## {cid}", "", "| message | written by | Argo versions | source |", "|---|---|---|---|"]
        for r in rows_for_check(cid):
            text = r.text.replace("|", "\\|")
            lines.append(f"| `{text}` | {r.component} | {r.versions()} | {r.source.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def explain(check_id: str) -> str:
    """The "What you see" lines `argodoctor explain` adds to a check's docs section."""
    rows = rows_for_check(check_id)
    if not rows:
        return ""
    out = ["Messages that point here (`argodoctor diagnose` matches them):"]
    out += [f"  - {r.text}  [{r.component}, {r.versions()}; {r.source}]" for r in rows]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown())
