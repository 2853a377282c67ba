"""What argodoctor re-implements of Kubernetes, to predict the API server without asking it for each
object: RBAC evaluation (rbac, and workflow_rbac over the view's RBAC objects), Pod Security admission
(pod_security) and CronJob schedule validation (cron_schedule). Each is proven against the real
kube-apiserver in tests/integration."""
