"""How fixes are applied: the fix engine (fixer: plans rendered as diffs, before-images, server-side
apply), objects owned by Helm or Argo CD left to their tool (gitops), and arbitrary manifests applied in
order (manifests, for install-argo). What to change is the remediation plugins' business (remediations/)."""
