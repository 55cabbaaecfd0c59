{{/*
Names and labels.
*/}}
{{- define "ponte.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ponte.fullname" -}}
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

{{- define "ponte.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ponte.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ponte.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ponte.labels" -}}
helm.sh/chart: {{ include "ponte.chart" . }}
{{ include "ponte.selectorLabels" . }}
app.kubernetes.io/version: {{ include "ponte.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ponte.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ponte.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ponte.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "ponte.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "ponte.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Where things are in the container. The image's ENTRYPOINT (Dockerfile) uses the same binary and config path.
*/}}
{{- define "ponte.binary" -}}/usr/local/bin/ponte{{- end }}
{{- define "ponte.configDir" -}}/etc/ponte/config{{- end }}
{{- define "ponte.configFile" -}}ponte.yaml{{- end }}
{{- define "ponte.credentialsDir" -}}/etc/ponte/credentials{{- end }}

{{/*
The JetStream names ponte uses, with ponte's defaults (events/topology.go): the input stream and the durable
consumer <consumerPrefix>-events.
*/}}
{{- define "ponte.inputStream" -}}
{{- dig "jetstream" "inputStream" "" .Values.config | default "PONTE_EVENTS" }}
{{- end }}

{{- define "ponte.consumer" -}}
{{- printf "%s-events" (dig "jetstream" "consumerPrefix" "" .Values.config | default "ponte") }}
{{- end }}

{{/*
The credentials ponte needs, as a YAML list of {value, key, configKey}: value names the entry of
credentials.values (or credentials.values.cidades.<ug>), key the Secret's key, configKey the *File key of
ponte's configuration that points at it. Zeev: a password with zeev.login, else a token. Senior: the
application key's secret with senior.accessKey, a password with senior.username, else a token. CidadES: a client
secret for each UG with a clientId.
*/}}
{{- define "ponte.credentials" -}}
{{- $keys := .Values.credentials.keys }}
{{- $zeev := .Values.config.zeev | default dict }}
{{- $senior := .Values.config.senior | default dict }}
{{- if $zeev.login }}
- {value: zeevPassword, key: {{ $keys.zeevPassword | quote }}, configKey: zeev.passwordFile}
{{- else }}
- {value: zeevToken, key: {{ $keys.zeevToken | quote }}, configKey: zeev.tokenFile}
{{- end }}
{{- if $senior.accessKey }}
- {value: seniorSecret, key: {{ $keys.seniorSecret | quote }}, configKey: senior.secretFile}
{{- else if $senior.username }}
- {value: seniorPassword, key: {{ $keys.seniorPassword | quote }}, configKey: senior.passwordFile}
{{- else }}
- {value: seniorToken, key: {{ $keys.seniorToken | quote }}, configKey: senior.tokenFile}
{{- end }}
{{- $ugs := (.Values.config.cidades | default dict).ugs | default dict }}
{{- range $ug := keys $ugs | sortAlpha }}
{{- if (get $ugs $ug).clientId }}
- {value: {{ printf "cidades.%s" $ug | quote }}, ug: {{ $ug | quote }}, key: {{ get ($keys.cidades | default dict) $ug | default (printf "cidades-%s" $ug) | quote }}, configKey: {{ printf "cidades.ugs.%s.clientSecretFile" $ug | quote }}}
{{- end }}
{{- end }}
{{- end }}

{{/*
Mode of the mounted Secret files: readable by the pod's group (fsGroup) only, or by all when no fsGroup is set
(the container has one user).
*/}}
{{- define "ponte.secretMode" -}}
{{- if .Values.securityContext.fsGroup }}0440{{ else }}0444{{ end }}
{{- end }}

{{- define "ponte.credentialsSecretName" -}}
{{- default (printf "%s-credentials" (include "ponte.fullname" .)) .Values.credentials.existingSecret }}
{{- end }}

{{/*
The NATS files: a YAML list of {volume, secret, dir, files: {configKey: file}}.
*/}}
{{- define "ponte.natsMounts" -}}
{{- $auth := .Values.nats.auth }}
{{- if $auth.credsSecret.name }}
- {volume: nats-creds, secret: {{ $auth.credsSecret.name | quote }}, dir: /etc/nats/creds, files: {credsFile: {{ $auth.credsSecret.key | quote }}}}
{{- end }}
{{- if $auth.nkeySecret.name }}
- {volume: nats-nkey, secret: {{ $auth.nkeySecret.name | quote }}, dir: /etc/nats/nkey, files: {nkeySeedFile: {{ $auth.nkeySecret.key | quote }}}}
{{- end }}
{{- if $auth.userPassSecret.name }}
- {volume: nats-user, secret: {{ $auth.userPassSecret.name | quote }}, dir: /etc/nats/user, files: {userFile: {{ $auth.userPassSecret.userKey | quote }}, passwordFile: {{ $auth.userPassSecret.passwordKey | quote }}}}
{{- end }}
{{- $tls := .Values.nats.tls }}
{{- if $tls.enabled }}
{{- if $tls.secretName }}
- {volume: nats-tls, secret: {{ $tls.secretName | quote }}, dir: /etc/nats/tls, files: {tls.certFile: tls.crt, tls.keyFile: tls.key{{ if eq $tls.caSecretName $tls.secretName }}, tls.caFile: ca.crt{{ end }}}}
{{- end }}
{{- if and $tls.caSecretName (ne $tls.caSecretName $tls.secretName) }}
- {volume: nats-ca, secret: {{ $tls.caSecretName | quote }}, dir: /etc/nats/ca, files: {tls.caFile: ca.crt}}
{{- end }}
{{- end }}
{{- end }}

{{/*
Whether tracing is on (config.tracing.enabled): only then are the collector's Secrets mounted, the NetworkPolicy
opened to it and the spans' flush counted in the grace period.
*/}}
{{- define "ponte.tracingOn" -}}
{{- if dig "tracing" "enabled" false (.Values.config | default dict) }}true{{ end }}
{{- end }}

{{- define "ponte.tracingHeadersSecretName" -}}
{{- default (printf "%s-tracing-headers" (include "ponte.fullname" .)) .Values.tracing.headers.existingSecret }}
{{- end }}

{{/*
Whether the chart makes the headers Secret: tracing on, no existing Secret, a value.
*/}}
{{- define "ponte.tracingHeadersSecretMade" -}}
{{- $h := .Values.tracing.headers }}
{{- if and (include "ponte.tracingOn" .) (not $h.existingSecret) $h.value }}true{{ end }}
{{- end }}

{{/*
The collector's files, with tracing on: a YAML list of {volume, secret, dir, files: {configKey: file}}, as
ponte.natsMounts, the keys under tracing.
*/}}
{{- define "ponte.tracingMounts" -}}
{{- if include "ponte.tracingOn" . }}
{{- $h := .Values.tracing.headers }}
{{- if or $h.existingSecret $h.value }}
- {volume: tracing-headers, secret: {{ include "ponte.tracingHeadersSecretName" . | quote }}, dir: /etc/ponte/tracing/headers, files: {headersFile: {{ $h.key | quote }}}}
{{- end }}
{{- $tls := .Values.tracing.tls }}
{{- if $tls.secretName }}
- {volume: tracing-tls, secret: {{ $tls.secretName | quote }}, dir: /etc/ponte/tracing/tls, files: {tls.certFile: tls.crt, tls.keyFile: tls.key{{ if eq $tls.caSecretName $tls.secretName }}, tls.caFile: ca.crt{{ end }}}}
{{- end }}
{{- if and $tls.caSecretName (ne $tls.caSecretName $tls.secretName) }}
- {volume: tracing-ca, secret: {{ $tls.caSecretName | quote }}, dir: /etc/ponte/tracing/ca, files: {tls.caFile: ca.crt}}
{{- end }}
{{- end }}
{{- end }}

{{/*
Every Secret mounted besides the credentials: NATS's and the collector's.
*/}}
{{- define "ponte.secretMounts" -}}
{{- include "ponte.natsMounts" . }}
{{- include "ponte.tracingMounts" . }}
{{- end }}

{{/*
Sets the file keys of mounts (a list of ponte.natsMounts' entries) in into, a section of the configuration:
"tls.caFile" in its tls map.
*/}}
{{- define "ponte.setMountedFiles" -}}
{{- $into := .into }}
{{- range $m := .mounts }}
{{- range $key, $file := $m.files }}
{{- if hasPrefix "tls." $key }}
{{- $tls := get $into "tls" | default dict }}
{{- $_ := set $tls (trimPrefix "tls." $key) (printf "%s/%s" $m.dir $file) }}
{{- $_ := set $into "tls" $tls }}
{{- else }}
{{- $_ := set $into $key (printf "%s/%s" $m.dir $file) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The ports of the NetworkPolicy's rule to the collector: networkPolicy.egress.tracing.ports, else the port of
config.tracing.endpoint (80 or 443 when it names none), as a JSON list.
*/}}
{{- define "ponte.tracingPorts" -}}
{{- $ports := .Values.networkPolicy.egress.tracing.ports }}
{{- if not $ports }}
{{- $endpoint := .Values.config.tracing.endpoint }}
{{- $host := regexReplaceAll "^https?://(.*@)?" (regexFind "^https?://[^/?#]*" $endpoint) "" }}
{{- $port := regexFind ":[0-9]+$" $host | trimPrefix ":" }}
{{- if not $port }}{{ $port = ternary "443" "80" (hasPrefix "https://" $endpoint) }}{{ end }}
{{- $ports = list (int $port) }}
{{- end }}
{{- toJson $ports }}
{{- end }}

{{/*
The flags of ponte dlq, publish and watch that reach NATS as the worker does, from inside its pod.
*/}}
{{- define "ponte.natsCLIFlags" -}}
{{- $flags := list (printf "--nats %s" .Values.config.nats.url) }}
{{- $cli := dict "credsFile" "--creds" "nkeySeedFile" "--nkey" "tls.caFile" "--tls-ca" "tls.certFile" "--tls-cert" "tls.keyFile" "--tls-key" }}
{{- range $m := include "ponte.natsMounts" . | fromYamlArray }}
{{- range $key, $file := $m.files }}
{{- with get $cli $key }}{{ $flags = append $flags (printf "%s %s/%s" . $m.dir $file) }}{{ end }}
{{- end }}
{{- end }}
{{- with dig "jetstream" "deadLetterStream" "" .Values.config }}{{ $flags = append $flags (printf "--dlq-stream %s" .) }}{{ end }}
{{- join " " $flags }}
{{- end }}

{{/*
ponte.yaml: .Values.config with the keys the chart owns: the credentials, NATS and collector files, the drain
timeouts and the spans' flush (from shutdown) and http.listen.
*/}}
{{- define "ponte.config" -}}
{{- $c := deepCopy (.Values.config | default dict) }}
{{- $nats := get $c "nats" | default dict }}
{{- $_ := set $nats "drainTimeout" (printf "%ds" (int .Values.shutdown.natsDrainTimeoutSeconds)) }}
{{- include "ponte.setMountedFiles" (dict "into" $nats "mounts" (include "ponte.natsMounts" . | fromYamlArray)) }}
{{- $_ := set $c "nats" $nats }}
{{- $tracing := get $c "tracing" | default dict }}
{{- $_ := set $tracing "shutdownTimeout" (printf "%ds" (int .Values.shutdown.tracingShutdownTimeoutSeconds)) }}
{{- include "ponte.setMountedFiles" (dict "into" $tracing "mounts" (include "ponte.tracingMounts" . | fromYamlArray)) }}
{{- $_ := set $c "tracing" $tracing }}
{{- $worker := get $c "worker" | default dict }}
{{- $_ := set $worker "drainTimeout" (printf "%ds" (int .Values.shutdown.workerDrainTimeoutSeconds)) }}
{{- $_ := set $c "worker" $worker }}
{{- $http := get $c "http" | default dict }}
{{- $_ := set $http "listen" (printf ":%d" (int .Values.opsPort)) }}
{{- $_ := set $c "http" $http }}
{{- $dir := include "ponte.credentialsDir" . }}
{{- range $cred := include "ponte.credentials" . | fromYamlArray }}
{{- $path := printf "%s/%s" $dir $cred.key }}
{{- if hasPrefix "cidades.ugs." $cred.configKey }}
{{- $ugs := $c.cidades.ugs }}
{{- $ug := get $ugs $cred.ug }}
{{- $_ := set $ug "clientSecretFile" $path }}
{{- else }}
{{- $section := get $c (splitList "." $cred.configKey | first) | default dict }}
{{- $_ := set $section (splitList "." $cred.configKey | last) $path }}
{{- $_ := set $c (splitList "." $cred.configKey | first) $section }}
{{- end }}
{{- end }}
{{- toYaml $c }}
{{- end }}

{{/*
GOMEMLIMIT: goMemLimitPercent of resources.limits.memory, in MiB; empty without a memory limit or with 0.
*/}}
{{- define "ponte.goMemLimit" -}}
{{- $limit := dig "limits" "memory" "" (.Values.resources | default dict) }}
{{- if or (kindIs "float64" $limit) (kindIs "int64" $limit) (kindIs "int" $limit) }}
{{- $limit = printf "%.0f" (float64 $limit) }}
{{- end }}
{{- $limit = toString $limit }}
{{- if and $limit .Values.goMemLimitPercent }}
{{- $m := regexFindAll "^([0-9]+(?:\\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$" $limit 1 }}
{{- if not $m }}
{{- fail (printf "resources.limits.memory: %q is not a quantity the chart can turn into GOMEMLIMIT (use a number with Ki, Mi, Gi, Ti, k, M, G or T)" $limit) }}
{{- end }}
{{- $num := regexReplaceAll "[A-Za-z]+$" $limit "" | float64 }}
{{- $unit := regexReplaceAll "^[0-9.]+" $limit "" }}
{{- $mult := get (dict "" 1.0 "k" 1000.0 "Ki" 1024.0 "M" 1000000.0 "Mi" 1048576.0 "G" 1000000000.0 "Gi" 1073741824.0 "T" 1000000000000.0 "Ti" 1099511627776.0) $unit }}
{{- $mib := divf (mulf $num $mult (float64 .Values.goMemLimitPercent)) (mulf 100.0 1048576.0) | floor | int64 }}
{{- if lt $mib 1 }}
{{- fail (printf "resources.limits.memory: %s is too small for a GOMEMLIMIT" $limit) }}
{{- end }}
{{- printf "%dMiB" $mib }}
{{- end }}
{{- end }}

{{/*
Whether the chart renders the ScaledObject: keda.enabled and the cluster serves keda.sh/v1alpha1 (helm template:
--api-versions keda.sh/v1alpha1). Without the API the Deployment keeps replicaCount, and NOTES.txt says why.
*/}}
{{- define "ponte.kedaOn" -}}
{{- if and .Values.keda.enabled (.Capabilities.APIVersions.Has "keda.sh/v1alpha1") }}true{{ end }}
{{- end }}

{{/*
Whether the cluster serves the Prometheus Operator's API (helm template: --api-versions monitoring.coreos.com/v1).
*/}}
{{- define "ponte.monitoringAPI" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- end }}

{{/*
The replica count the workload can go down to: what a PodDisruptionBudget must leave room under.
*/}}
{{- define "ponte.minReplicas" -}}
{{- if include "ponte.kedaOn" . }}{{ .Values.keda.minReplicaCount | int }}
{{- else if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas | int }}
{{- else }}{{ .Values.replicaCount | int }}
{{- end }}
{{- end }}

{{/*
Checks across values that the schema cannot express. Each failure names the keys.
*/}}
{{- define "ponte.validate" -}}
{{- if and .Values.autoscaling.enabled .Values.keda.enabled }}
{{- fail "autoscaling.enabled and keda.enabled are exclusive: KEDA makes its own HorizontalPodAutoscaler (keda-hpa-<name>), and two autoscalers on one Deployment fight; turn one off" }}
{{- end }}
{{- $s := .Values.shutdown }}
{{- $flush := 0 }}
{{- $flushText := "" }}
{{- if include "ponte.tracingOn" . }}
{{- $flush = int $s.tracingShutdownTimeoutSeconds }}
{{- $flushText = printf " + shutdown.tracingShutdownTimeoutSeconds (%d, with config.tracing.enabled)" $flush }}
{{- end }}
{{- $least := add (int $s.workerDrainTimeoutSeconds) (int $s.natsDrainTimeoutSeconds) $flush 10 }}
{{- if lt (int $s.terminationGracePeriodSeconds) (int $least) }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds: %d is too short: ponte may take shutdown.workerDrainTimeoutSeconds (%d) + shutdown.natsDrainTimeoutSeconds (%d)%s + 6 s to stop, and the kubelet kills it at the end of the grace period; set it to at least %d" (int $s.terminationGracePeriodSeconds) (int $s.workerDrainTimeoutSeconds) (int $s.natsDrainTimeoutSeconds) $flushText $least) }}
{{- end }}
{{- $h := .Values.tracing.headers }}
{{- if and $h.existingSecret $h.value }}
{{- fail "tracing.headers: set tracing.headers.existingSecret or tracing.headers.value, not both" }}
{{- end }}
{{- if $h.value }}
{{- /* As ponte reads the file (tracing.headersFile). The errors name the line, never its content. */}}
{{- $headers := 0 }}
{{- range $i, $line := splitList "\n" $h.value }}
{{- $line = trim $line }}
{{- if and $line (not (hasPrefix "#" $line)) }}
{{- if not (regexMatch "^[-!#$%&'*+.^_`|~0-9A-Za-z]+\\s*:\\s*\\S" $line) }}
{{- fail (printf "tracing.headers.value: line %d is not a header: want Name: value lines (the name an HTTP token), blank lines and lines starting with #" (add1 $i)) }}
{{- end }}
{{- $headers = add1 $headers }}
{{- end }}
{{- end }}
{{- if not $headers }}
{{- fail "tracing.headers.value: no header in it: want Name: value lines" }}
{{- end }}
{{- end }}
{{- $endpoint := dig "tracing" "endpoint" "" (.Values.config | default dict) }}
{{- /* As ponte checks it, also while tracing is off (the ConfigMap would hold the secret); the messages never
print the URL, which would show it. */}}
{{- if regexMatch "^https?://[^/?#]*@" $endpoint }}
{{- fail "config.tracing.endpoint: must not carry credentials (user:password@); put them in the headers of tracing.headers" }}
{{- end }}
{{- if regexMatch "[?#]" $endpoint }}
{{- fail "config.tracing.endpoint: must not have a query or fragment (credentials go in the headers of tracing.headers)" }}
{{- end }}
{{- if include "ponte.tracingOn" . }}
{{- if not $endpoint }}
{{- fail "config.tracing.endpoint: required with config.tracing.enabled (the collector's OTLP/HTTP URL, e.g. http://otel-collector.observability:4318/v1/traces)" }}
{{- end }}
{{- if and (hasPrefix "http://" $endpoint) (or .Values.tracing.tls.secretName .Values.tracing.tls.caSecretName) }}
{{- fail "tracing.tls: set, but config.tracing.endpoint is http:// (plain text), where ponte refuses TLS files: use https://, or leave tracing.tls empty" }}
{{- end }}
{{- end }}
{{- $auth := .Values.nats.auth }}
{{- $n := 0 }}
{{- range $k := list "credsSecret" "nkeySecret" "userPassSecret" }}{{ if (get $auth $k).name }}{{ $n = add1 $n }}{{ end }}{{ end }}
{{- if gt $n 1 }}
{{- fail "nats.auth: set at most one of credsSecret.name, nkeySecret.name and userPassSecret.name (ponte uses one NATS identity)" }}
{{- end }}
{{- if and .Values.nats.tls.enabled (not (or .Values.nats.tls.secretName .Values.nats.tls.caSecretName)) }}
{{- fail "nats.tls.enabled: set nats.tls.secretName (client certificate) or nats.tls.caSecretName (server CA), or turn it off (a tls:// URL with the system roots needs no Secret)" }}
{{- end }}
{{- $cv := .Values.credentials.values | default dict }}
{{- if and .Values.credentials.existingSecret $cv }}
{{- fail "credentials: set credentials.existingSecret or credentials.values, not both" }}
{{- end }}
{{- if not .Values.credentials.existingSecret }}
{{- range $cred := include "ponte.credentials" . | fromYamlArray }}
{{- $v := "" }}
{{- if $cred.ug }}{{ $v = get ($cv.cidades | default dict) $cred.ug }}{{ else }}{{ $v = get $cv $cred.value }}{{ end }}
{{- if not $v }}
{{- fail (printf "credentials.values.%s: required for %s (or name a Secret in credentials.existingSecret)" $cred.value $cred.configKey) }}
{{- end }}
{{- end }}
{{- end }}
{{- $min := include "ponte.minReplicas" . | int }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (not (kindIs "invalid" $pdb.minAvailable)) }}
{{- $avail := $pdb.minAvailable }}
{{- if kindIs "string" $avail }}{{ $avail = div (add (mul (trimSuffix "%" $avail | int) $min) 99) 100 }}{{ end }}
{{- if ge (int $avail) $min }}
{{- fail (printf "podDisruptionBudget.minAvailable: %v leaves no pod to evict at %d replicas, which blocks node drains; use maxUnavailable" $pdb.minAvailable $min) }}
{{- end }}
{{- end }}
{{- if and $pdb.enabled (kindIs "invalid" $pdb.minAvailable) (kindIs "invalid" $pdb.maxUnavailable) }}
{{- fail "podDisruptionBudget: set maxUnavailable or minAvailable" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas: above autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (or .Values.autoscaling.targetCPUUtilizationPercentage .Values.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "autoscaling: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- if .Values.keda.enabled }}
{{- if not .Values.keda.natsServerMonitoringEndpoint }}
{{- fail "keda.natsServerMonitoringEndpoint: required with keda.enabled (host:port of the NATS monitoring port, 8222)" }}
{{- end }}
{{- if gt (int .Values.keda.minReplicaCount) (int .Values.keda.maxReplicaCount) }}
{{- fail "keda.minReplicaCount: above keda.maxReplicaCount" }}
{{- end }}
{{- end }}
{{- end }}
