{{/* The leaf node of each node pod: clients on loopback only, one connection to the hub. */}}
{{- define "saker.leafConfig" -}}
server_name: leaf-$NODE_NAME
listen: 127.0.0.1:4222
http: 0.0.0.0:8222
max_payload: 8MB
leafnodes {
  remotes: [
    {
      {{- if include "saker.natsUsersEnabled" . }}
      # The hub's `leaf` user: the node pod's env has the URL with its password.
      urls: [$SAKER_NATS_LEAF_URL]
      {{- else }}
      urls: [{{ include "saker.leafRemote" . | quote }}]
      {{- end }}
      {{- if and (not .Values.nats.bundled) .Values.nats.auth.secretName (ne .Values.nats.auth.kind "password") }}
      credentials: "/etc/nats-auth/nats.creds"
      {{- end }}
    }
  ]
}
# No JetStream here: the JetStream API is the hub's (its domain), so the node's engine reads the
# rules and metadata KV and stores alerts centrally. The hub answers it across a leaf connection
# only under its domain's name.
mappings {
  "$JS.API.>": "$JS.{{ .Values.nats.jetstreamDomain }}.API.>"
}
{{- end -}}

{{/* The bundled NATS: JetStream, a cluster of nats.replicas, leaf node connections on 7422. */}}
{{- define "saker.natsConfig" -}}
{{- $name := include "saker.component" (dict "root" . "c" "nats") -}}
server_name: $POD_NAME
pid_file: /tmp/nats.pid
listen: 0.0.0.0:4222
http: 0.0.0.0:8222
max_payload: 8MB
lame_duck_duration: 30s
lame_duck_grace_period: 5s
jetstream {
  domain: {{ .Values.nats.jetstreamDomain }}
  store_dir: /data
  max_memory_store: {{ .Values.nats.jetstream.maxMemory | replace "i" "" | upper }}
  max_file_store: {{ .Values.nats.jetstream.size | replace "i" "" | upper }}
}
leafnodes {
  listen: 0.0.0.0:7422
}
{{- if gt (int .Values.nats.replicas) 1 }}
cluster {
  name: {{ $name }}
  listen: 0.0.0.0:6222
  {{- if include "saker.natsUsersEnabled" . }}
  # Routes authenticate too (the `route` key of the users Secret; the pod's env has each URL).
  authorization { user: route, password: $SAKER_NATS_ROUTE_PASSWORD }
  routes: [
    {{- range $i := until (int .Values.nats.replicas) }}
    $SAKER_NATS_ROUTE_{{ $i }}
    {{- end }}
  ]
  {{- else }}
  routes: [
    {{- range $i := until (int .Values.nats.replicas) }}
    nats://{{ $name }}-{{ $i }}.{{ $name }}-headless.{{ $.Release.Namespace }}.svc:6222
    {{- end }}
  ]
  {{- end }}
}
{{- end }}
{{- if include "saker.natsUsersEnabled" . }}
# One user per Saker service, each with the least it needs (docs/security.md); passwords from the
# users Secret through the pod's environment.
{{ include "saker.natsAuthorization" . }}
{{- end }}
{{- end -}}

{{/*
The bundled NATS's per-service users (docs/security.md): user name → Saker service. Their
permissions are files/nats-authorization.conf, printed by `saker nats authorization` from the
code's permission map (its first line names the command; e2e/test/chart.test.ts checks that the
rendered block is that command's output). Each password is a key of the users Secret.
*/}}
{{- define "saker.natsUsers" -}}
{{- toJson (dict "audit" "audit" "engine" "engine" "control" "control" "sinks" "sinks" "enrich" "enrich-cluster" "enrich-node" "enrich-node" "sensor" "sensor" "leaf" "leaf" "ui" "ui" "admin" "admin") -}}
{{- end -}}

{{- define "saker.natsUsersEnabled" -}}
{{- if and .Values.nats.bundled .Values.nats.users.enabled -}}true{{- end -}}
{{- end -}}

{{- define "saker.natsUsersSecret" -}}
{{- default (include "saker.component" (dict "root" . "c" "nats-users")) .Values.nats.users.secretName -}}
{{- end -}}

{{/* The nats-server variable holding a user's password (as `saker nats authorization` names it). */}}
{{- define "saker.natsPasswordVar" -}}
{{- printf "SAKER_NATS_%s_PASSWORD" (. | upper | replace "-" "_") -}}
{{- end -}}

{{/* The authorization block: the generated file, its leaf user's JetStream API under nats.jetstreamDomain. */}}
{{- define "saker.natsAuthorization" -}}
{{- .Files.Get "files/nats-authorization.conf" | replace "\"$JS.saker.API." (printf "\"$JS.%s.API." .Values.nats.jetstreamDomain) -}}
{{- end -}}

{{/*
How a Saker container authenticates to NATS, as JSON {env, mounts, volumes}:
  saker.natsClient (dict "root" $ "user" "engine")          a user of the bundled NATS: its name,
      its password from the users Secret (that one key, mounted as a file), its inbox prefix;
  saker.natsClient (dict "root" $ "user" "engine" "leaf" true)  through the node's leaf node
      (loopback, whose hub connection is the `leaf` user): the inbox prefix only;
  with an existing NATS and nats.auth.secretName: its creds file, or user and password.
*/}}
{{- define "saker.natsClient" -}}
{{- $root := .root -}}
{{- $env := list -}}
{{- $mounts := list -}}
{{- $volumes := list -}}
{{- if include "saker.natsUsersEnabled" $root -}}
{{- $service := index (include "saker.natsUsers" $root | fromJson) .user -}}
{{- if ne $service "admin" -}}
{{- $env = append $env (dict "name" "SAKER__NATS__INBOX_PREFIX" "value" (printf "_INBOX_%s" ($service | replace "-" "_"))) -}}
{{- end -}}
{{- if not .leaf -}}
{{- $vol := printf "nats-user-%s" .user -}}
{{- $env = concat $env (list (dict "name" "SAKER__NATS__AUTH__USER" "value" .user) (dict "name" "SAKER__NATS__AUTH__PASSWORD_FILE" "value" "/etc/saker/nats-user/password")) -}}
{{- $mounts = append $mounts (dict "name" $vol "mountPath" "/etc/saker/nats-user" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" $vol "secret" (dict "secretName" (include "saker.natsUsersSecret" $root) "defaultMode" 0444 "items" (list (dict "key" .user "path" "password")))) -}}
{{- end -}}
{{- else if and (not $root.Values.nats.bundled) $root.Values.nats.auth.secretName (not .leaf) -}}
{{- if eq $root.Values.nats.auth.kind "password" -}}
{{- $env = concat $env (list (dict "name" "SAKER__NATS__AUTH__USER" "valueFrom" (dict "secretKeyRef" (dict "name" $root.Values.nats.auth.secretName "key" "user"))) (dict "name" "SAKER__NATS__AUTH__PASSWORD_FILE" "value" "/etc/saker/nats-auth/password")) -}}
{{- else -}}
{{- $env = append $env (dict "name" "SAKER__NATS__AUTH__CREDS_FILE" "value" "/etc/saker/nats-auth/nats.creds") -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "env" $env "mounts" $mounts "volumes" $volumes) -}}
{{- end -}}
