{{/* The leaf node of each node pod: clients on loopback only, one connection to the hub. */}}
{{- define "saker.leafConfig" -}}
server_name: leaf-$NODE_NAME
listen: 127.0.0.1:4222
http: 0.0.0.0:8222
max_payload: 8MB
leafnodes {
  remotes: [
    {
      urls: [{{ include "saker.leafRemote" . | quote }}]
      {{- if and (not .Values.nats.bundled) .Values.nats.auth.secretName }}
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
  routes: [
    {{- range $i := until (int .Values.nats.replicas) }}
    nats://{{ $name }}-{{ $i }}.{{ $name }}-headless.{{ $.Release.Namespace }}.svc:6222
    {{- end }}
  ]
}
{{- end }}
{{- end -}}
