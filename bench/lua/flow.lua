-- Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
-- SPDX-License-Identifier: BSD-2-Clause

-- wrk driver for the whole flow, states minted by the server itself:
-- GET /connect, take the session cookie from Set-Cookie and the state from
-- the page's authorize link, then GET the callback with them.  One thread,
-- a queue of minted (session, state) pairs shared by its connections: a
-- connection sends a callback when a state is waiting, a connect otherwise,
-- so about half the requests are each.
--
--   wrk -t1 -c32 -d3s -s bench/lua/flow.lua URL -- CALLBACK_PATH
--
-- Defining response() makes wrk hand every response to Lua, which costs
-- the driver more than callback.lua; the table's driver ceiling row is for
-- callback.lua.

local queue, head, tail = {}, 1, 0
local connect_req, cb_head, cb_mid, cb_tail
local n = 0

function init(args)
   local host = "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\n"
   connect_req = "GET /connect HTTP/1.1\r\n" .. host .. "\r\n"
   cb_head = "GET " .. (args[1] or "/cb") .. "?code=flow"
   cb_mid = " HTTP/1.1\r\n" .. host .. "Cookie: intercom_oauth_sid="
   cb_tail = "\r\n\r\n"
end

function request()
   if tail >= head then
      local sid, state = queue[head][1], queue[head][2]
      queue[head] = nil
      head = head + 1
      n = n + 1
      return cb_head .. n .. "&state=" .. state .. cb_mid .. sid .. cb_tail
   end
   return connect_req
end

function response(status, headers, body)
   if status ~= 200 then
      return
   end
   local sc = headers["Set-Cookie"] or headers["set-cookie"]
   local sid = sc and sc:match("intercom_oauth_sid=([%w_%-]+)")
   local state = body:match("state=([%w_%-]+)")
   if sid and state then
      tail = tail + 1
      queue[tail] = { sid, state }
   end
end
