"""How objects come in. The Kubernetes client (kube, kubeconfig, json_stream), the one view checks read
(cluster: live, snapshot files, or files given with `check -f` through manifest_input), and the boundary
every object passes before a check reads it: shapes validates structure, safe_yaml bounds user YAML,
names validates names before they reach a URL, secret_facts and snapshot_scope decide what of a Secret or
an object is kept. Nothing here knows Argo or judges anything."""
