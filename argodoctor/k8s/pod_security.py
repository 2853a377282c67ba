"""Pod Security Standards, as the Pod Security Admission plugin evaluates them: a pod spec against a level
(baseline or restricted) at a version, answered in PSA's own words.

Mirrors k8s.io/pod-security-admission/policy (v0.35) check by check, for the pod-spec fields a pod can
carry (hostProcess, host namespaces, privileged, capabilities, hostPath volumes, host ports, AppArmor,
SELinux, /proc mount, seccomp, sysctls; restricted adds volume types, privilege escalation,
runAsNonRoot, runAsUser, restricted seccomp and restricted capabilities). Each check's file is named
beside it. The reasons and details are the strings PSA puts in its `violates PodSecurity` message.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
LATEST = (1, 99)

# check_capabilities_baseline.go
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
# check_restrictedVolumes.go
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}
# check_sysctls.go (the safe set grows with the version)
SAFE_SYSCTLS = {(1, 0): {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                         "net.ipv4.ping_group_range"},
                (1, 27): {"net.ipv4.ip_unprivileged_port_start"},
                (1, 29): {"net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                          "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"},
                (1, 32): {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}}
# check_seLinuxOptions.go
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


@dataclasses.dataclass(frozen=True)
class Level:
    name: str  # baseline | restricted | privileged
    version: tuple[int, int]  # (1, 99) for latest

    def __str__(self) -> str:
        v = "latest" if self.version == LATEST else f"v{self.version[0]}.{self.version[1]}"
        return f"{self.name}:{v}"


_VERSION_RE = re.compile(r"^v(\d+)\.(\d+)$")


def namespace_level(namespace: dict[str, Any] | None) -> Level | None:
    """The level a namespace enforces (from its labels); None when it enforces nothing (or a label is invalid,
    which PSA then treats as the cluster default, unknown here)."""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    name = labels.get(ENFORCE_LABEL)
    if name not in LEVELS or name == "privileged":
        return None
    raw = labels.get(ENFORCE_VERSION_LABEL, "latest")
    if raw == "latest":
        return Level(name, LATEST)
    m = _VERSION_RE.match(str(raw))
    return Level(name, (int(m[1]), int(m[2])) if m else LATEST)


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
            *(spec.get("ephemeralContainers") or [])]


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("securityContext") or {}


def _q(text: Any) -> str:
    return f'"{text}"'


def _names(items: Iterable[dict[str, Any]]) -> str:
    return ", ".join(_q(c.get("name")) for c in items)


def _pl(items: list, one: str, many: str) -> str:
    return one if len(items) == 1 else many


Violation = tuple[str, str]  # (reason, detail) as PSA prints them: "reason (detail)"


def _host_namespaces(spec: dict[str, Any]) -> list[Violation]:  # check_hostNamespaces.go
    on = [f"{f}=true" for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f) is True]
    return [("host namespaces", ", ".join(on))] if on else []


def _privileged(spec: dict[str, Any]) -> list[Violation]:  # check_privileged.go
    bad = [c for c in _containers(spec) if _sc(c).get("privileged") is True]
    return [("privileged", f"{_pl(bad, 'container', 'containers')} {_names(bad)} must not set "
                           "securityContext.privileged=true")] if bad else []


def _capabilities_baseline(spec: dict[str, Any]) -> list[Violation]:  # check_capabilities_baseline.go
    bad, caps = [], []
    for c in _containers(spec):
        added = [str(a) for a in ((_sc(c).get("capabilities") or {}).get("add") or [])]
        extra = [a for a in added if a not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(c)
            caps = sorted({*caps, *extra})
    if not bad:
        return []
    return [("non-default capabilities", f"{_pl(bad, 'container', 'containers')} {_names(bad)} must not include "
                                         f"{', '.join(map(_q, caps))} in "
                                         "securityContext.capabilities.add")]


def _host_path(spec: dict[str, Any]) -> list[Violation]:  # check_hostPathVolumes.go
    bad = [v.get("name") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    return [("hostPath volumes", f"{_pl(bad, 'volume', 'volumes')} {', '.join(map(_q, bad))}")] if bad else []


def _host_ports(spec: dict[str, Any]) -> list[Violation]:  # check_hostPorts.go
    bad = [c for c in _containers(spec) if any((p or {}).get("hostPort") for p in c.get("ports") or [])]
    return [("hostPort", f"{_pl(bad, 'container', 'containers')} {_names(bad)} uses hostPort")] if bad else []


def _seccomp_baseline(spec: dict[str, Any]) -> list[Violation]:  # check_seccompProfile_baseline.go
    bad = [c for c in _containers(spec) if (_sc(c).get("seccompProfile") or {}).get("type") == "Unconfined"]
    pod = (_sc(spec).get("seccompProfile") or {}).get("type") == "Unconfined"
    if not bad and not pod:
        return []
    who = "pod" if pod and not bad else f"{_pl(bad, 'container', 'containers')} {_names(bad)}"
    return [("seccompProfile", f'{who} must not set securityContext.seccompProfile.type to "Unconfined"')]


def _selinux(spec: dict[str, Any]) -> list[Violation]:  # check_seLinuxOptions.go
    def bad_opts(sc: dict[str, Any]) -> bool:
        o = sc.get("seLinuxOptions") or {}
        return o.get("type", "") not in SELINUX_TYPES or bool(o.get("user")) or bool(o.get("role"))
    bad = [c for c in _containers(spec) if bad_opts(_sc(c))]
    return [("seLinuxOptions", "forbidden securityContext.seLinuxOptions")] if bad or bad_opts(_sc(spec)) else []


def _proc_mount(spec: dict[str, Any]) -> list[Violation]:  # check_procMount.go
    bad = [c for c in _containers(spec) if _sc(c).get("procMount") not in (None, "Default")]
    return [("procMount", f"{_pl(bad, 'container', 'containers')} {_names(bad)} must not set "
                          "securityContext.procMount")] if bad else []


def _sysctls(spec: dict[str, Any], version: tuple[int, int]) -> list[Violation]:  # check_sysctls.go
    safe = set().union(*(s for v, s in SAFE_SYSCTLS.items() if v <= version))
    bad = [s.get("name") for s in _sc(spec).get("sysctls") or [] if s.get("name") not in safe]
    return [("forbidden sysctls", ", ".join(map(str, bad)))] if bad else []


def _host_process(spec: dict[str, Any]) -> list[Violation]:  # check_windowsHostProcess.go
    on = ((_sc(spec).get("windowsOptions") or {}).get("hostProcess") is True
          or any((_sc(c).get("windowsOptions") or {}).get("hostProcess") is True for c in _containers(spec)))
    return [("hostProcess", "pod or containers must not set securityContext.windowsOptions.hostProcess=true")] \
        if on else []


def _volume_types(spec: dict[str, Any]) -> list[Violation]:  # check_restrictedVolumes.go
    bad = []
    for v in spec.get("volumes") or []:
        kinds = [k for k in v if k != "name"]
        if kinds and not any(k in RESTRICTED_VOLUMES for k in kinds):
            bad.append((v.get("name"), kinds[0]))
    if not bad:
        return []
    names = ", ".join(_q(n) for n, _ in bad)
    kinds = ", ".join(sorted({_q(k) for _, k in bad}))
    return [("restricted volume types", f"{_pl(bad, 'volume', 'volumes')} {names} uses restricted volume type "
                                        f"{kinds}")]


def _privilege_escalation(spec: dict[str, Any]) -> list[Violation]:  # check_allowPrivilegeEscalation.go
    bad = [c for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    return [("allowPrivilegeEscalation != false", f"{_pl(bad, 'container', 'containers')} {_names(bad)} must set "
                                                  "securityContext.allowPrivilegeEscalation=false")] if bad else []


def _run_as_non_root(spec: dict[str, Any]) -> list[Violation]:  # check_runAsNonRoot.go
    pod = _sc(spec).get("runAsNonRoot")
    explicit_false = [c for c in _containers(spec) if _sc(c).get("runAsNonRoot") is False]
    unset = [c for c in _containers(spec) if _sc(c).get("runAsNonRoot") is None]
    if pod is False or explicit_false or (pod is not True and unset):
        bad = explicit_false or unset
        return [("runAsNonRoot != true", f"pod or {_pl(bad, 'container', 'containers')} {_names(bad)} must set "
                                         "securityContext.runAsNonRoot=true")]
    return []


def _run_as_user(spec: dict[str, Any]) -> list[Violation]:  # check_runAsUser.go (v1.23+)
    root = [c for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    if _sc(spec).get("runAsUser") == 0 or root:
        return [("runAsUser=0", "pod or containers must not set runAsUser=0")]
    return []


def _seccomp_restricted(spec: dict[str, Any]) -> list[Violation]:  # check_seccompProfile_restricted.go
    ok = ("RuntimeDefault", "Localhost")
    pod = (_sc(spec).get("seccompProfile") or {}).get("type")
    bad = [c for c in _containers(spec) if (_sc(c).get("seccompProfile") or {}).get("type") not in ok
           and ((_sc(c).get("seccompProfile") or {}).get("type") is not None or pod not in ok)]
    if not bad:
        return []
    return [("seccompProfile", f"pod or {_pl(bad, 'container', 'containers')} {_names(bad)} must set "
                               'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')]


def _capabilities_restricted(spec: dict[str, Any]) -> list[Violation]:  # check_capabilities_restricted.go
    no_drop, bad_add, added = [], [], set()
    for c in _containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in [str(d) for d in caps.get("drop") or []]:
            no_drop.append(c)
        extra = {str(a) for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"}
        if extra:
            bad_add.append(c)
            added |= extra
    parts = []
    if no_drop:
        parts.append(f'{_pl(no_drop, "container", "containers")} {_names(no_drop)} must set '
                     'securityContext.capabilities.drop=["ALL"]')
    if bad_add:
        parts.append(f'{_pl(bad_add, "container", "containers")} {_names(bad_add)} must not include '
                     f'{", ".join(map(_q, sorted(added)))} in securityContext.capabilities.add')
    return [("unrestricted capabilities", "; ".join(parts))] if parts else []


Check = Callable[[dict[str, Any]], list[Violation]]
# (check ID, level, since version, check)
_CHECKS: list[tuple[str, str, tuple[int, int], Check]] = [
    ("allowPrivilegeEscalation", "restricted", (1, 8), _privilege_escalation),
    ("capabilities_baseline", "baseline", (1, 0), _capabilities_baseline),
    ("capabilities_restricted", "restricted", (1, 22), _capabilities_restricted),
    ("hostNamespaces", "baseline", (1, 0), _host_namespaces),
    ("hostPathVolumes", "baseline", (1, 0), _host_path),
    ("hostPorts", "baseline", (1, 0), _host_ports),
    ("hostProcess", "baseline", (1, 0), _host_process),
    ("privileged", "baseline", (1, 0), _privileged),
    ("procMount", "baseline", (1, 0), _proc_mount),
    ("restrictedVolumes", "restricted", (1, 0), _volume_types),
    ("runAsNonRoot", "restricted", (1, 0), _run_as_non_root),
    ("runAsUser", "restricted", (1, 23), _run_as_user),
    ("seLinuxOptions", "baseline", (1, 0), _selinux),
    ("seccompProfile_baseline", "baseline", (1, 19), _seccomp_baseline),
    ("seccompProfile_restricted", "restricted", (1, 19), _seccomp_restricted),
]


# A restricted check replaces its baseline counterpart where both apply (the checks' OverrideCheckIDs:
# restrictedVolumes overrides hostPathVolumes, the restricted capabilities and seccomp checks their baseline ones).
_OVERRIDES = {_volume_types: _host_path, _capabilities_restricted: _capabilities_baseline,
              _seccomp_restricted: _seccomp_baseline}


def violations(spec: dict[str, Any], level: Level) -> list[Violation]:
    """Every (reason, detail) PSA finds in a pod spec at the level; [] when it admits the pod."""
    applies = ("baseline",) if level.name == "baseline" else ("baseline", "restricted")
    # PSA reports the baseline checks first, then the restricted ones, each in check-ID order
    ordered = sorted(_CHECKS, key=lambda c: (c[1] == "restricted", c[0]))
    active = [check for _, lvl, since, check in ordered if lvl in applies and level.version >= since]
    overridden = {_OVERRIDES[c] for c in active if c in _OVERRIDES}
    found: list[Violation] = []
    for check in active:
        if check not in overridden:
            found += check(spec)
    found += _sysctls(spec, level.version)
    return found


def message(level: Level, found: list[Violation]) -> str:
    """As PSA words the rejection: violates PodSecurity "restricted:latest": reason (detail), ..."""
    return f'violates PodSecurity "{level}": ' + ", ".join(f"{r} ({d})" for r, d in found)
