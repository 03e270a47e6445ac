{{/* The namespace every object lives in: fixed names, so one release per namespace. */}}
{{- define "taskmgr.namespace" -}}
{{- .Values.namespace.name -}}
{{- end -}}

{{/* Helm's own labels, on top of each manifest's labels. */}}
{{- define "taskmgr.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* An image reference from {repository, tag}. */}}
{{- define "taskmgr.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* The Secret with POSTGRES_PASSWORD, POSTGRES_APP_PASSWORD and SECRET_KEY. */}}
{{- define "taskmgr.secretName" -}}
{{- .Values.secrets.existingSecret | default "app-secrets" -}}
{{- end -}}

{{/*
A generated Secret's data that survives `helm upgrade`: each key keeps the value the live Secret holds (lookup),
and only a missing key gets a new random value. Arguments: (list $ "secret-name" (dict "KEY" length ...)).
*/}}
{{- define "taskmgr.keptSecretData" -}}
{{- $root := index . 0 -}}
{{- $live := lookup "v1" "Secret" (include "taskmgr.namespace" $root) (index . 1) -}}
{{- $data := dict -}}
{{- if $live }}{{ $data = $live.data | default dict }}{{ end -}}
{{- range $key, $length := index . 2 }}
{{ $key }}: {{ index $data $key | default (randAlphaNum $length | b64enc) | quote }}
{{- end -}}
{{- end -}}
