"""The load generator of the HTTP benchmark: Debian's wrk (C, epoll, one thread), with a Lua script.

    run(spec) -> {"requests_per_second", "latency": {p50_ms, p99_ms, ...}, "statuses", ...}

`spec` is the one bench/loadgen.py takes (port, path, method, token, connections, seconds,
warmup, expect, bodies, keyed), so the asyncio generator stays as a fallback where wrk cannot be
installed (`ensure()` tries apt-get once, as the Makefile does for chromium). wrk runs with one
thread: it keeps 32 connections busy at tens of thousands of requests per second on well under
10% of a core, and its CPU seconds (from the rusage of the child) are reported beside each run.

The Lua script sends the spec's bodies round robin (JSON spread over warehouses x parts), an
Idempotency-Key of its own on every request when keyed, counts the answers by status and keeps a
sample of an unexpected one; `done` prints one JSON line with wrk's own latency percentiles.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

WRK = "/usr/bin/wrk"

# Only where the answers' statuses matter (the POSTs: 409, 422, 503): wrk then hands every response
# to Lua, which costs it CPU; a GET phase counts non-2xx answers from wrk's own summary.
RESPONSE = r"""
function response(status, hdrs, body)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
  if status ~= expect and sample == "" then sample = k .. ": " .. string.sub(body or "", 1, 300) end
end
"""

# A request built per call only where it varies (bodies, keys): otherwise wrk sends one prepared request
# and never enters Lua per request.
DYNAMIC = r"""
function request()
  n = n + 1
  local h = headers
  if keyed then
    h = {}
    for k, v in pairs(headers) do h[k] = v end
    h["Idempotency-Key"] = prefix .. n
  end
  local body = nil
  if #bodies > 0 then body = bodies[(n % #bodies) + 1] end
  return wrk.format("{METHOD}", "{PATH}", h, body)
end
"""
STATIC = r"""
wrk.method = "{METHOD}"
wrk.path = "{PATH}"
for k, v in pairs(headers) do wrk.headers[k] = v end
"""

SCRIPT = r"""
local bodies = {BODIES}
local keyed = {KEYED}
local prefix = "{PREFIX}"
local expect = {EXPECT}
local headers = {HEADERS}
local n = 0
counts = {}
sample = ""
threads = {}

function setup(thread)
  table.insert(threads, thread)
end

{REQUEST}{RESPONSE}
local function quote(s)
  local escaped = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
  local parts = {}
  local samples = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do table.insert(parts, quote(k) .. ":" .. v) end
    local s = t:get("sample")
    if s ~= "" then table.insert(samples, quote(s)) end
  end
  io.write(string.format(
    '\nRESULT {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%f,"status_errors":%d,"statuses":{%s},"samples":[%s]}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    summary.errors.status,
    table.concat(parts, ","), table.concat(samples, ",")))
end
"""


def available() -> bool:
    """Whether wrk is installed."""
    return shutil.which("wrk") is not None or Path(WRK).exists()


def ensure() -> bool:
    """wrk installed (with apt-get, once, if missing and possible); whether it is there now."""
    if available():
        return True
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        try:
            subprocess.run(argv, env=env, check=True, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError):
            return False
    return available()


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def script(spec: dict[str, Any]) -> str:
    """The Lua script for `spec`."""
    headers = {"Host": f"127.0.0.1:{spec['port']}"}
    if spec.get("token"):
        headers["Authorization"] = f"Bearer {spec['token']}"
    if spec.get("bodies"):
        headers["Content-Type"] = "application/json"
    lua_headers = "{" + ", ".join(f'["{k}"] = {_lua_string(v)}' for k, v in headers.items()) + "}"
    bodies = "{" + ",\n".join(_lua_string(b) for b in spec.get("bodies") or []) + "}"
    replace = {
        "{BODIES}": bodies,
        "{KEYED}": "true" if spec.get("keyed") else "false",
        "{PREFIX}": f"bench-{uuid.uuid4().hex}-",
        "{EXPECT}": str(int(spec.get("expect", 200))),
        "{HEADERS}": lua_headers,
        "{METHOD}": spec.get("method", "GET"),
        "{PATH}": spec["path"],
        "{RESPONSE}": RESPONSE if spec.get("method", "GET") != "GET" else "",
    }
    dynamic = bool(spec.get("bodies") or spec.get("keyed"))
    text = SCRIPT.replace("{REQUEST}", DYNAMIC if dynamic else STATIC)
    for k, v in replace.items():
        text = text.replace(k, v)
    return text


def _wrk(spec: dict[str, Any], seconds: float) -> tuple[dict[str, Any], float]:
    """One wrk run (a script of its own: fresh Idempotency-Keys); its RESULT and the CPU seconds it used."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script(spec))
        lua = Path(f.name)
    argv = [
        shutil.which("wrk") or WRK,
        "-t1",
        f"-c{int(spec['connections'])}",
        f"-d{max(1, round(seconds))}s",
    ]
    argv += ["--timeout", "30s", "-s", str(lua), f"http://127.0.0.1:{spec['port']}{spec['path']}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=False)
    finally:
        lua.unlink()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1000:]} {done.stderr[-1000:]}")
    return json.loads(line.removeprefix("RESULT ")), cpu


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm up for `warmup` seconds, then measure `seconds`; loadgen.py's result shape."""
    warm: dict[str, Any] = {"requests": 0}
    cpu = 0.0
    if spec.get("warmup", 0) > 0:
        warm, cpu = _wrk(spec, spec["warmup"])
    raw, measured_cpu = _wrk(spec, spec["seconds"])
    cpu += measured_cpu
    seconds = raw["duration_us"] / 1e6
    statuses: dict[str, int] = raw["statuses"]
    if not statuses:  # no response() in the script: wrk counted the non-2xx/3xx answers only
        statuses = {str(int(spec.get("expect", 200))): raw["requests"] - raw["status_errors"]}
        if raw["status_errors"]:
            statuses["non-2xx"] = raw["status_errors"]
    ok = statuses.get(str(int(spec.get("expect", 200))), 0)
    return {
        "connections": spec["connections"],
        "seconds": seconds,
        "requests": raw["requests"],
        "requests_total": raw["requests"] + warm["requests"],  # warm-up included
        "ok": ok,
        "requests_per_second": ok / seconds,
        "statuses": statuses,
        "socket_errors": raw["errors"],
        "latency": {
            "count": raw["requests"],
            "p50_ms": raw["p50_us"] / 1000,
            "p90_ms": raw["p90_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "max_ms": raw["max_us"] / 1000,
        },
        "unexpected_sample": raw["samples"][:3],
        "loadgen_cpu_seconds": cpu,  # warm-up included
    }
