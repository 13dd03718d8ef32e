{{/* The server pod, shared by the Deployment and the StatefulSet form of the workload. */}}
{{- define "aistrale.serverPodTemplate" -}}
metadata:
  labels:
    {{- include "aistrale.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- if .Values.modelsCatalog.enabled }}
    checksum/models: {{ include (print $.Template.BasePath "/models-configmap.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "aistrale.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: {{ include "aistrale.name" . }}
      image: {{ include "aistrale.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command: [{{ .Values.command | quote }}]
      args: ["serve", "--host", "0.0.0.0", "--port", {{ .Values.containerPort | quote }}]
      ports:
        - name: http
          containerPort: {{ .Values.containerPort }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "aistrale.fullname" . }}-config
        {{- include "aistrale.secretEnvFrom" . | nindent 8 }}
      env:
        - name: AISTRALE_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: AISTRALE_SHUTDOWN_GRACE_S
          value: {{ include "aistrale.shutdownGraceSeconds" . | quote }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      livenessProbe:
        httpGet:
          path: /health
          port: http
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /ready
          port: http
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      startupProbe:
        httpGet:
          path: /health
          port: http
        {{- toYaml .Values.startupProbe | nindent 8 }}
      lifecycle:
        preStop:
          sleep:
            seconds: {{ .Values.preStopSleepSeconds }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
        {{- if .Values.modelsCatalog.enabled }}
        - name: models
          mountPath: /etc/aistrale
          readOnly: true
        {{- end }}
  volumes:
    {{- if not .Values.persistence.enabled }}
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.persistence.size }}
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
    {{- if .Values.modelsCatalog.enabled }}
    - name: models
      configMap:
        name: {{ include "aistrale.modelsConfigMapName" . }}
        items:
          - key: models.yaml
            path: models.yaml
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "aistrale.serverSelectorLabels" . | nindent 10 }}
{{- end }}
