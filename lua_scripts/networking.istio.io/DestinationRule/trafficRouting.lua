-- Istio DestinationRule (lua-contract.md §5.5): add the "canary" subset selecting pods labelled
-- istio.service.tag=gray (give the canary pods that label, e.g. with patchPodTemplateMetadata).
local spec = obj.data.spec
spec.subsets = spec.subsets or {}
table.insert(spec.subsets, {name = "canary", labels = {["istio.service.tag"] = "gray"}})
return obj.data
