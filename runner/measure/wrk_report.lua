-- wrk script: writes one run's numbers as JSON to the file named by WRK_JSON_OUT.
--
-- wrk's text output rounds every number to a few digits and prints no min, no
-- p99.9 and no per-second completions; this script reports them exactly, in
-- wrk's own units (microseconds, bytes, counts). runner/measure/wrkparse.py reads it.
--
-- wrk runs one Lua state per thread plus a main one: setup() and done() run in
-- the main state, init() and response() in each thread's. Completions per
-- second are counted per thread, keyed by the wall-clock second, and merged in
-- done() through thread:get(), which copies a thread's global.
-- Defining response() makes wrk parse every response's headers and body; that
-- costs a little client CPU and is accepted for the per-second counts.
--
-- What the runner checks of a load (runner/measure/loadcheck.py) is counted here too:
-- each thread's answers and when its last one came (a server that stops answering
-- leaves every thread silent at the end), answers not 2xx, answers faster than
-- WRK_FLOOR_US (microseconds: a wait the endpoint must do), every WRK_PROOF_EVERY-th
-- body matched against the Lua pattern WRK_PROOF, and, with WRK_COUNT_SENT=1, the
-- requests sent (a request() hook: wrk then builds each request in Lua).
local threads = {}
local out_path, out_file, out_error

-- The report file is opened here, before any connection exists: wrk never closes
-- its sockets before done(), so a run whose connections hit the descriptor limit
-- (wrk's "connect" errors) would leave no descriptor to open it with later.
function setup(thread)
   table.insert(threads, thread)
   if #threads == 1 then thread:set("sent", -1) end
   if out_path == nil then
      out_path = os.getenv("WRK_JSON_OUT") or ""
      if out_path ~= "" then
         out_file, out_error = io.open(out_path .. ".tmp", "w")
      end
   end
end

-- a wall clock in microseconds: gettimeofday through LuaJIT's FFI, as wrk's own
-- clock; os.time() (whole seconds) where the FFI is missing
local now_us
do
   local ok, ffi = pcall(require, "ffi")
   if ok then
      ffi.cdef("typedef struct { long sec; long usec; } concbench_tv;"
               .. " int gettimeofday(concbench_tv *tv, void *tz);")
      local tv = ffi.new("concbench_tv")
      now_us = function()
         ffi.C.gettimeofday(tv, nil)
         return tonumber(tv.sec) * 1000000 + tonumber(tv.usec)
      end
   else
      now_us = function() return os.time() * 1000000 end
   end
end

local floor_us = tonumber(os.getenv("WRK_FLOOR_US") or "")
local proof_patterns = {}  -- one Lua pattern a line; a checked body must match each
for pattern in string.gmatch(os.getenv("WRK_PROOF") or "", "[^\n]+") do
   table.insert(proof_patterns, pattern)
end
local proof_every = tonumber(os.getenv("WRK_PROOF_EVERY") or "") or 0
if #proof_patterns == 0 then proof_every = 0 end

local function proves(body)
   for _, pattern in ipairs(proof_patterns) do
      if not string.find(body, pattern) then return false end
   end
   return true
end

function init(args)
   start_us = now_us()
   start_second = math.floor(start_us / 1000000)
   per_second = {}
   answered, non_2xx, last_answer_us = 0, 0, nil
   proof_checked, proof_failed, proof_sample, proof_countdown = 0, 0, nil, 1
   sent = sent or 0  -- setup() starts the first thread at -1: wrk builds one request to verify it
   request_text = wrk.format()
end

function response(status, headers, body)
   local now = now_us()
   local second = math.floor(now / 1000000)
   per_second[second] = (per_second[second] or 0) + 1
   answered = answered + 1
   last_answer_us = now
   if status < 200 or status > 299 then
      non_2xx = non_2xx + 1
   elseif proof_every > 0 then
      proof_countdown = proof_countdown - 1
      if proof_countdown <= 0 then
         proof_countdown = proof_every
         proof_checked = proof_checked + 1
         if not proves(body) then
            proof_failed = proof_failed + 1
            proof_sample = proof_sample or string.sub(body, 1, 200)
         end
      end
   end
end

if os.getenv("WRK_COUNT_SENT") == "1" then
   function request()
      sent = sent + 1
      return request_text
   end
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
   local counts, first, last = {}, nil, math.floor(now_us() / 1000000)
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

-- a JSON string of any bytes: quotes, backslashes, controls and non-ASCII bytes
-- escaped as \u00XX (a body sample need not be UTF-8)
local function json_string(text)
   return '"' .. string.gsub(text, '[%c"\\\128-\255]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

-- answers faster than floor_us, from the latency histogram's distinct values
-- (latency(i) is the i-th smallest value and its count; each call walks the
-- histogram from its minimum). At most 500 distinct values are read, so that a
-- cheat answering in thousands of different microseconds costs done() well under
-- a second: past that the count is a lower bound. An honest row reads none.
local function below_floor(latency, empty, floor_us)
   if floor_us == nil then return "null" end
   if empty or latency.min >= floor_us then return "0" end
   local count = 0
   for i = 1, math.min(#latency, 500) do
      local value, n = latency(i)
      if value >= floor_us then break end
      count = count + n
   end
   return number(count)
end

-- each thread's figures: answers, answers not 2xx, requests sent (null unless
-- counted) and how long before the end (done()) its last answer came, or its start
local function threads_json()
   local finished, out = now_us(), {}
   for _, thread in ipairs(threads) do
      local last = thread:get("last_answer_us") or thread:get("start_us") or finished
      local counted = os.getenv("WRK_COUNT_SENT") == "1"
      table.insert(out, object({"answered", "non_2xx", "sent", "silent_us"}, {
         answered = number(thread:get("answered") or 0),
         non_2xx = number(thread:get("non_2xx") or 0),
         sent = counted and number(thread:get("sent") or 0) or "null",
         silent_us = number(math.max(0, finished - last)),
      }))
   end
   return "[" .. table.concat(out, ", ") .. "]"
end

local function proof_json()
   if proof_every <= 0 then return "null" end
   local checked, failed, sample = 0, 0, nil
   for _, thread in ipairs(threads) do
      checked = checked + (thread:get("proof_checked") or 0)
      failed = failed + (thread:get("proof_failed") or 0)
      sample = sample or thread:get("proof_sample")
   end
   local patterns = {}
   for _, pattern in ipairs(proof_patterns) do table.insert(patterns, json_string(pattern)) end
   return object({"patterns", "every", "checked", "failed", "sample"}, {
      patterns = "[" .. table.concat(patterns, ", ") .. "]", every = number(proof_every),
      checked = number(checked), failed = number(failed),
      sample = sample and json_string(sample) or "null",
   })
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
       "per_second_start", "per_second", "floor_us", "below_floor", "threads", "proof"},
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
         floor_us = number(floor_us),
         below_floor = below_floor(latency, empty, floor_us),
         threads = threads_json(),
         proof = proof_json(),
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
