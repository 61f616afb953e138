-- wrk script: writes one run's numbers as JSON to the file named by WRK_JSON_OUT.
--
-- wrk's text output rounds every number to a few digits and prints no min, no
-- p99.9 and no per-second completions; this script reports them exactly, in
-- wrk's own units (microseconds, bytes, counts). runner/measure/wrkparse.py reads it.
--
-- wrk runs one Lua state per thread plus a main one: setup() and done() run in
-- the main state, init() and response() in each thread's. Completions per
-- second are counted per thread, keyed by the wall-clock second (os.time()),
-- and merged in done() through thread:get(), which copies a thread's global.
-- Defining response() makes wrk parse every response's headers and body; that
-- costs a little client CPU and is accepted for the per-second counts.

local threads = {}
local out_path, out_file, out_error

-- The report file is opened here, before any connection exists: wrk never closes
-- its sockets before done(), so a run whose connections hit the descriptor limit
-- (wrk's "connect" errors) would leave no descriptor to open it with later.
function setup(thread)
   table.insert(threads, thread)
   if out_path == nil then
      out_path = os.getenv("WRK_JSON_OUT") or ""
      if out_path ~= "" then
         out_file, out_error = io.open(out_path .. ".tmp", "w")
      end
   end
end

function init(args)
   start_second = os.time()
   per_second = {}
end

function response(status, headers, body)
   local now = os.time()
   per_second[now] = (per_second[now] or 0) + 1
end

-- JSON by hand: wrk ships no JSON library. Numbers that JSON cannot hold
-- (nan, inf: an empty histogram's mean) become null.
local function number(x)
   if x == nil or x ~= x or x == math.huge or x == -math.huge then
      return "null"
   end
   if x == math.floor(x) and math.abs(x) < 2^53 then
      return string.format("%.0f", x)
   end
   return string.format("%.17g", x)
end

local function object(keys, values)
   local parts = {}
   for _, key in ipairs(keys) do
      table.insert(parts, string.format("%q: %s", key, values[key]))
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

local function latency_json(latency, empty)
   local values = {}
   local keys = {"min", "max", "mean", "stdev", "p50", "p75", "p90", "p99", "p99_9", "p99_99"}
   if empty then
      for _, key in ipairs(keys) do values[key] = "null" end
   else
      values.min = number(latency.min)
      values.max = number(latency.max)
      values.mean = number(latency.mean)
      values.stdev = number(latency.stdev)
      values.p50 = number(latency:percentile(50))
      values.p75 = number(latency:percentile(75))
      values.p90 = number(latency:percentile(90))
      values.p99 = number(latency:percentile(99))
      values.p99_9 = number(latency:percentile(99.9))
      values.p99_99 = number(latency:percentile(99.99))
   end
   return object(keys, values)
end

-- One array from the earliest thread start to the last second (done() runs
-- right after the threads stop), zeros included, so gaps stay visible.
local function merged_per_second()
   local counts, first, last = {}, nil, os.time()
   for _, thread in ipairs(threads) do
      local start = thread:get("start_second")
      if start and (first == nil or start < first) then first = start end
      local buckets = thread:get("per_second") or {}
      for second, n in pairs(buckets) do
         counts[second] = (counts[second] or 0) + n
         if first == nil or second < first then first = second end
         if second > last then last = second end
      end
   end
   first = first or last
   local out = {}
   for second = first, last do
      table.insert(out, number(counts[second] or 0))
   end
   return first, "[" .. table.concat(out, ", ") .. "]"
end

function done(summary, latency, requests)
   if out_path == nil or out_path == "" then
      io.stderr:write("wrk_report.lua: WRK_JSON_OUT is not set; no JSON written\n")
      return
   end
   if out_file == nil then
      io.stderr:write("wrk_report.lua: cannot write " .. tostring(out_error) .. "\n")
      return
   end
   -- an empty histogram has min = UINT64_MAX and max = 0; #latency counts the
   -- distinct recorded values. Completions over the timeout are counted as
   -- requests but not recorded, so requests > 0 can still mean "no latency".
   local empty = summary.requests == 0 or #latency == 0
   local e = summary.errors
   local first_second, per_second_json = merged_per_second()
   local top = object(
      {"format", "version", "duration_us", "requests", "bytes", "errors", "latency_us",
       "per_second_start", "per_second"},
      {
         format = '"concbench.wrk_report"',
         version = "1",
         duration_us = number(summary.duration),
         requests = number(summary.requests),
         bytes = number(summary.bytes),
         errors = object({"connect", "read", "write", "status", "timeout"},
                         {connect = number(e.connect), read = number(e.read),
                          write = number(e.write), status = number(e.status),
                          timeout = number(e.timeout)}),
         latency_us = latency_json(latency, empty),
         per_second_start = number(first_second),
         per_second = per_second_json,
      })
   -- written beside the target and renamed, so a reader never sees half a file
   out_file:write(top, "\n")
   out_file:close()
   local ok, rename_err = os.rename(out_path .. ".tmp", out_path)
   if not ok then
      io.stderr:write("wrk_report.lua: cannot rename to " .. out_path .. ": "
                      .. tostring(rename_err) .. "\n")
   end
end
