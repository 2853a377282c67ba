"""The fix engine: renders plans as diffs, saves before-images, applies by server-side apply."""
from __future__ import annotations

import copy
import datetime as dt
import difflib
import functools
import os
from typing import Any

from ..engine.model import Action, Plan
from ..errors import ApplyError, KubeError
from ..view.cluster import KINDS
from ..view.kube import Kube

REDACTED = "<redacted>"
_VOLATILE_META = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation",
                  "selfLink")


def clean(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """An object as a user would re-apply it: no status, no server-set metadata."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for k in _VOLATILE_META:
        meta.pop(k, None)
    return out


def redact(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None or obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for field in ("data", "stringData"):
        if field in out:
            out[field] = {k: REDACTED for k in out[field] or {}}
    return out


def merged(before: dict[str, Any] | None, desired: dict[str, Any]) -> dict[str, Any]:
    """What the object looks like after applying `desired`: maps merge, lists of named items
    (containers, env, volumes) merge by name, everything else replaces."""
    if before is None:
        return copy.deepcopy(desired)

    def merge(a: Any, b: Any, key: str = "") -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for k, v in b.items():
                out[k] = merge(a.get(k), v, k)
            return out
        if key in _MERGE_BY_NAME and isinstance(a, list) and isinstance(b, list):
            by_name = {item.get("name"): item for item in a if isinstance(item, dict)}
            out = [merge(by_name.get(item.get("name")), item) for item in b]
            return out + [item for item in a if item.get("name") not in {i.get("name") for i in b}]
        return copy.deepcopy(b)
    return merge(before, desired)


# Lists Kubernetes merges by name (associative in server-side apply); all others are replaced whole.
_MERGE_BY_NAME = {"containers", "initContainers", "env", "volumes"}


def is_subset(desired: Any, actual: Any) -> bool:
    """True when everything `desired` sets is already so in `actual` (nothing to write)."""
    if isinstance(desired, dict):
        if not desired:  # the API server omits empty maps
            return actual is None or isinstance(actual, dict)
        return isinstance(actual, dict) and all(is_subset(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list):  # lists as SSA sees them: same length, each item already so
        return (isinstance(actual, list) and len(desired) == len(actual)
                and all(is_subset(d, a) for d, a in zip(desired, actual, strict=True)))
    return desired == actual


@functools.cache
def _block_dumper() -> Any:
    """A dumper writing multi-line strings (configmap values) as `|` blocks, so diffs read line by line.
    Built on first use: plugins import this module, and `argodoctor list` needs no YAML."""
    import yaml

    class BlockDumper(yaml.SafeDumper):
        pass

    def as_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value and all(line == line.rstrip() for line in value.splitlines()) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    BlockDumper.add_representer(str, as_block)
    return BlockDumper


def _yaml(obj: dict[str, Any] | None) -> list[str]:
    import yaml

    if obj is None:
        return []
    return yaml.dump(obj, Dumper=_block_dumper(), sort_keys=False, default_flow_style=False,
                     allow_unicode=True).splitlines(keepends=True)


def render_diff(action: Action, max_lines: int | None = None) -> str:
    """The action as a unified diff (secret values redacted); diffs longer than max_lines are cut."""
    if action.perform is not None:
        return f"+ {action.kind} {action.name}\n"
    if action.brief and max_lines is not None:
        return f"+ ({len(_yaml(action.desired))} lines of YAML; --full-diff shows them)\n"
    before = redact(clean(action.before))
    after = None if action.delete else redact(clean(merged(action.before, action.desired)))
    where = f"{action.namespace}/" if action.namespace else ""
    label = f"{action.kind} {where}{action.name}"
    lines = list(difflib.unified_diff(_yaml(before), _yaml(after),
                                      fromfile=f"{label} (live)" if before else "/dev/null",
                                      tofile=f"{label} (planned)" if after else "/dev/null", n=3))
    if max_lines is not None and len(lines) > max_lines:
        cut = len(lines) - max_lines
        lines = lines[:max_lines] + [f"... {cut} more line(s) (--full-diff shows them)\n"]
    return "".join(lines)


def render_plan(plan: Plan, max_lines: int | None = None) -> str:
    out = []
    for a in plan.actions:
        out.append(f"# {a.describe()}\n{render_diff(a, max_lines)}")
    for note in plan.notes:
        out.append(f"# note: {note}\n")
    return "\n".join(out)


def object_path(obj: dict[str, Any], kube: Kube | None = None) -> str:
    """The object's URL: from the kinds argodoctor reads, else (given kube) from API discovery."""
    meta = obj["metadata"]
    kind = KINDS.get(obj["kind"])
    if kind is not None:
        return kind.path(meta.get("namespace"), meta["name"])
    if kube is None:
        raise KeyError(f"no API path known for {obj['kind']}")
    from .manifests import Discovery

    return Discovery(kube).path(obj)


def get_live(kube: Kube, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The object as it is in the cluster now, or None."""
    try:
        return kube.request("GET", object_path(obj, kube))
    except KubeError as e:
        if e.not_found:
            return None
        raise


def _pop(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    for f in path[:-1]:
        obj = obj.get(f) or {}
    obj.pop(path[-1], None)


def _refusal(e: KubeError) -> str:
    """Why the API server refused a write, in the words that help: a conflict names the other field
    manager (helm, argocd-controller, kubectl-client-side-apply) and the field, and how to take it."""
    if e.status == 409 and "conflict" in str(e).lower():
        return (f"{e} (another field manager owns this field: change it where that manager's source is, or "
                "re-run with --force-conflicts to take ownership; it may set it back on its next sync)")
    return str(e)


def default_backup_dir() -> str:
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(state, "argodoctor", "backups")


def _with_change(before: dict[str, Any], body: dict[str, Any], action: Action) -> dict[str, Any]:
    """What is sent for an object that exists: the live object with the change, the fields to remove
    removed. Server-side apply drops fields this field manager set before and leaves out now (say, an
    install argodoctor applied); sending the whole object keeps every other field as it is (a field left
    unchanged is shared with its owner, not taken)."""
    body = merged(clean(before), body)
    for path in action.remove:
        _pop(body, path)
    return body


def preflight(kube: Kube, actions: list[Action], force: bool = False) -> list[str]:
    """Every action sent with server-side dry run (dryRun=All), nothing written: what the API server
    would refuse (a field another manager owns, an admission policy, a quota), one line each. A plan is
    applied only when none is refused, so nothing is half-applied."""
    problems = []
    created_namespaces: set[str] = set()
    created_roles: set[tuple[str, str, str]] = set()  # (kind, namespace, name) this plan creates first
    for action in actions:
        if action.perform is not None:
            continue  # not a Kubernetes write (an S3 bucket)
        body = action.materialize(kube) if action.materialize else action.desired
        before = get_live(kube, body)
        if before is not None and not action.delete:  # sent as apply() sends it
            body = _with_change(before, body, action)
        try:
            if action.delete:
                if before is not None:
                    kube.request("DELETE", object_path(body, kube), query={"dryRun": "All"})
            else:
                kube.apply(object_path(body, kube), body, dry_run=True, force=force)
        except KubeError as e:
            if e.not_found and action.namespace in created_namespaces:
                continue  # its namespace is created earlier in this plan: judged once it exists
            if e.not_found and _role_ref(body) in created_roles:
                continue  # its role is created earlier in this plan (see _role_ref)
            problems.append(f"{action.describe()}: {_refusal(e)}")
        if action.kind == "Namespace":
            created_namespaces.add(action.name)
        elif action.kind in ("Role", "ClusterRole") and not action.delete:
            created_roles.add((action.kind, action.namespace or "", action.name))
    return problems


def _role_ref(binding: dict[str, Any]) -> tuple[str, str, str] | None:
    """The role a (Cluster)RoleBinding names. Without `bind`, the API server resolves that role to check
    the caller holds its rules, and a role that does not exist yet is NotFound (kubernetes v1.35
    pkg/registry/rbac/rolebinding/policybased/storage.go Create: BindingAuthorized, else
    GetRoleReferenceRules): in a dry run, a role the same plan creates first is not there yet."""
    if binding.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
        return None
    ref = binding.get("roleRef") or {}
    ns = ((binding.get("metadata") or {}).get("namespace") or "") if ref.get("kind") == "Role" else ""
    return (ref.get("kind") or "", ns, ref.get("name") or "")


def plan_each(remediations: list, ctx: Any, write: Any, *, dry_run: bool) -> list[str]:
    """Plans each remediation in turn and hands the plan to write(plan, id) -> whether it was applied;
    returns the check ids they fix. In a dry run nothing applies, so an object already in an earlier plan is
    shown once (Plan.once); in a real run a plan that was not applied (declined, held, refused) holds
    nothing back, so a later plan still offers the same object."""
    targeted: list[str] = []
    planned: dict = {}  # objects of the plans shown and not applied
    for rem_cls in remediations:
        rem = rem_cls()
        targeted += rem.fixes
        before = dict(planned)
        applied = write(rem.plan(ctx).once(planned), rem.id)
        if applied or not dry_run:
            planned = before
        if applied:
            ctx.reset()  # later remediations plan against the cluster as it now is
    return targeted


class Applier:
    """Applies actions, writing each object's live before-image to one backup file first."""

    def __init__(self, kube: Kube, backup_dir: str | None = None, force_conflicts: bool = False):
        self.kube = kube
        self.force = force_conflicts
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        directory = backup_dir or default_backup_dir()
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.backup_path = os.path.join(directory, f"fix-{stamp}.yaml")
        self.written = 0

    def _save(self, before: dict[str, Any] | None, action: Action) -> None:
        # Before-images hold real Secret values so a restore is possible: owner-only file.
        fd = os.open(self.backup_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(f"# {action.describe()}\n")
            if before is None:
                where = f"{action.namespace}/" if action.namespace else ""
                undo = "nothing to undo" if action.delete else "delete it to undo"
                f.write(f"# {action.kind} {where}{action.name} did not exist: {undo}\n")
                f.write("---\n")
            else:
                import yaml

                f.write(yaml.safe_dump(clean(before), sort_keys=False))
                f.write("---\n")

    def apply(self, action: Action) -> dict[str, Any]:
        if action.perform is not None:
            self._save(None, action)
            action.perform(self.kube)
            self.written += 1
            return {}
        body = action.materialize(self.kube) if action.materialize else action.desired
        before = get_live(self.kube, body)
        if before is not None and action.before is None and not action.delete:
            # Planned as a create, but it exists: made since the plan, or held back from the checks as
            # malformed. Either way the plan did not see it: never write over what was not judged.
            where = f"{action.namespace}/" if action.namespace else ""
            raise ApplyError(f"{action.kind} {where}{action.name} exists although the plan did not see it "
                             "(created since, or not readable by argodoctor): left as it is; run fix again")
        self._save(before, action)
        if action.delete:
            if before is not None:
                # DeleteOptions.preconditions (kubernetes/apimachinery pkg/apis/meta/v1/types.go): the API
                # server answers 409 instead of deleting an object recreated since the plan judged it.
                uid = ((action.before or {}).get("metadata") or {}).get("uid")
                self.kube.request("DELETE", object_path(body, self.kube),
                                  body={"preconditions": {"uid": uid}} if uid else None)
                self.written += 1
            return {}
        if before is not None:
            body = _with_change(before, body, action)
        path = object_path(body, self.kube)
        try:
            result = self.kube.apply(path, body, force=self.force)
        except KubeError as e:
            if e.status == 409:
                raise ApplyError(_refusal(e)) from None
            raise
        if action.remove and before is not None:
            patch: dict[str, Any] = {}
            for fields in action.remove:
                node = patch
                for f in fields[:-1]:
                    node = node.setdefault(f, {})
                node[fields[-1]] = None
            result = self.kube.request("PATCH", path, query={"fieldManager": "argodoctor"}, body=patch,
                                       content_type="application/merge-patch+json")
        self.written += 1
        if action.wait:
            action.wait(self.kube)
        return result
