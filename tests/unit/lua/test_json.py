"""The ``json`` helper and the Lua → JSON rules byte for byte (lua-contract.md §3, §4.5)."""

from __future__ import annotations

import pytest

from rollouts.lua import LuaRunner, LuaScript, LuaSuccess
from rollouts.lua.gojson import dumps, format_number


def lua(source: str, obj: object = None) -> object:
    result = LuaRunner().run(LuaScript("t.lua", source), obj or {})
    assert isinstance(result, LuaSuccess), result
    return result.value


def encode(expr: str) -> object:
    return lua(f"local v, err = json.encode({expr}) return {{v = v, err = err}}")


def test_contract_example() -> None:
    assert encode("{b=1, a={1,2}, c={}}") == {"v": '{"a":[1,2],"b":1,"c":null}'}


@pytest.mark.parametrize(("value", "text"), [
    (50, "50"), (50.0, "50"), (0.5, "0.5"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"),
    (-3, "-3"), (123456789012, "123456789012"), (0.1, "0.1"), (1e20, "100000000000000000000"),
])
def test_numbers_like_go(value: float, text: str) -> None:
    assert format_number(value) == text


def test_strings_like_go() -> None:
    assert dumps("<a&b>\n\"\\\u2028\x01é") == '"\\u003ca\\u0026b\\u003e\\n\\"\\\\\\u2028\\u0001é"'


@pytest.mark.parametrize(("expr", "err"), [
    ("{1, 2, nil, 4}", "cannot encode sparse array"),
    ("{[2] = 1}", "cannot encode sparse array"),
    ("{1, a = 2}", "cannot encode mixed or invalid key types"),
    ("{a = 1, [1] = 2}", "cannot encode mixed or invalid key types"),
    ("{[true] = 1}", "cannot encode mixed or invalid key types"),
    ("{f = print}", "cannot encode function to JSON"),
    ("{n = 0/0}", "unsupported number nan (NaN and infinities have no JSON form)"),
])
def test_encode_errors_return_nil_and_message(expr: str, err: str) -> None:
    assert encode(expr) == {"err": err}


def test_cycle_is_an_error_not_a_hang() -> None:
    got = encode("(function() local t = {} t.self = t return t end)()")
    assert got == {"err": "cannot encode recursively nested tables to JSON (deeper than 100)"}


def test_shared_subtable_is_allowed() -> None:
    assert encode("(function() local x = {1} return {a = x, b = x} end)()") == {"v": '{"a":[1],"b":[1]}'}


def test_decode() -> None:
    got = lua("local v = json.decode('{\"a\":[1,2.5,\"x\"],\"b\":null,\"c\":{\"d\":true}}') "
              "return {a = v.a, b = v.b == nil, d = v.c.d, t = type(v.a[1])}")
    assert got == {"a": [1, 2.5, "x"], "b": True, "d": True, "t": "number"}


def test_decode_error_returns_nil_and_message() -> None:
    got = lua("local v, err = json.decode('{not json') return {v = v == nil, err = type(err)}")
    assert got == {"v": True, "err": "string"}


ALB_CONDITIONS = r'''
local annotations = obj.annotations or {}
annotations["alb.ingress.kubernetes.io/canary"] = "true"
if obj.weight ~= "-1" then annotations["alb.ingress.kubernetes.io/canary-weight"] = obj.weight end
if not obj.matches then return annotations end
local protocols = json.decode(annotations["alb.ingress.kubernetes.io/backend-svcs-protocols"])
local newProtocols = {}
for _, v in pairs(protocols) do newProtocols[obj.canaryService] = v end
annotations["alb.ingress.kubernetes.io/backend-svcs-protocols"] = json.encode(newProtocols)
local conditions = {}
for _, header in ipairs(obj.matches[1].headers) do
  local condition = {}
  if header.name == "Cookie" then
    condition.type = "Cookie"
    condition.cookieConfig = {values = {}}
    for pair in string.gmatch(header.value, "[^;]+") do
      local k, v = string.match(pair, "([^=]+)=(.*)")
      table.insert(condition.cookieConfig.values, {key = k, value = v})
    end
  elseif header.name == "SourceIp" then
    condition.type = "SourceIp"
    condition.sourceIpConfig = {values = {}}
    for ip in string.gmatch(header.value, "[^;]+") do table.insert(condition.sourceIpConfig.values, ip) end
  else
    condition.type = "Header"
    condition.headerConfig = {key = header.name, values = {}}
    for v in string.gmatch(header.value, "[^;]+") do table.insert(condition.headerConfig.values, v) end
  end
  table.insert(conditions, condition)
end
annotations["alb.ingress.kubernetes.io/conditions." .. obj.canaryService] = json.encode(conditions)
return annotations
'''


def test_alb_conditions_user_script() -> None:
    """The contract's best single check of the encoder (§4.5)."""
    obj = {"annotations": {"alb.ingress.kubernetes.io/backend-svcs-protocols": '{"echoserver":"http"}'},
           "weight": "-1", "canaryService": "echoserver-canary",
           "matches": [{"headers": [
               {"type": "Exact", "name": "Cookie", "value": "demo1=value1;demo2=value2"},
               {"type": "Exact", "name": "SourceIp", "value": "192.168.0.0/16;172.16.0.0/16"},
               {"type": "Exact", "name": "headername", "value": "headervalue1;headervalue2"}]}]}
    got = lua(ALB_CONDITIONS, obj)
    assert isinstance(got, dict)
    assert got["alb.ingress.kubernetes.io/backend-svcs-protocols"] == '{"echoserver-canary":"http"}'
    assert got["alb.ingress.kubernetes.io/conditions.echoserver-canary"] == (
        '[{"cookieConfig":{"values":[{"key":"demo1","value":"value1"},{"key":"demo2","value":"value2"}]},'
        '"type":"Cookie"},{"sourceIpConfig":{"values":["192.168.0.0/16","172.16.0.0/16"]},"type":"SourceIp"},'
        '{"headerConfig":{"key":"headername","values":["headervalue1","headervalue2"]},"type":"Header"}]')
