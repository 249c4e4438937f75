-- Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
-- SPDX-License-Identifier: BSD-2-Clause

-- wrk driver for the callback: every request carries a fresh, valid,
-- single-use state with its session cookie, read from a record file that
-- bench/states.py wrote (fixed-length records, see there).
--
--   wrk -t1 -c32 -d3s -s bench/lua/callback.lua URL -- FILE FIRST COUNT PATH
--
-- FILE   record file        FIRST  first record to use (a slice per run)
-- COUNT  records in slice   PATH   location, e.g. /cb or /cb-tls
--
-- Each wrk thread would read the same slice: use -t1.  When the slice runs
-- out the script sends "GET /noop" (never a replayed state); the
-- orchestrator notices from the module's counters.

local RECLEN = 99
local reqs, n, i, noop
local over = 0

-- every request is built here, before wrk starts its clock, so that the
-- driver's cost per request is a table lookup
function init(args)
   local f = assert(io.open(args[1], "rb"))
   local first = tonumber(args[2]) or 0
   local count = tonumber(args[3]) or 100000
   local path = args[4] or "/cb"
   local host = "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\n"
   local head = "GET " .. path .. "?code="
   local cookie = "Cookie: intercom_oauth_sid="

   assert(f:seek("set", first * RECLEN))
   local data = f:read(count * RECLEN) or ""
   f:close()

   reqs = {}
   n = math.floor(#data / RECLEN)
   for k = 0, n - 1 do
      local o = k * RECLEN
      reqs[k + 1] = head .. data:sub(o + 83, o + 98)
                    .. "&state=" .. data:sub(o + 24, o + 81)
                    .. " HTTP/1.1\r\n" .. host
                    .. cookie .. data:sub(o + 1, o + 22) .. "\r\n\r\n"
   end
   i = 0
   noop = "GET /noop HTTP/1.1\r\n" .. host .. "\r\n"
end

function request()
   i = i + 1
   if i > n then
      over = over + 1
      return noop
   end
   return reqs[i]
end
