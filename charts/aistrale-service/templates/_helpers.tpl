{{/*
Helpers of aistrale-service, the one chart api-router, user-org and analytics are releases of.
A release's service is named by nameOverride (services/<service>.yaml): it is the
app.kubernetes.io/name label that Services, NetworkPolicies and ServiceMonitors select on.
*/}}

{{- define "aistrale.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aistrale.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "aistrale.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Stable selector labels: never change these, Deployments cannot change their selector. */}}
{{- define "aistrale.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aistrale.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aistrale.labels" -}}
helm.sh/chart: {{ include "aistrale.chart" . }}
{{ include "aistrale.selectorLabels" . }}
app.kubernetes.io/version: {{ include "aistrale.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aistrale
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "aistrale.serverSelectorLabels" -}}
{{ include "aistrale.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "aistrale.migrationSelectorLabels" -}}
{{ include "aistrale.selectorLabels" . }}
app.kubernetes.io/component: migration
{{- end }}

{{- define "aistrale.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "aistrale.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "aistrale.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "aistrale.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aistrale.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the pods read: an existing one (kubectl, SealedSecret, External Secrets) or ours. */}}
{{- define "aistrale.secretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "aistrale.fullname" .) }}
{{- end }}
{{- end }}

{{- define "aistrale.hasSecret" -}}
{{- if or .Values.secret.existingSecret .Values.secret.create .Values.secret.sealed.enabled }}true{{- end }}
{{- end }}

{{- define "aistrale.modelsConfigMapName" -}}
{{- default (printf "%s-models" (include "aistrale.fullname" .)) .Values.modelsCatalog.existingConfigMap }}
{{- end }}

{{/* StatefulSet when each replica needs its own durable volume (the router's usage outbox). */}}
{{- define "aistrale.workloadKind" -}}
{{- if .Values.persistence.enabled }}StatefulSet{{- else }}Deployment{{- end }}
{{- end }}

{{/* Hook annotations shared by everything the migration needs before the release's own objects. */}}
{{- define "aistrale.preSyncHook" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: {{ .helmDelete }}
argocd.argoproj.io/hook: PreSync
argocd.argoproj.io/sync-wave: {{ .weight | quote }}
argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
{{- end }}

{{/* Settings as literal env entries: the migration Job runs before the ConfigMap exists. */}}
{{- define "aistrale.configEnv" -}}
{{- range $key, $value := .Values.config }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{- define "aistrale.secretEnvFrom" -}}
{{- if include "aistrale.hasSecret" . }}
- secretRef:
    name: {{ include "aistrale.secretName" . }}
{{- end }}
{{- end }}

{{/*
AISTRALE_SHUTDOWN_GRACE_S: how long requests in flight may run after SIGTERM. What the pod's
terminationGracePeriodSeconds leaves after the preStop sleep and the reserve (the server's own
backstop, the usage flush, closing connections), so the kubelet never SIGKILLs a drain.
*/}}
{{- define "aistrale.shutdownGraceSeconds" -}}
{{- $grace := sub .Values.terminationGracePeriodSeconds (add .Values.preStopSleepSeconds .Values.shutdownReserveSeconds) }}
{{- if lt $grace 1 }}
{{- fail "terminationGracePeriodSeconds must exceed preStopSleepSeconds + shutdownReserveSeconds" }}
{{- end }}
{{- $grace }}
{{- end }}
