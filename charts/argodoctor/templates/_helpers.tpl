{{/* The labels of every object: the same as `argodoctor cronjob manifest` (no Helm-specific ones). */}}
{{- define "argodoctor.labels" -}}
app.kubernetes.io/name: argodoctor
app.kubernetes.io/managed-by: argodoctor
{{- end -}}

{{- define "argodoctor.subject" -}}
- kind: ServiceAccount
  name: {{ .Values.name }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{/* A role (kind, name, namespace when a Role, rules) and its binding to the ServiceAccount (sa, saNamespace). */}}
{{- define "argodoctor.rbacPair" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  labels:
    {{- include "argodoctor.labels" . | nindent 4 }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
rules:
{{ toYaml .rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}Binding
metadata:
  name: {{ .name }}
  labels:
    {{- include "argodoctor.labels" . | nindent 4 }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ .kind }}
  name: {{ .name }}
subjects:
- kind: ServiceAccount
  name: {{ .sa }}
  namespace: {{ .saNamespace }}
---
{{- end -}}
