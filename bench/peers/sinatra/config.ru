# thin -R bench/peers/sinatra/config.ru -e production ... (see bench/bench.py)
require_relative 'app'
run IntercomConnectApp
