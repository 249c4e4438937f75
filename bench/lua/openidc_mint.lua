-- Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
-- SPDX-License-Identifier: BSD-2-Clause

-- wrk driver that mints the peer's states (mod_auth_openidc), outside the
-- timed runs: each request asks for a protected URL as a browser does
-- (Accept: text/html), the peer answers 302 to the authorization endpoint
-- with state and nonce in the Location and its encrypted state cookie in
-- Set-Cookie; each such answer becomes one line of FILE:
--
--     STATE ' ' NONCE ' ' COOKIE-NAME=VALUE '\n'
--
--   wrk -t1 -c16 -d60s -s bench/lua/openidc_mint.lua URL -- FILE COUNT
--
-- The thread stops after COUNT lines; bench/openidc.py signs an id_token
-- for each nonce.  Any other answer is counted, never written.

local out, want, got, bad
local req

function init(args)
   out = assert(io.open(args[1], "ab"))
   want = tonumber(args[2])
   got, bad = 0, 0
   req = wrk.format("GET", nil, { ["Accept"] = "text/html" })
end

function request()
   return req
end

function response(status, headers, body)
   local loc = headers["Location"]
   local sc = headers["Set-Cookie"]
   local state = loc and loc:match("[?&]state=([^&]+)")
   local nonce = loc and loc:match("[?&]nonce=([^&]+)")
   local cookie = sc and sc:match("^(mod_auth_openidc_state_[^;]+)")
   if status ~= 302 or not (state and nonce and cookie) then
      bad = bad + 1
      return
   end
   if got < want then
      out:write(state, " ", nonce, " ", cookie, "\n")
      got = got + 1
      if got == want then
         out:close()
         wrk.thread:stop()
      end
   end
end
