"""The object store behind the artifact repository, step by step as Argo's executor meets it:
the in-cluster Service (AD501), reachability (AD204), credentials (AD205), the bucket (AD206),
and a write (AD207). AD204-AD207 are live only and talk S3 through argodoctor.s3."""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor.checks.artifacts import WORKFLOW_READS

from argodoctor import argo, s3
from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result
from argodoctor.errors import KubeError
from argodoctor.s3 import not_probed, other_repositories, probe, probes, s3_repositories
from argodoctor.view import names, secret_facts
from argodoctor.view.cluster import not_in_files


def _cm(repo: argo.Repository) -> str | None:
    return f"ConfigMap/{repo.configmap[1]}" if repo.configmap else None


class _S3Check(Check):
    """Runs once per (workflow namespace, S3 repository); subclasses implement one()."""

    group = "artifacts"
    live_only = True
    reads = (*WORKFLOW_READS, "Secret", "Service", "Endpoints", "Namespace")

    def run(self, ctx: Context) -> Iterable[Result]:
        skips, namespaces = self.split_blocked(ctx, ctx.workflow_namespaces)
        yield from skips
        for ns in namespaces:
            for repo in other_repositories(ctx, ns):
                yield self.skipped(not_probed(repo), namespace=ns, object=_cm(repo))
            for repo, settings in s3_repositories(ctx, ns):
                try:
                    p = probe(ctx, ns, repo, settings)
                    yield self.one(ctx, ns, repo, settings, p)
                except s3.NoRoute as e:
                    yield self.unreachable(ns, repo, str(e)) if e.broken else \
                        self.skipped(f"not probed: {e}", namespace=ns, object=_cm(repo))
                except names.InvalidName as e:  # a Secret name AD203 fails: never sent to the API server
                    yield self.skipped(f"not probed: {e} (see AD203)", namespace=ns, object=_cm(repo))
                except KubeError as e:
                    yield self.errored(f"cannot read what the probe needs: {e}", namespace=ns, object=_cm(repo))
                except Exception as e:  # only its summary: the exception may hold the body of what answered
                    if probes.answered(e):  # a web page or other service where S3 was expected
                        yield self.failed(f"{settings.endpoint} ({repo.source}) does not answer as S3: "
                                          f"{probes.summary(e)}", namespace=ns, object=_cm(repo))
                    else:  # a transport failure (a read timeout) after AD204 passed: not a verdict
                        yield self.errored(f"{settings.endpoint} ({repo.source}): the probe could not finish: "
                                           f"{probes.summary(e)}", namespace=ns, object=_cm(repo))

    def unreachable(self, ns: str, repo: argo.Repository, why: str) -> Result:
        return self.skipped(f"blocked: the endpoint is unreachable: {why}", namespace=ns, object=_cm(repo))

    def one(self, ctx: Context, ns: str, repo: argo.Repository, s: argo.S3Settings, p: s3.Probe) -> Result:
        raise NotImplementedError


class EndpointReachable(_S3Check):
    id = "AD204"
    slug = "artifact-endpoint-reachable"
    title = "the S3 endpoint answers: DNS, TCP, TLS and HTTP"
    remediation = "deploy-object-store"
    requires = ("AD202",)

    def unreachable(self, ns: str, repo: argo.Repository, why: str) -> Result:
        return self.failed(why, namespace=ns, object=_cm(repo))

    def one(self, ctx, ns, repo, s, p):
        t = p.target
        problem = ctx.once(f"s3-reach:{t.address}:{t.secure}:{t.server_name}", p.reach)
        via = "" if t.route == "direct" else f" via {t.route}"
        if problem:
            return self.failed(f"cannot reach the S3 endpoint {s.endpoint} of {repo.source}{via}: {problem}",
                               namespace=ns, object=_cm(repo))
        scheme = "https" if t.secure else "http"
        return self.passed(f"{scheme}://{s.endpoint} answers{via}", namespace=ns, object=_cm(repo))


class CredentialsValid(_S3Check):
    id = "AD205"
    slug = "artifact-credentials-valid"
    title = "the S3 endpoint accepts the repository's credentials"
    requires = ("AD203", "AD204")

    def one(self, ctx, ns, repo, s, p):
        if s.use_sdk_creds:
            return self.skipped("useSDKCreds: the pod's cloud identity signs requests; not checkable from here",
                                namespace=ns, object=_cm(repo))
        ok, detail = p.authenticate()
        who = p.credentials.source if p.credentials else "no credentials"
        if ok:
            return self.passed(f"{s.endpoint} accepts the keys from {who}", namespace=ns, object=_cm(repo))
        return self.failed(f"{s.endpoint} rejects the keys from {who} ({detail}); correct that Secret's values "
                           f"to the object store's access and secret key{_hygiene_hint(ctx, ns, s)}", namespace=ns,
                           object=f"Secret/{s.secret_key.name if s.secret_key else '?'}")


def _hygiene_hint(ctx: Context, ns: str, s: argo.S3Settings) -> str:
    """When a key's recorded shape explains a rejected signature (AD208), say so."""
    for ref in (s.access_key, s.secret_key):
        secret = ctx.view.get("Secret", ns, ref.name) if ref and ref.name else None
        facts = secret_facts.of(secret, ref.key) if secret and ref else None
        if facts and secret_facts.problems(facts):
            return (f"; its {ref.key} {secret_facts.problems(facts)[0]}, which changes the signature: see AD208")
    return ""


class BucketExists(_S3Check):
    id = "AD206"
    slug = "artifact-bucket-exists"
    title = "the repository's bucket exists"
    remediation = "create-bucket"
    requires = ("AD205",)

    def one(self, ctx, ns, repo, s, p):
        if p.bucket_exists():
            return self.passed(f"bucket {s.bucket} exists at {s.endpoint}", namespace=ns, object=_cm(repo))
        if isinstance(s.create_bucket, dict):
            return self.warned(f"bucket {s.bucket} does not exist at {s.endpoint}; Argo creates it on first use "
                               "(createBucketIfNotPresent), if the credentials may create buckets",
                               namespace=ns, object=_cm(repo))
        return self.failed(f"bucket {s.bucket} does not exist at {s.endpoint} ({repo.source}); workflows fail "
                           "with `The specified bucket does not exist`", namespace=ns, object=_cm(repo))


class BucketWritable(_S3Check):
    id = "AD207"
    slug = "artifact-bucket-writable"
    title = "a probe object can be written, read back and deleted"
    requires = ("AD206",)

    def one(self, ctx, ns, repo, s, p):
        who = p.credentials.source if p.credentials else "the SDK's credentials"
        failed = p.write_cycle()
        if failed is None:
            return self.passed(f"put, get and delete of a probe object under {s3.PROBE_PREFIX} in {s.bucket} work "
                               f"with {who}", namespace=ns, object=_cm(repo))
        return self.failed(f"{failed} with {who}: its policy must allow s3:PutObject, s3:GetObject and "
                           f"s3:DeleteObject on arn:aws:s3:::{s.bucket}/*", namespace=ns, object=_cm(repo))


class ObjectStoreService(Check):
    id = "AD501"
    slug = "object-store-service"
    group = "object-store"
    title = "an in-cluster S3 endpoint names a Service with ready endpoints"
    remediation = "deploy-object-store"
    requires = ("AD201",)
    reads = (*WORKFLOW_READS, "Service", "Endpoints", "Namespace")

    def run(self, ctx: Context) -> Iterable[Result]:
        namespaces = s3.known_namespaces(ctx)
        for ns in ctx.workflow_namespaces:
            for repo in other_repositories(ctx, ns):
                yield self.skipped(not_probed(repo), namespace=ns, object=_cm(repo))
            for repo, s in s3_repositories(ctx, ns):
                bad = s3.control_character(s.endpoint or "")
                if bad:  # not a host name: cannot be judged here (AD202 judges the endpoint's form)
                    yield self.errored(f"the endpoint of {repo.source} holds a control character ({bad}): it names "
                                       "no host, so no Service is looked up", namespace=ns, object=_cm(repo))
                    continue
                ref = s3.service_of(s, ns, namespaces)
                if ref is None:
                    yield self.skipped(f"{s.endpoint or 'no endpoint'} is not an in-cluster Service name",
                                       namespace=ns, object=_cm(repo))
                    continue
                yield self._one(ctx, ns, s, ref)

    def _one(self, ctx: Context, ns: str, s: argo.S3Settings, ref: s3.ServiceRef) -> Result:
        state = s3.service_state(ctx.view, ref)
        obj = f"Service/{ref.name}"
        where = f"{ref.namespace}/{ref.name}"
        if state.service is None and ctx.view.unseen(ref.namespace):
            return self.skipped(f"Service {where}, which endpoint {s.endpoint} names: {ctx.view.unseen(ref.namespace)}",
                                namespace=ns, object=obj)
        if state.service is None:
            others = s3.service_namespaces(ctx).get(ref.name, [])
            if others:
                fqdn = f"{ref.name}.{others[0]}.svc:{ref.port}"
                return self.failed(f"endpoint {s.endpoint} names Service {where}, which does not exist; a workflow "
                                   f"pod in {ns} resolves `{ref.name}` in its own namespace, but the Service is in "
                                   f"{', '.join(others)}: use endpoint: {fqdn}", namespace=ns, object=obj,
                                   remediation="configure-artifact-repository")
            if ctx.view.partial:
                return self.skipped(not_in_files(f"Service {where}, which endpoint {s.endpoint} names"),
                                    namespace=ns, object=obj)
            return self.failed(f"endpoint {s.endpoint} names Service {where}, which does not exist", namespace=ns,
                               object=obj)
        if state.external_name:
            return self.skipped(f"Service {where} is an ExternalName Service for {state.external_name}: it has no "
                                f"endpoints of its own; workflow pods connect to {state.external_name}:{ref.port} "
                                "(AD204 probes it)", namespace=ns, object=obj)
        if not state.has_port:
            ports = ", ".join(str(p.get("port")) for p in (state.service.get("spec") or {}).get("ports") or [])
            return self.failed(f"Service {where} has no port {ref.port} (ports: {ports or 'none'})", namespace=ns,
                               object=obj, remediation="configure-artifact-repository")
        selector = (state.service.get("spec") or {}).get("selector")
        if not state.ready and ctx.view.partial and not selector:
            # kubernetes v1.35 pkg/controller/endpoint/endpoints_controller.go syncService: "services without a
            # selector receive no endpoints from this controller": whoever runs the store writes them
            return self.skipped(not_in_files(f"the Endpoints of Service {where} (it has no selector)", plural=True),
                                namespace=ns, object=obj)
        if not state.ready and ctx.view.partial:  # a Service of the files judged as it will be once applied
            return self.failed(f"Service {where} will have no ready endpoints once applied: no workload of the files "
                               f"runs pods its selector matches on port {ref.port}", namespace=ns, object=obj)
        if not state.ready:
            return self.failed(f"Service {where} has no ready endpoints: no ready pod serves port {ref.port}",
                               namespace=ns, object=obj)
        if state.planned:  # Endpoints inferred from the files' workloads: nothing is running yet
            return self.passed(f"Service {where} will have {len(state.ready)} ready endpoint(s) on port {ref.port} "
                               "once applied (a workload of the files runs pods its selector matches)",
                               namespace=ns, object=obj)
        return self.passed(f"Service {where} has {len(state.ready)} ready endpoint(s) on port {ref.port}",
                           namespace=ns, object=obj)
