"""Artifact repository checks: configured (AD201), valid (AD202) and its secrets resolvable (AD203)."""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result
from argodoctor.errors import KubeError
from argodoctor.view import names, secret_declarers, secret_facts
from argodoctor.view.cluster import not_in_files

WORKFLOW_READS = ("Deployment", "ConfigMap", *argo.WORKFLOW_KINDS, argo.CLUSTER_TEMPLATE_KIND)


def describe(repo: argo.Repository) -> str:
    """'s3 bucket argo-bucket at minio:9000' and the like."""
    kind = repo.kind
    if kind is None:
        return "a repository of unknown type"
    spec = repo.spec[kind]
    detail = ", ".join(f"{k} {spec[k]}" for k in ("bucket", "endpoint", "url", "repoURL") if spec.get(k))
    return f"{kind} {detail}".strip()


class RepositoryConfigured(Check):
    id = "AD201"
    slug = "artifact-repository-configured"
    group = "artifacts"
    title = "every workflow namespace resolves a default artifact repository"
    remediation = "configure-artifact-repository"
    requires = ("AD101",)  # without Argo installed, nothing here means anything
    reads = WORKFLOW_READS

    def run(self, ctx: Context) -> Iterable[Result]:
        controller = ctx.controller
        for ns in ctx.workflow_namespaces:
            repos = ctx.repositories(ns)
            default = next((r for r in repos if r.used_by == "default"), None)
            if default is None:
                miss = argo.default_repository_miss(ns, ctx.configmaps())
                yield self.failed(
                    f"no default artifact repository: {miss}, and no artifactRepository in ConfigMap "
                    f"{controller.namespace}/{controller.configmap_name}; workflows here cannot store outputs or logs",
                    namespace=ns)
            elif default.spec is None:
                # Configured but unreadable: AD202 says what is wrong with it.
                yield self.passed(f"configured in {_where(default)}{_why(default)} (invalid: see AD202)", namespace=ns,
                                  object=_object(default))
            else:
                yield self.passed(f"{describe(default)}, from {_where(default)}{_why(default)}", namespace=ns,
                                  object=_object(default))


def _object(repo: argo.Repository) -> str | None:
    return f"ConfigMap/{repo.configmap[1]}" if repo.configmap else None


class RepositoryValid(Check):
    id = "AD202"
    slug = "artifact-repository-valid"
    group = "artifacts"
    title = "every artifact repository a workflow namespace resolves is one Argo can use"
    remediation = "configure-artifact-repository"
    requires = ("AD201",)
    reads = WORKFLOW_READS

    def run(self, ctx: Context) -> Iterable[Result]:
        skips, namespaces = self.split_blocked(ctx, ctx.workflow_namespaces)
        yield from skips
        for ns in namespaces:
            for repo in ctx.repositories(ns):
                problems = argo.repository_problems(repo, ctx.version, _drivers(ctx))
                where = _where(repo)
                if problems:
                    yield self.failed(f"{where}: {'; '.join(problems)}{_why(repo)}", namespace=ns,
                                      object=_object(repo), pointer=_pointer(repo, problems[0]))
                else:
                    yield self.passed(f"{describe(repo)}, from {where}{_why(repo)}", namespace=ns,
                                      object=_object(repo))


def _drivers(ctx: Context) -> list[str] | None:
    """The artifact driver names of the controller config (v4.0+ artifactDrivers), None when unknown."""
    try:
        drivers = ctx.config.settings.get("artifactDrivers")
    except KubeError:  # no readable config: the plugin rule is not judged (AD103 says why)
        return None
    if drivers is None:
        return []
    if not isinstance(drivers, list):
        return None  # the wrong type: AD103's finding
    return [str(d.get("name")) for d in drivers if isinstance(d, dict) and d.get("name")]


def _pointer(repo: argo.Repository, problem: str) -> tuple[str, ...] | None:
    """("data", KEY, FIELD): the ConfigMap key holding the repository and the field the first problem
    names ("endpoint ..." -> endpoint; "s3.accessKeySecret ..." -> accessKeySecret)."""
    if not repo.configmap or not repo.key:
        return None
    field = problem.split(" ", 1)[0].rsplit(".", 1)[-1].strip("\"':,")
    return ("data", repo.key, field) if field.isidentifier() else ("data", repo.key)


def _where(repo: argo.Repository) -> str:
    """The repository's source, and who uses it when that is not the namespace's default."""
    return repo.source if repo.used_by == "default" else f"{repo.source}, used by {repo.used_by}"


def _why(repo: argo.Repository) -> str:
    """Why this is the repository the namespace resolves (argo.resolve_*), as a trailing remark."""
    return f" ({repo.why})" if repo.why else ""


class SecretResolves(Check):
    id = "AD203"
    slug = "artifact-secret-resolves"
    group = "artifacts"
    title = "every secret the artifact repository names exists in each workflow namespace"
    remediation = "copy-artifact-secret"
    requires = ("AD201",)
    reads = (*WORKFLOW_READS, "Secret")

    def run(self, ctx: Context) -> Iterable[Result]:
        secrets = ctx.view.list("Secret")  # one LIST for all namespaces
        declared = secret_declarers.declarations(ctx.view)
        holders: dict[str, list[str]] = {}
        for s in secrets:
            holders.setdefault(s["metadata"]["name"], []).append(s["metadata"].get("namespace", ""))
        skips, namespaces = self.split_blocked(ctx, ctx.workflow_namespaces)
        yield from skips
        for ns in namespaces:
            for repo in ctx.repositories(ns):
                if repo.spec is None:
                    continue  # unreadable repository: AD202's finding
                by_secret: dict[str, list[argo.SecretRef]] = {}
                for ref in repo.secret_refs(ctx.version):
                    by_secret.setdefault(ref.name, []).append(ref)
                for name, refs in sorted(by_secret.items()):
                    yield self._one(ctx, ns, repo, name, refs, holders.get(name, []), declared.get((ns, name)))

    def _one(self, ctx: Context, ns: str, repo: argo.Repository, name: str,
             refs: list[argo.SecretRef], holders: list[str],
             declared: list[secret_declarers.Declared] | None = None) -> Result:
        obj = f"Secret/{name}"
        fields = ", ".join(r.field for r in refs)
        if not name:
            return self.failed(f"{_where(repo)}{_why(repo)}: {fields} has no secret name", namespace=ns,
                               remediation="configure-artifact-repository")
        invalid = names.invalid("Secret", name)
        if invalid:
            # No Secret can have it (the API server validates names so), and client-go refuses to put a name
            # that is no path segment into a URL (rest/request.go Name: "invalid resource name"): Argo fails
            # to get it. argodoctor sends it nowhere (s3.read_credentials checks it first).
            return self.failed(f"{invalid} ({fields} of {_where(repo)}{_why(repo)}); no Secret can have it, so Argo "
                               "fails to get it: correct the name in the repository", namespace=ns,
                               object=_object(repo), remediation=None)
        secret = ctx.view.get("Secret", ns, name)
        if secret is None and declared:
            return self._declared(ctx, ns, repo, name, refs, declared)
        if secret is None:
            elsewhere = [h for h in holders if h != ns]
            if not elsewhere and ctx.view.partial:
                return self.skipped(not_in_files(f'secret "{name}" in {ns} ({fields} of {_where(repo)}{_why(repo)})',
                                                 secret=True),
                                    namespace=ns, object=obj)
            hint = (f"it exists only in {', '.join(sorted(elsewhere))}; Argo mounts it into each workflow pod, "
                    "so it must exist in the workflow's own namespace") if elsewhere else (
                "it exists in no namespace; create it with the object store's credentials")
            return self.failed(f'secret "{name}" not found in {ns} ({fields} of {_where(repo)}{_why(repo)}); {hint}',
                               namespace=ns, object=obj,
                               remediation=self.remediation if elsewhere else None)
        data = secret.get("data") or {}
        missing = [r.key for r in refs if r.key not in data]
        empty = [r.key for r in refs if r.key in data and not data[r.key]]
        if missing or empty:
            problems = []
            if missing:
                problems.append(f"lacks key {', '.join(missing)}")
            if empty:
                problems.append(f"has an empty value for {', '.join(empty)}")
            return self.failed(f"Secret {ns}/{name} {' and '.join(problems)} ({fields} of {_where(repo)}{_why(repo)}); "
                               "correct the Secret by hand", namespace=ns, object=obj, remediation=None)
        keys = ", ".join(sorted({r.key for r in refs}))
        return self.passed(f"Secret {ns}/{name} has {keys} for {_where(repo)}{_why(repo)}", namespace=ns, object=obj)


    def _declared(self, ctx: Context, ns: str, repo: argo.Repository, name: str, refs: list[argo.SecretRef],
                  found: list[secret_declarers.Declared]) -> Result:
        """A Secret missing but declared by another controller's object: in the files (check -f) the
        declaration counts as the Secret, with the keys it names; on a cluster it is not synced yet (warn,
        with its sync condition). Never copy-artifact-secret: that would fight the controller."""
        d = found[0]
        obj, fields = f"Secret/{name}", ", ".join(r.field for r in refs)
        where = f"{fields} of {_where(repo)}{_why(repo)}"
        lacking = sorted({r.key for r in refs} - d.keys) if d.keys is not None else []
        if lacking:
            return self.failed(f'secret "{name}" in {ns} is declared by {d.describe()}, whose keys lack '
                               f"{', '.join(lacking)} ({where}): add them to its spec", namespace=ns, object=obj,
                               remediation=None)
        keys = "its keys come from the provider, not knowable here" if d.keys is None else \
            f"with {', '.join(sorted({r.key for r in refs}))}"
        if d.from_files:
            return self.passed(f'secret "{name}" in {ns} is declared by {d.describe()} ({keys}) for {where}; it '
                               f"exists once {d.controller} syncs it", namespace=ns, object=obj)
        state = f"; its status: {d.condition}" if d.condition else "; it reports no sync condition yet"
        return self.warned(f'secret "{name}" not found in {ns} ({where}): {d.describe()} declares it ({keys}), '
                           f"but {d.controller} has not written it{state}", namespace=ns, object=obj,
                           remediation=None)


# Credentials that are single-line tokens, signed or compared byte for byte (S3 signs with the raw key):
# a trailing newline there is always a mistake. Certificates, JSON key files and keytabs legitimately
# end in a newline or hold binary bytes, so caSecret, serviceAccountKeySecret and the Kerberos secrets
# are not judged.
TOKEN_FIELDS = ("s3.accessKeySecret", "s3.secretKeySecret", "s3.sessionTokenSecret", "oss.accessKeySecret",
                "oss.secretKeySecret", "azure.accountKeySecret", "artifactory.usernameSecret",
                "artifactory.passwordSecret")


class SecretValueHygiene(Check):
    id = "AD208"
    slug = "secret-value-hygiene"
    group = "artifacts"
    title = "no repository credential has surrounding whitespace, a trailing newline or non-printable bytes"
    requires = ("AD203",)
    reads = (*WORKFLOW_READS, "Secret")

    def run(self, ctx: Context) -> Iterable[Result]:
        skips, namespaces = self.split_blocked(ctx, ctx.workflow_namespaces)
        yield from skips
        seen: set[tuple[str, str, str]] = set()
        for ns in namespaces:
            for repo in ctx.repositories(ns):
                for ref in repo.secret_refs(ctx.version):
                    if ref.field not in TOKEN_FIELDS or (ns, ref.name, ref.key) in seen:
                        continue
                    seen.add((ns, ref.name, ref.key))
                    secret = ctx.view.get("Secret", ns, ref.name)
                    if secret is None or ref.key not in (secret.get("data") or {}):
                        continue  # AD203's finding
                    yield self._one(ns, ref, secret)

    def _one(self, ns: str, ref: argo.SecretRef, secret: dict) -> Result:
        obj = f"Secret/{ref.name}"
        facts = secret_facts.of(secret, ref.key)
        if facts is None:
            return self.skipped(f"no value shapes recorded for Secret {ns}/{ref.name} key {ref.key} (a snapshot "
                                "from an older argodoctor?)", namespace=ns, object=obj)
        found = secret_facts.problems(facts)
        if found:
            return self.failed(f"Secret {ns}/{ref.name} key {ref.key} ({ref.field}) {' and '.join(found)}; the "
                               "object store rejects the request (SignatureDoesNotMatch / InvalidAccessKeyId) "
                               f"although the key looks right. Recreate it: kubectl create secret generic {ref.name} "
                               f"-n {ns} --from-literal={ref.key}=... --dry-run=client -o yaml | kubectl apply -f -",
                               namespace=ns, object=obj)
        return self.passed(f"Secret {ns}/{ref.name} key {ref.key} ({ref.field}) is a clean single-line value",
                           namespace=ns, object=obj)
