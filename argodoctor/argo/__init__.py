"""Argo Workflows knowledge, written once for checks and remediations alike: one module per concept,
each rule citing the argo-workflows source (file and tag) it is read from.

- version: versions from image tags
- controller: the workflow-controller Deployment and its flags
- config: the controller ConfigMap in its two forms
- workflows: workflow objects, their specs joined as the controller joins them, workflow namespaces
- identities: the service accounts workflow pods and their executors really run as
- repositories: which artifact repository a namespace or a ref resolves (Resolve)
- repository_rules: per-type repository rules (AD202), S3 endpoints and buckets
- executors: the executor in effect, its rights, its image
- executor_pods: the pod parts the executor contributes (for Pod Security Admission)
- install: the CRDs and manifests of a release

Everything is re-exported here, so callers write `argo.Version`, `argo.resolve_default_repository`.
"""
from .config import *  # noqa: F403
from .controller import *  # noqa: F403
from .executor_pods import *  # noqa: F403
from .executors import *  # noqa: F403
from .identities import *  # noqa: F403
from .install import *  # noqa: F403
from .kubernetes_support import *  # noqa: F403
from .repositories import *  # noqa: F403
from .repository_rules import *  # noqa: F403
from .version import *  # noqa: F403
from .workflows import *  # noqa: F403
