# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

# thin -R bench/peers/sinatra/config.ru -e production ... (see bench/bench.py)
require_relative 'app'
run IntercomConnectApp
