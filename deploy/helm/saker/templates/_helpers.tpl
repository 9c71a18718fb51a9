{{/* Names */}}
{{- define "saker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "saker.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's resource name: saker.component (dict "root" $ "c" "engine") */}}
{{- define "saker.component" -}}
{{- printf "%s-%s" (include "saker.fullname" .root | trunc 50 | trimSuffix "-") .c -}}
{{- end -}}

{{- define "saker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: saker
{{ include "saker.selectorLabels" . }}
{{- end -}}

{{- define "saker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "saker.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .c }}
{{- end -}}

{{- define "saker.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}
{{- include "saker.component" . -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{/* Images */}}
{{- define "saker.image" -}}
{{- $img := .Values.image -}}
{{- $repo := ternary (printf "%s/%s" $img.registry $img.repository) $img.repository (ne $img.registry "") -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion $img.tag) -}}
{{- end -}}

{{- define "saker.natsImage" -}}
{{- $img := .Values.nats.image -}}
{{- $repo := ternary (printf "%s/%s" $img.registry $img.repository) $img.repository (ne $img.registry "") -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion $img.tag) -}}
{{- end -}}

{{/* NATS URLs: the central client URL, and the one node pods use (their leaf node, or central). */}}
{{- define "saker.natsUrl" -}}
{{- if .Values.nats.bundled -}}
{{- printf "nats://%s:4222" (include "saker.component" (dict "root" . "c" "nats")) -}}
{{- else -}}
{{- required "nats.url is required when nats.bundled is false" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{- define "saker.leafRemote" -}}
{{- if .Values.nats.bundled -}}
{{- printf "nats-leaf://%s:7422" (include "saker.component" (dict "root" . "c" "nats")) -}}
{{- else -}}
{{- .Values.nats.leafUrl -}}
{{- end -}}
{{- end -}}

{{- define "saker.leafEnabled" -}}
{{- if and .Values.leafNode.enabled (or .Values.nats.bundled .Values.nats.leafUrl) -}}true{{- end -}}
{{- end -}}

{{- define "saker.nodeNatsUrl" -}}
{{- if include "saker.leafEnabled" . -}}
nats://127.0.0.1:4222
{{- else -}}
{{- include "saker.natsUrl" . -}}
{{- end -}}
{{- end -}}

{{/* The rules files every Saker container reads (the image's defaults, then customRules). */}}
{{- define "saker.rulesFiles" -}}
{{- $files := list -}}
{{- if .Values.defaultRules.enabled -}}
{{- $files = append $files .Values.image.rulesDir -}}
{{- end -}}
{{- $files = append $files "/etc/saker/rules.d" -}}
{{- toJson $files -}}
{{- end -}}

{{/*
saker.yaml: Falco's keys from .Values.falco, the chart's rules_files, the sidekick outputs,
telemetry on all addresses (the pods' port), then .Values.config merged over all of it.
Per-pod values (NATS URL, node name) come from SAKER__ variables.
*/}}
{{- define "saker.config" -}}
{{- $falco := omit .Values.falco "rules_files" "rules_file" -}}
{{- $cfg := deepCopy $falco -}}
{{- $_ := set $cfg "rules_files" (include "saker.rulesFiles" . | fromJsonArray) -}}
{{- $_ := set $cfg "watch_config_files" true -}}
{{- $_ := set $cfg "nats" (dict "url" (include "saker.natsUrl" .)) -}}
{{- $_ := set $cfg "telemetry" (dict "listen" (printf "0.0.0.0:%d" (int .Values.telemetryPort))) -}}
{{- $_ := set $cfg "control" (dict "listen" (printf "0.0.0.0:%d" (int .Values.control.port))) -}}
{{- $enrich := dict "node" (dict "cri_sockets" .Values.nodeEnrich.criSockets) "cluster" (dict "shards" (int .Values.clusterEnrich.shards)) -}}
{{- $_ := set $cfg "enrich" $enrich -}}
{{- /* R3 streams and KV buckets on the bundled 3-server NATS (R1 on one server; nats.streamReplicas overrides). */ -}}
{{- $r := int .Values.nats.streamReplicas -}}
{{- if eq $r 0 -}}
{{- $r = ternary (min 3 (int .Values.nats.replicas)) 1 .Values.nats.bundled -}}
{{- end -}}
{{- $stream := dict "replicas" $r -}}
{{- $_ := set $cfg "streams" (dict "alerts" $stream "audit" (deepCopy $stream) "deadletter" (deepCopy $stream)) -}}
{{- $_ := set $cfg "kv" (dict "replicas" $r) -}}
{{- if .Values.sidekick.config -}}
{{- $_ := set $cfg "sinks" (dict "sidekick" .Values.sidekick.config) -}}
{{- end -}}
{{- if .Values.ui.enabled -}}
{{- $_ := set $cfg "ui" (include "saker.uiConfig" . | fromJson) -}}
{{- end -}}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy .Values.config) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Environment every Saker container gets. */}}
{{- define "saker.commonEnv" -}}
- name: FALCO_HOSTNAME
  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
- name: SAKER__SENSOR__NODE_NAME
  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
{{- end -}}

{{/* Volumes every Saker pod mounts: saker.yaml and the rules. */}}
{{- define "saker.configVolumes" -}}
- name: config
  configMap:
    name: {{ include "saker.component" (dict "root" . "c" "config") }}
- name: rules
  configMap:
    name: {{ include "saker.component" (dict "root" . "c" "rules") }}
{{- if and (not .Values.nats.bundled) .Values.nats.auth.secretName }}
- name: nats-auth
  secret:
    secretName: {{ .Values.nats.auth.secretName }}
    defaultMode: 0400
{{- end }}
- name: tmp
  emptyDir: {medium: Memory, sizeLimit: 64Mi}
{{- end -}}

{{- define "saker.configMounts" -}}
- name: config
  mountPath: /etc/saker/saker.yaml
  subPath: saker.yaml
  readOnly: true
- name: rules
  mountPath: /etc/saker/rules.d
  readOnly: true
{{- if and (not .Values.nats.bundled) .Values.nats.auth.secretName }}
- name: nats-auth
  mountPath: /etc/saker/nats-auth
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Container security context of the non-root services, merged with a component's own. */}}
{{- define "saker.restrictedContext" -}}
{{- $base := dict "runAsNonRoot" true "runAsUser" 65532 "runAsGroup" 65532 "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- toYaml (mustMergeOverwrite $base (deepCopy (default dict .))) -}}
{{- end -}}

{{/* The `saker <service>` container: saker.container (dict "root" $ "name" "engine" "service" "engine" "v" .Values.engine "args" (list) "env" (list)) */}}
{{- define "saker.container" -}}
{{- $root := .root -}}
- name: {{ .name }}
  image: {{ include "saker.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args:
    - {{ .service }}
    - --config
    - /etc/saker/saker.yaml
    {{- range .args }}
    - {{ . | quote }}
    {{- end }}
    {{- range .v.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  env:
    {{- include "saker.commonEnv" $root | nindent 4 }}
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with .v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: {{ .portName | default "telemetry" }}
      containerPort: {{ .telemetryPort | default $root.Values.telemetryPort }}
    {{- with .ports }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  readinessProbe:
    httpGet: {path: /healthz, port: {{ .portName | default "telemetry" }}}
    periodSeconds: 5
    failureThreshold: 3
  # A service whose bus went away for good reports unhealthy: restart it within about a minute.
  livenessProbe:
    httpGet: {path: /healthz, port: {{ .portName | default "telemetry" }}}
    initialDelaySeconds: 20
    periodSeconds: 10
    failureThreshold: 4
  resources:
    {{- toYaml .v.resources | nindent 4 }}
  securityContext:
    {{- if .securityContext }}
    {{- toYaml .securityContext | nindent 4 }}
    {{- else }}
    {{- include "saker.restrictedContext" .v.containerSecurityContext | nindent 4 }}
    {{- end }}
  volumeMounts:
    {{- include "saker.configMounts" $root | nindent 4 }}
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* Pod-level scheduling and security of a central component: saker.podCommon (dict "root" $ "c" "engine" "v" .Values.engine) */}}
{{- define "saker.podCommon" -}}
serviceAccountName: {{ include "saker.serviceAccountName" . }}
automountServiceAccountToken: {{ .api | default false }}
# No <SERVICE>_PORT variables: Saker refuses SAKER_AUDIT_* and the like by name, and needs none.
enableServiceLinks: false
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml (mustMergeOverwrite (dict "runAsNonRoot" true "fsGroup" 65532 "seccompProfile" (dict "type" "RuntimeDefault")) (deepCopy (default dict .v.podSecurityContext))) | nindent 2 }}
terminationGracePeriodSeconds: {{ .grace | default 30 }}
{{- end -}}

{{/* Pod template annotations: the config checksum restarts pods when saker.yaml changes (not the rules: those hot-reload). */}}
{{- define "saker.podAnnotations" -}}
checksum/config: {{ include "saker.config" .root | sha256sum }}
{{- with .v.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
