-- Istio VirtualService (lua-contract.md §5.4). obj.data is the object as it was before the release
-- (spec, labels, annotations); each step is computed from it, so steps never accumulate.
-- With matches: one route per match, inserted at the front of spec.http (the last match ends up
-- first), sending the matched requests to the canary; weights are untouched.
-- Without matches: every http/tcp/tls rule without "match" that routes to the stable Service is
-- split stableWeight / canaryWeight. Unlike upstream, a rule with several stable routes gets one
-- canary route, not one per stable route.
local spec = obj.data.spec
local canaryWeight, stableWeight = obj.canaryWeight, obj.stableWeight
if canaryWeight == -1 then
    canaryWeight, stableWeight = 100, 0
end

local function canaryDestination()
    if obj.canaryService == obj.stableService then
        return {host = obj.stableService, subset = "canary"}
    end
    return {host = obj.canaryService}
end

local MATCH_TYPES = {Exact = "exact", RegularExpression = "regex", Prefix = "prefix", PathPrefix = "prefix"}

local function byName(rules)
    local out = {}
    for _, rule in ipairs(rules) do
        out[rule.name] = {[MATCH_TYPES[rule.type or "Exact"]] = rule.value}
    end
    return out
end

local function istioMatch(match)
    local m = {}
    if match.path then
        m.uri = {[MATCH_TYPES[match.path.type or "PathPrefix"]] = match.path.value}
    end
    if match.headers then m.headers = byName(match.headers) end
    if match.queryParams then m.queryParams = byName(match.queryParams) end
    return m
end

local function headerOperations(modifier)
    local request = {}
    if modifier.set then
        request.set = {}
        for _, h in ipairs(modifier.set) do request.set[h.name] = h.value end
    end
    if modifier.add then
        request.add = {}
        for _, h in ipairs(modifier.add) do request.add[h.name] = h.value end
    end
    if modifier.remove then request.remove = modifier.remove end
    return {request = request}
end

local function routesToStable(rule)
    if rule.match or not rule.route then return false end
    for _, route in ipairs(rule.route) do
        local host = route.destination and route.destination.host
        if host and (string.match(host, "^([^.]*)") == obj.stableService) then return true end
    end
    return false
end

local function splitRule(rule)
    local n = #rule.route
    for _, route in ipairs(rule.route) do
        if route.weight then
            route.weight = math.floor(route.weight * stableWeight / 100)
        else
            route.weight = math.floor(stableWeight / n)
        end
    end
    table.insert(rule.route, {destination = canaryDestination(), weight = canaryWeight})
end

if obj.matches then
    spec.http = spec.http or {}
    for _, match in ipairs(obj.matches) do
        local route = {match = {istioMatch(match)}, route = {{destination = canaryDestination()}}}
        if obj.requestHeaderModifier then
            route.headers = headerOperations(obj.requestHeaderModifier)
        end
        table.insert(spec.http, 1, route)
    end
    return obj.data
end

for _, protocol in ipairs({"http", "tcp", "tls"}) do
    for _, rule in ipairs(spec[protocol] or {}) do
        if routesToStable(rule) then splitRule(rule) end
    end
end
return obj.data
