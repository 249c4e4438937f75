-- Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
-- SPDX-License-Identifier: BSD-2-Clause

-- wrk driver for token lookups: each request carries the session cookie
-- of one of COUNT stored tokens, chosen at random (so that a large zone is
-- walked the way real traffic walks it, not one hot key).
--
--   wrk -t1 -c32 -d3s -s bench/lua/lookup.lua URL -- PREFIX COUNT PATH
--
-- The session ids are bench/states.py's sid(PREFIX, i): PREFIX then i,
-- zero-padded to 22 characters.

local prefix, count, path, head, fmt

function init(args)
   prefix = args[1]
   count = tonumber(args[2])
   path = args[3] or "/lookup"
   fmt = "%0" .. (22 - #prefix) .. "d"
   head = "GET " .. path .. " HTTP/1.1\r\nHost: " .. wrk.host .. ":"
          .. wrk.port .. "\r\nCookie: intercom_oauth_sid=" .. prefix
   math.randomseed(12345)
end

function request()
   return head .. string.format(fmt, math.random(0, count - 1))
          .. "\r\n\r\n"
end
