{{- define "model-backend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "model-backend.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "model-backend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "model-backend.selectorLabels" -}}
app.kubernetes.io/name: {{ include "model-backend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "model-backend.labels" -}}
helm.sh/chart: {{ include "model-backend.chart" . }}
{{ include "model-backend.selectorLabels" . }}
app.kubernetes.io/version: {{ include "model-backend.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aistrale
app.kubernetes.io/component: inference
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "model-backend.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "model-backend.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "model-backend.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "model-backend.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "model-backend.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* A model's settings: `defaults` overlaid by the model's own keys. */}}
{{- define "model-backend.model" -}}
{{- $model := mergeOverwrite (deepCopy .root.Values.defaults) .model }}
{{- toYaml $model }}
{{- end }}
