"""`argodoctor role --for check|fix`: the Roles argodoctor needs for a run, generated from
argodoctor.engine.permissions."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..engine import registry
from ..errors import UserError
from .common import write_doc
from .fix import remediation_ids


def run(args: argparse.Namespace) -> int:
    from ..engine.permissions import bindings, fixer_roles, reader_roles

    controller_ns = args.controller_namespace or "argo"
    if args.purpose == "fix":
        if args.namespaced_read or args.no_secrets or args.namespaces:
            raise UserError("--namespaced-read, --no-secrets and --workflow-namespace go with --for check")
        ids = remediation_ids(args.ids) if args.ids else None
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
        write_doc({"apiVersion": "v1", "kind": "List", "items": objs} if len(objs) > 1 else objs[0], "json")
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
