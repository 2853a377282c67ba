"""create-bucket: creates the repository's missing bucket through the S3 API, with the
repository's own credentials (the seed guide did this by hand in MinIO's web UI)."""
from __future__ import annotations

from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.errors import ApplyError, KubeError, UserError
from argodoctor.s3 import NoRoute, Probe, probe, probes, s3_repositories


class CreateBucket(Remediation):
    id = "create-bucket"
    title = "create the artifact repository's bucket through the S3 API"
    fixes = ("AD206",)

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        seen: set[tuple[str, str]] = set()
        # The controller's namespace first: its copy of the credentials is the original.
        namespaces = sorted(ctx.workflow_namespaces, key=lambda n: n != ctx.controller.namespace)
        for ns in namespaces:
            for repo, s in s3_repositories(ctx, ns):
                if not s.bucket or (s.endpoint, s.bucket) in seen:
                    continue
                try:
                    p = probe(ctx, ns, repo, s)
                    if p.reach() is not None or not p.authenticate()[0]:
                        continue  # another namespace's copy of the keys may work; AD204/AD205 say why
                    seen.add((s.endpoint, s.bucket))
                    if p.bucket_exists():
                        continue
                except (NoRoute, KubeError, UserError) as e:  # InvalidName: a Secret name AD203 fails
                    plan.notes.append(f"cannot probe {s.endpoint} from {ns}: {e}")
                    continue
                except Exception as e:  # only its summary: the exception may hold the body of what answered
                    plan.notes.append(f"cannot probe {s.endpoint} from {ns}: {probes.summary(e)}")
                    continue
                plan.actions.append(_create(p, ns))
        return plan


def _create(p: Probe, ns: str) -> Action:
    bucket = p.s.bucket

    def perform(_kube) -> None:
        from minio.error import S3Error

        try:
            p.client().make_bucket(bucket)
        except S3Error as e:
            if e.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return
            who = p.credentials.source if p.credentials else "the SDK's credentials"
            if e.code == "AccessDenied":
                raise ApplyError(
                    f"the credentials from {who} may not create buckets (AccessDenied): create bucket {bucket} "
                    "with the store's administrator keys, or allow s3:CreateBucket") from None
            raise ApplyError(f"creating bucket {bucket} failed: {probes.summary(e)}") from None
        except Exception as e:
            raise ApplyError(f"creating bucket {bucket} failed: {probes.summary(e)}") from None

    desired = {"kind": "S3Bucket", "metadata": {"name": bucket}}
    return Action(desired, None, f"at {p.s.endpoint} via {p.target.route}, with the keys of {ns}",
                  perform=perform)
