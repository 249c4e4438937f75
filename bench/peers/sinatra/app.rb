# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# "Connect with Intercom" the app-server way, for the benchmark's
# comparison: a Sinatra app under Thin doing the flow of Intercom's
# "Setting up OAuth" guide.
#
#   GET /connect   the button page: a session cookie, a state, an HTML page
#                  whose button links to the authorize URL
#   GET /cb        the callback: check the state, POST code, client_id and
#                  client_secret as a form to the token endpoint, parse the
#                  JSON, keep the token, redirect
#   GET /cb-tls    the same with the token endpoint over HTTPS
#
# To keep the comparison fair it does the same work as the module, with
# the same state format (so one driver feeds both): an HMAC-SHA256 state
# bound to the session and the client id, an age check, a single-use check
# (an in-process Hash), and the token refused on a non-2xx or an "errors"
# list.  Intercom's own sample does less (it does not check the state).
# Net::HTTP opens a connection per exchange, as the guide's examples and
# most apps do.
#
# Configured from the environment by bench/bench.py:
#   BENCH_CLIENT_ID, BENCH_CLIENT_SECRET_FILE, BENCH_STATE_SECRET_FILE,
#   BENCH_TOKEN_URL, BENCH_TOKEN_URL_TLS, BENCH_CA_FILE, BENCH_PAGE_TEMPLATE

require 'sinatra/base'
require 'net/http'
require 'openssl'
require 'securerandom'
require 'base64'
require 'json'
require 'uri'
require 'cgi'

class IntercomConnectApp < Sinatra::Base
  set :environment, :production
  set :logging, false
  set :show_exceptions, false
  set :raise_errors, false

  CLIENT_ID     = ENV.fetch('BENCH_CLIENT_ID')
  CLIENT_SECRET = File.binread(ENV.fetch('BENCH_CLIENT_SECRET_FILE')).chomp
  STATE_SECRET  = File.binread(ENV.fetch('BENCH_STATE_SECRET_FILE')).chomp
  TOKEN_URL     = URI(ENV.fetch('BENCH_TOKEN_URL'))
  TOKEN_URL_TLS = URI(ENV.fetch('BENCH_TOKEN_URL_TLS'))
  CA_FILE       = ENV.fetch('BENCH_CA_FILE')
  PAGE          = File.read(ENV.fetch('BENCH_PAGE_TEMPLATE'))
  AUTHORIZE_URL = 'https://app.intercom.com/oauth'
  REDIRECT_URI  = 'https://localhost/cb'
  STATE_TTL     = 600
  COOKIE        = 'intercom_oauth_sid'
  SID_RE        = /\A[A-Za-z0-9_-]{22}\z/

  USED   = {}   # nonce => true: states already used
  TOKENS = {}   # session id => access token

  helpers do
    def mac(blob, sid)
      OpenSSL::HMAC.digest('SHA256', STATE_SECRET,
                           blob + sid.bytesize.chr + sid + CLIENT_ID)[0, 16]
    end

    def mint_state(sid)
      blob = [1, Time.now.to_i].pack('CQ>') + SecureRandom.random_bytes(16) +
             [0].pack('n')
      Base64.urlsafe_encode64(blob + mac(blob, sid), padding: false)
    end

    # the nonce of a good state, or nil
    def verify_state(state, sid)
      return nil unless state.bytesize <= 1024
      raw = Base64.urlsafe_decode64(state) rescue (return nil)
      return nil unless raw.bytesize >= 43 && raw.getbyte(0) == 1
      rlen = raw.byteslice(25, 2).unpack1('n')
      return nil unless raw.bytesize == 27 + rlen + 16
      blob = raw.byteslice(0, 27 + rlen)
      return nil unless Rack::Utils.secure_compare(mac(blob, sid),
                                                   raw.byteslice(-16, 16))
      issued = raw.byteslice(1, 8).unpack1('Q>')
      now = Time.now.to_i
      return nil if issued > now + 60 || now - issued > STATE_TTL
      raw.byteslice(9, 16)
    end

    def exchange(url, code)
      form = URI.encode_www_form('code' => code, 'client_id' => CLIENT_ID,
                                 'client_secret' => CLIENT_SECRET)
      opts = { use_ssl: url.scheme == 'https' }
      opts[:ca_file] = CA_FILE if opts[:use_ssl]
      Net::HTTP.start(url.host, url.port, **opts) do |http|
        http.post(url.path, form,
                  'Content-Type' => 'application/x-www-form-urlencoded',
                  'Accept' => 'application/json')
      end
    end
  end

  get '/connect' do
    sid = request.cookies[COOKIE]
    unless sid && SID_RE.match?(sid)
      sid = Base64.urlsafe_encode64(SecureRandom.random_bytes(16),
                                    padding: false)
      response.set_cookie(COOKIE, value: sid, path: '/', secure: true,
                                  httponly: true, same_site: :lax)
    end
    url = "#{AUTHORIZE_URL}?client_id=#{CGI.escape(CLIENT_ID)}" \
          "&state=#{mint_state(sid)}&redirect_uri=#{CGI.escape(REDIRECT_URI)}"
    cache_control :no_store
    content_type 'text/html; charset=utf-8'
    PAGE.sub('{{authorize_url}}') { Rack::Utils.escape_html(url) }
  end

  get %r{/cb(-tls)?} do |tls|
    cache_control :no_store
    code = params['code']
    state = params['state']
    halt 400, 'invalid_request' if code.to_s.empty? || state.to_s.empty?
    sid = request.cookies[COOKIE]
    halt 403, 'state_invalid' unless sid && SID_RE.match?(sid)
    nonce = verify_state(state, sid)
    halt 403, 'state_invalid' unless nonce
    halt 403, 'state_replayed' if USED.key?(nonce)
    USED[nonce] = true

    res = exchange(tls ? TOKEN_URL_TLS : TOKEN_URL, code)
    halt 502, 'exchange_failed' unless res.is_a?(Net::HTTPSuccess)
    body = JSON.parse(res.body) rescue halt(502, 'exchange_failed')
    token = body['access_token'] || body['token']
    if !body.is_a?(Hash) || token.to_s.empty? ||
       body['type'] == 'error.list' || !Array(body['errors']).empty?
      halt 502, 'exchange_failed'
    end
    TOKENS[sid] = token
    redirect '/home'
  end

  get '/noop' do
    204
  end
end
