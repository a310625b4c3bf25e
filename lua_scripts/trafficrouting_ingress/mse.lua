-- Canary Ingress annotations for MSE Ingress (traffic-routing.md §4.1): nginx's rules plus query
-- routing, the service subset and request header control. Kept from upstream on purpose: the
-- query keys are written under nginx.ingress.kubernetes.io/ while the mse.* ones are cleared, and
-- the header-control pairs are concatenated without a separator (lua-contract.md §4.4).
-- Unlike upstream, missing annotations are tolerated.
local N = "nginx.ingress.kubernetes.io/"
local M = "mse.ingress.kubernetes.io/"
local out = {}
for k, v in pairs(obj.annotations or {}) do out[k] = v end
out[N .. "canary"] = "true"
for _, key in ipairs({"canary-by-cookie", "canary-by-header", "canary-by-header-pattern",
                      "canary-by-header-value", "canary-weight"}) do
    out[N .. key] = nil
end
for _, key in ipairs({"canary-by-query", "canary-by-query-pattern", "canary-by-query-value"}) do
    out[M .. key] = nil
end
if obj.weight ~= "-1" then
    out[N .. "canary-weight"] = obj.weight
end
if out[M .. "service-subset"] then
    out[M .. "service-subset"] = "gray"
end
if obj.requestHeaderModifier then
    local control = ""
    for _, set in ipairs(obj.requestHeaderModifier.set or {}) do
        control = control .. set.name .. " " .. set.value
    end
    out[M .. "request-header-control-update"] = control
end
for _, match in ipairs(obj.matches or {}) do
    local header = match.headers and match.headers[1]
    if header then
        if header.name == "canary-by-cookie" then
            out[N .. "canary-by-cookie"] = header.value
        else
            out[N .. "canary-by-header"] = header.name
            if header.type == "RegularExpression" then
                out[N .. "canary-by-header-pattern"] = header.value
            else
                out[N .. "canary-by-header-value"] = header.value
            end
        end
    end
    local query = match.queryParams and match.queryParams[1]
    if query then
        out[N .. "canary-by-query"] = query.name
        if query.type == "RegularExpression" then
            out[N .. "canary-by-query-pattern"] = query.value
        else
            out[N .. "canary-by-query-value"] = query.value
        end
    end
end
return out
