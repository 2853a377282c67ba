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
