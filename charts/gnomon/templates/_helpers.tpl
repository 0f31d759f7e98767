{{/* Chart name, overridable. */}}
{{- define "gnomon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; a release whose name already contains the chart name is not doubled. */}}
{{- define "gnomon.fullname" -}}
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

{{/* Name of one component's objects. Call with (dict "root" $ "component" "api"). */}}
{{- define "gnomon.componentName" -}}
{{- printf "%s-%s" (include "gnomon.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gnomon.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "gnomon.labels" -}}
helm.sh/chart: {{ include "gnomon.chart" . }}
app.kubernetes.io/name: {{ include "gnomon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gnomon
{{- end }}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "api"). */}}
{{- define "gnomon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gnomon.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component's objects. Call with (dict "root" $ "component" "api"). */}}
{{- define "gnomon.componentLabels" -}}
{{ include "gnomon.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Name of one component's ServiceAccount (serviceAccount.COMPONENT.name, else
FULLNAME-COMPONENT). Call with (dict "root" $ "component" "api"). */}}
{{- define "gnomon.serviceAccountName" -}}
{{- default (include "gnomon.componentName" .) (index .root.Values.serviceAccount .component).name }}
{{- end }}

{{- define "gnomon.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret every component reads its GNOMON_* settings from. */}}
{{- define "gnomon.secretName" -}}
{{- default (include "gnomon.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "gnomon.jobNamespace" -}}
{{- default .Release.Namespace .Values.jobs.namespace }}
{{- end }}

{{- define "gnomon.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl }}
{{- else }}
{{- printf "http://%s.%s.svc" (include "gnomon.componentName" (dict "root" . "component" "api")) .Release.Namespace }}
{{- if ne (int .Values.service.port) 80 }}
{{- printf ":%d" (int .Values.service.port) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The API token: the value, else the one already stored in the release's Secret (so upgrades keep
it), else a new random one. `lookup` finds nothing under `helm template`, which then shows a
random token.
*/}}
{{- define "gnomon.apiToken" -}}
{{- if .Values.apiToken }}
{{- .Values.apiToken }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "gnomon.fullname" .) }}
{{- if and $existing $existing.data (hasKey $existing.data "GNOMON_API_TOKEN") }}
{{- index $existing.data "GNOMON_API_TOKEN" | b64dec }}
{{- else }}
{{- randAlphaNum 40 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment shared by every component. */}}
{{- define "gnomon.env" -}}
- name: GNOMON_PUBLIC_URL
  value: {{ include "gnomon.publicUrl" . | quote }}
- name: GNOMON_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: GNOMON_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod settings shared by every pod. */}}
{{- define "gnomon.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Pod template annotations. The checksum of the chart's Secret inputs restarts pods when they change
(the values, not a generated token, so that rendering is stable across upgrades).
*/}}
{{- define "gnomon.podAnnotations" -}}
{{- if not .Values.existingSecret }}
checksum/secret: {{ dict "database" .Values.database.url "apiToken" .Values.apiToken | toJson | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* What the operator may do with ProcessDefinitions, and the Events kopf posts about them. */}}
{{- define "gnomon.definitionRules" -}}
- apiGroups: ["gnomon.dev"]
  resources: ["processdefinitions"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["gnomon.dev"]
  resources: ["processdefinitions/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* The subject of a binding: one component's ServiceAccount. Call with (dict "root" $ "component" "api"). */}}
{{- define "gnomon.subject" -}}
- kind: ServiceAccount
  name: {{ include "gnomon.serviceAccountName" . }}
  namespace: {{ .root.Release.Namespace }}
{{- end }}

{{/* Name of the kopf peering object(s) the operator replicas share. */}}
{{- define "gnomon.peeringName" -}}
{{- default (printf "%s-%s" .Release.Namespace (include "gnomon.fullname" .)) .Values.operator.peering.name | trunc 253 | trimSuffix "-" }}
{{- end }}

{{/* Annotations of the uninstall hook's objects; call with the hook weight ("-10" or "0"). */}}
{{- define "gnomon.uninstallHook" -}}
helm.sh/hook: pre-delete
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/* What `gnomon teardown` may do with ProcessDefinitions: find them and drop a finalizer. */}}
{{- define "gnomon.uninstallDefinitionRules" -}}
- apiGroups: ["gnomon.dev"]
  resources: ["processdefinitions"]
  verbs: ["get", "list", "patch"]
{{- end }}
