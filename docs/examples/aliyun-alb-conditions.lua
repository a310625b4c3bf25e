-- A user script for the Ingress classType aliyun-alb (lua-contract.md §4.5): put it in the ConfigMap
-- kruise-rollout-configuration (operator namespace), key lua.traffic.routing.ingress.aliyun-alb.
-- Routes by ALB "conditions" (cookies, source IPs, several header values) instead of canary-by-header.
local P = "alb.ingress.kubernetes.io/"
local annotations = obj.annotations or {}
annotations[P .. "canary"] = "true"
annotations[P .. "canary-by-cookie"] = nil
annotations[P .. "canary-by-header"] = nil
annotations[P .. "canary-by-header-pattern"] = nil
annotations[P .. "canary-by-header-value"] = nil
annotations[P .. "canary-weight"] = nil
local conditionKey = P .. "conditions." .. obj.canaryService
annotations[conditionKey] = nil
if obj.weight ~= "-1" then
    annotations[P .. "canary-weight"] = obj.weight
end
if not obj.matches then
    return annotations
end
local protocolsKey = P .. "backend-svcs-protocols"
if annotations[protocolsKey] then
    local protocols = json.decode(annotations[protocolsKey])
    local rekeyed = {}
    for _, protocol in pairs(protocols) do
        rekeyed[obj.canaryService] = protocol
    end
    annotations[protocolsKey] = json.encode(rekeyed)
end
local function split(text, sep)
    local out = {}
    for part in string.gmatch(text, "([^" .. sep .. "]+)") do
        table.insert(out, part)
    end
    return out
end
local conditions = {}
local match = obj.matches[1]
for _, header in ipairs(match.headers or {}) do
    local condition = {}
    if header.name == "Cookie" then
        condition.type = "Cookie"
        condition.cookieConfig = {values = {}}
        for _, pair in ipairs(split(header.value, ";")) do
            local kv = split(pair, "=")
            table.insert(condition.cookieConfig.values, {key = kv[1], value = kv[2]})
        end
    elseif header.name == "SourceIp" then
        condition.type = "SourceIp"
        condition.sourceIpConfig = {values = split(header.value, ";")}
    else
        condition.type = "Header"
        condition.headerConfig = {key = header.name, values = split(header.value, ";")}
    end
    table.insert(conditions, condition)
end
annotations[conditionKey] = json.encode(conditions)
return annotations
