{{/* Bytes of a quantity in Mi, Gi or Ti (the schema allows only those). */}}
{{- define "saker.quantityBytes" -}}
{{- $n := regexReplaceAll "^([0-9]+)(Mi|Gi|Ti)$" . "${1}" | int64 -}}
{{- $unit := regexReplaceAll "^[0-9]+" . "" -}}
{{- mul $n (get (dict "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776) $unit) -}}
{{- end -}}

{{/* The users Secret of the UI: the chart's (ui.auth.users) or ui.auth.usersSecret; empty: none. */}}
{{- define "saker.uiUsersSecret" -}}
{{- if .Values.ui.auth.users -}}
{{- include "saker.component" (dict "root" . "c" "ui-users") -}}
{{- else -}}
{{- .Values.ui.auth.usersSecret -}}
{{- end -}}
{{- end -}}

{{/*
The `ui:` section of saker.yaml. Refuses a UI nobody can log in to (no default user, no default
password) and one that shows alerts to anyone without ui.auth.anonymous: true.
*/}}
{{- define "saker.uiConfig" -}}
{{- $v := .Values.ui -}}
{{- $a := $v.auth -}}
{{- $o := $a.oidc -}}
{{- if and (not (include "saker.uiUsersSecret" .)) (not $o.issuer) (not $a.anonymous) }}
{{- fail "ui: no way to log in: set ui.auth.users (hashes of `saker ui hash-password`), ui.auth.usersSecret, ui.auth.oidc.issuer with clientId, or ui.auth.anonymous: true (anyone reaching the UI sees the alerts)" }}
{{- end }}
{{- if ne (empty $o.issuer) (empty $o.clientId) }}
{{- fail "ui.auth.oidc: issuer and clientId go together" }}
{{- end }}
{{- if and $a.users $a.usersSecret }}
{{- fail "ui.auth: set users or usersSecret, not both" }}
{{- end }}
{{- $size := include "saker.quantityBytes" $v.store.size | int64 -}}
{{- if lt $size 268435456 }}
{{- fail (printf "ui.store.size: at least 256Mi (the store's WAL alone may take 64 MiB), got %s" $v.store.size) }}
{{- end }}
{{- $auth := dict "users_file" nil "anonymous" (ternary "viewer" nil (eq $a.anonymous true)) -}}
{{- if include "saker.uiUsersSecret" . -}}
{{- $_ := set $auth "users_file" "/etc/saker/ui-users/users" -}}
{{- end -}}
{{- if $o.issuer -}}
{{- $oidc := dict "issuer" $o.issuer "client_id" $o.clientId "scopes" $o.scopes "username_claim" $o.usernameClaim "role_claim" $o.roleClaim "admin_values" $o.adminValues "viewer_values" $o.viewerValues -}}
{{- with $o.redirectUri }}
{{- $_ := set $oidc "redirect_uri" . -}}
{{- end }}
{{- $_ := set $auth "oidc" $oidc -}}
{{- end -}}
{{- $store := dict "path" "/var/lib/saker-ui/alerts.db" "max_rows" (int64 $v.store.maxRows) "max_bytes" (div (mul $size 70) 100) "max_age_ms" (mul (int64 $v.store.maxAgeHours) 3600000) -}}
{{- $control := dict "address" (printf "%s:%d" (include "saker.component" (dict "root" . "c" "control")) (int .Values.control.port)) -}}
{{- if .Values.control.tls.enabled -}}
{{- $_ := set $control "ca" "/etc/saker/control-ca/ca.crt" -}}
{{- end -}}
{{- if $v.control.clientCertSecret -}}
{{- $_ := set $control "cert" "/etc/saker/control-client/tls.crt" -}}
{{- $_ := set $control "key" "/etc/saker/control-client/tls.key" -}}
{{- end -}}
{{- $ui := dict "listen" (printf "0.0.0.0:%d" (int $v.port)) "base_path" $v.basePath "store" $store "auth" $auth "control" $control -}}
{{- if $v.tls.secretName -}}
{{- $_ := set $ui "tls" (dict "cert" "/etc/saker/ui-tls/tls.crt" "key" "/etc/saker/ui-tls/tls.key") -}}
{{- end -}}
{{- toJson $ui -}}
{{- end -}}

{{/*
What the UI's pod adds to a central component's (deployments.yaml), as JSON {env, mounts, volumes,
ports, strategy}: its store, the users Secret, control's token and CA (the rules view) and the UI's
client certificate for control when control requires one, the OIDC
client secret and its own TLS, each Secret mounted with only the keys it needs.
*/}}
{{- define "saker.uiPod" -}}
{{- $root := . -}}
{{- $v := .Values.ui -}}
{{- /* SQLite's temporary files (large sorts) on the store's volume, not the small in-memory /tmp. */ -}}
{{- $env := list (dict "name" "SAKER__CONTROL__TOKEN_FILE" "value" "/etc/saker/control-token/token") (dict "name" "SQLITE_TMPDIR" "value" "/var/lib/saker-ui") -}}
{{- $mounts := list (dict "name" "ui-store" "mountPath" "/var/lib/saker-ui") (dict "name" "control-token" "mountPath" "/etc/saker/control-token" "readOnly" true) -}}
{{- $tokenSecret := default (include "saker.component" (dict "root" $root "c" "control-token")) .Values.control.tokenSecret -}}
{{- $volumes := list (dict "name" "control-token" "secret" (dict "secretName" $tokenSecret "defaultMode" 0440 "items" (list (dict "key" "token" "path" "token")))) -}}
{{- /*
One UI at a time: the old pod goes before the new one starts, so two never split the durable
consumer saker-ui's alerts between their stores, nor hold the ReadWriteOnce volume and SQLite file.
*/ -}}
{{- $strategy := dict "type" "Recreate" -}}
{{- if $v.store.persistence.enabled -}}
{{- $volumes = append $volumes (dict "name" "ui-store" "persistentVolumeClaim" (dict "claimName" (include "saker.component" (dict "root" $root "c" "ui")))) -}}
{{- else -}}
{{- $volumes = append $volumes (dict "name" "ui-store" "emptyDir" (dict "sizeLimit" $v.store.size)) -}}
{{- end -}}
{{- with include "saker.uiUsersSecret" $root -}}
{{- $mounts = append $mounts (dict "name" "ui-users" "mountPath" "/etc/saker/ui-users" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "ui-users" "secret" (dict "secretName" . "defaultMode" 0440 "items" (list (dict "key" "users" "path" "users")))) -}}
{{- end -}}
{{- if $root.Values.control.tls.enabled -}}
{{- /* Only control's CA: never its private key. */ -}}
{{- $tls := default (include "saker.component" (dict "root" $root "c" "control-tls")) $root.Values.control.tls.secretName -}}
{{- $mounts = append $mounts (dict "name" "control-ca" "mountPath" "/etc/saker/control-ca" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "control-ca" "secret" (dict "secretName" $tls "defaultMode" 0444 "items" (list (dict "key" "ca.crt" "path" "ca.crt")))) -}}
{{- end -}}
{{- with $v.control.clientCertSecret -}}
{{- /* The client certificate control requires (mTLS): its two keys only. */ -}}
{{- $mounts = append $mounts (dict "name" "control-client" "mountPath" "/etc/saker/control-client" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "control-client" "secret" (dict "secretName" . "defaultMode" 0440 "items" (list (dict "key" "tls.crt" "path" "tls.crt") (dict "key" "tls.key" "path" "tls.key")))) -}}
{{- end -}}
{{- with $v.auth.oidc.clientSecretSecret -}}
{{- $env = append $env (dict "name" "SAKER__UI__AUTH__OIDC__CLIENT_SECRET_FILE" "value" "/etc/saker/ui-oidc/client-secret") -}}
{{- $mounts = append $mounts (dict "name" "ui-oidc" "mountPath" "/etc/saker/ui-oidc" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "ui-oidc" "secret" (dict "secretName" . "defaultMode" 0440 "items" (list (dict "key" $v.auth.oidc.clientSecretKey "path" "client-secret")))) -}}
{{- end -}}
{{- with $v.tls.secretName -}}
{{- $mounts = append $mounts (dict "name" "ui-tls" "mountPath" "/etc/saker/ui-tls" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "ui-tls" "secret" (dict "secretName" . "defaultMode" 0440 "items" (list (dict "key" "tls.crt" "path" "tls.crt") (dict "key" "tls.key" "path" "tls.key")))) -}}
{{- end -}}
{{- $ports := list (dict "name" "http" "containerPort" (int $v.port)) -}}
{{- toJson (dict "env" $env "mounts" $mounts "volumes" $volumes "ports" $ports "strategy" $strategy) -}}
{{- end -}}
