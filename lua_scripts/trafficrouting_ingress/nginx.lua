-- Canary Ingress annotations for ingress-nginx (lua-contract.md §4.4, traffic-routing.md §4.1).
-- obj: annotations (table or nil), weight (string, "-1" = no traffic), matches (array or nil),
-- canaryService, requestHeaderModifier. Returns the complete annotation map.
local P = "nginx.ingress.kubernetes.io/"
local out = {}
if obj.annotations then
    for k, v in pairs(obj.annotations) do out[k] = v end
end
out[P .. "canary"] = "true"
for _, key in ipairs({"canary-by-cookie", "canary-by-header", "canary-by-header-pattern",
                      "canary-by-header-value", "canary-weight"}) do
    out[P .. key] = nil
end
if obj.weight ~= "-1" then
    out[P .. "canary-weight"] = obj.weight
end
if obj.matches then
    for _, match in ipairs(obj.matches) do
        local header = match.headers and match.headers[1]
        if header then
            if header.name == "canary-by-cookie" then
                out[P .. "canary-by-cookie"] = header.value
            else
                out[P .. "canary-by-header"] = header.name
                if header.type == "RegularExpression" then
                    out[P .. "canary-by-header-pattern"] = header.value
                else
                    out[P .. "canary-by-header-value"] = header.value
                end
            end
        end
    end
end
return out
