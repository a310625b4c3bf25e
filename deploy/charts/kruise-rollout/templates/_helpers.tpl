{{/* Labels every object of the release carries. */}}
{{- define "kruise-rollout.labels" -}}
app.kubernetes.io/name: kruise-rollout
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The manager Pods' selector: the webhook Service in files/webhook-manifests.yaml selects it too. */}}
{{- define "kruise-rollout.selector" -}}
control-plane: controller-manager
{{- end -}}

{{/*
Objects of a generated manifest file (files/*.yaml, copies of config/ checked by tests/unit/chart),
one YAML document each, with the installation namespace put into metadata.namespace (namespaced
objects), RBAC subjects and webhook clientConfig.service, and the release labels added.
Call with (dict "root" $ "file" "files/x.yaml").
*/}}
{{- define "kruise-rollout.generated" -}}
{{- $root := .root -}}
{{- $ns := $root.Values.installation.namespace -}}
{{- $labels := include "kruise-rollout.labels" $root | fromYaml -}}
{{- range $doc := regexSplit "(?m)^---[ \\t]*$" ($root.Files.Get .file) -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj.kind }}
{{- if hasKey $obj.metadata "namespace" }}{{ $_ := set $obj.metadata "namespace" $ns }}{{ end }}
{{- $_ := set $obj.metadata "labels" (merge (default dict $obj.metadata.labels) $labels) }}
{{- range $obj.subjects }}{{ $_ := set . "namespace" $ns }}{{ end }}
{{- range $obj.webhooks }}{{ $_ := set .clientConfig.service "namespace" $ns }}{{ end }}
{{- if eq $obj.kind "Service" }}
{{- range $obj.spec.ports }}{{ $_ := set . "targetPort" (int $root.Values.webhook.port) }}{{ end }}
{{- end }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end -}}
