-- Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
-- SPDX-License-Identifier: BSD-2-Clause

-- wrk driver for the peer's callback (mod_auth_openidc): every request
-- carries a state the peer minted, its state cookie and a code (the
-- id_token the stand-in token endpoint hands back), one line of FILE each
-- (bench/openidc.py writes them):
--
--     CODE ' ' STATE ' ' COOKIE-NAME=VALUE '\n'
--
--   wrk -t1 -c32 -d3s -s bench/lua/openidc_callback.lua URL -- FILE PATH RETURN
--
-- PATH is the peer's redirect URI, RETURN the URL its states were minted
-- for.  A success is a 302 to RETURN, and only that: the peer answers a
-- failed callback with 200 and an HTML page, which wrk alone would count
-- as fine.  done() prints "openidc: ok N bad M".  When the file runs out
-- the script sends "GET /plain" (never a replayed state) and counts it
-- bad.

local reqs, n, i, plain, ret
local threads = {}

-- globals: done() reads them from each thread with thread:get()
ok, bad = 0, 0

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local path = args[2]
   ret = args[3]
   local host = "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\n"
   reqs, n, i = {}, 0, 0
   for line in io.lines(args[1]) do
      local code, state, cookie = line:match("^(%S+) (%S+) (%S+)$")
      n = n + 1
      reqs[n] = "GET " .. path .. "?code=" .. code .. "&state=" .. state
                .. " HTTP/1.1\r\n" .. host .. "Accept: text/html\r\n"
                .. "Cookie: " .. cookie .. "\r\n\r\n"
   end
   plain = "GET /plain HTTP/1.1\r\n" .. host .. "\r\n"
end

function request()
   i = i + 1
   if i > n then
      return plain
   end
   return reqs[i]
end

function response(status, headers, body)
   if status == 302 and headers["Location"] == ret then
      ok = ok + 1
   else
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local o, b = 0, 0
   for _, t in ipairs(threads) do
      o = o + t:get("ok")
      b = b + t:get("bad")
   end
   io.write(string.format("openidc: ok %d bad %d\n", o, b))
end
