#!/bin/sh
# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# mkcerts.sh DIR -- make the test PKI for the Intercom stand-in.
#
# Creates in DIR (EC P-256 keys, SHA-256 signatures):
#   ca.crt ca.key               the test CA (the module is told to trust it)
#   server.crt server.key       localhost + 127.0.0.1, signed by the test CA;
#                               the stand-in serves this one
#   site.crt site.key           localhost + 127.0.0.1, signed by the test CA;
#                               for nginx's own TLS listener in the demo
#   other-ca.crt other-ca.key   a second, untrusted CA
#   other.crt other.key         localhost + 127.0.0.1, signed by other-ca
#   wronghost.crt wronghost.key only DNS:wrong.example, signed by the test CA
#   expired.crt expired.key     localhost + 127.0.0.1, signed by the test CA,
#                               valid 2020-01-01 .. 2021-01-01 (expired)
#
# Idempotent: does nothing when DIR/ca.crt exists and is newer than this
# script. Files are built in a temporary directory and moved into place with
# ca.crt last, so a concurrent run never sees a half-made set.
# Only the openssl CLI (3.0) is used: "openssl ca" sets the back-dated
# validity of expired.crt, which "openssl x509 -req" cannot do before 3.4.

set -eu

dir=${1:?usage: mkcerts.sh DIR}
self=$0

if [ -f "$dir/ca.crt" ] && [ "$dir/ca.crt" -nt "$self" ] \
   && [ -f "$dir/expired.key" ] && [ -f "$dir/site.key" ]; then
    exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.mkcerts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# One configuration for both CAs; CADIR and SAN come from the environment.
cat > "$tmp/openssl.cnf" <<'EOF'
[ ca ]
default_ca = testca

[ testca ]
dir            = $ENV::CADIR
database       = $dir/index.txt
new_certs_dir  = $dir
serial         = $dir/serial
default_md     = sha256
policy         = policy_any
unique_subject = no
email_in_dn    = no
copy_extensions = none

[ policy_any ]
organizationName = optional
commonName       = supplied

[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName         = $ENV::SAN
EOF

export OPENSSL_CONF="$tmp/openssl.cnf"
# Both must be set for the configuration to parse at all.
export SAN="DNS:localhost" CADIR="$tmp"

# Start dates a day in the past tolerate small clock differences.
yesterday=$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)
in2years=$(date -u -d '730 days' +%Y%m%d%H%M%SZ)
in10years=$(date -u -d '3650 days' +%Y%m%d%H%M%SZ)

key() {   # key NAME
    openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$tmp/$1.key"
    chmod 600 "$tmp/$1.key"
}

csr() {   # csr NAME CN
    openssl req -new -key "$tmp/$1.key" -subj "/O=Intercom stand-in/CN=$2" \
        -out "$tmp/$1.csr"
}

cadb() {  # cadb CANAME -- a fresh "openssl ca" database for that CA
    mkdir -p "$tmp/db-$1"
    : > "$tmp/db-$1/index.txt"
}

mkca() {  # mkca NAME CN -- self-signed CA, valid from yesterday for 10 years
    key "$1"
    csr "$1" "$2"
    cadb "$1"
    CADIR="$tmp/db-$1" openssl ca -batch -notext -selfsign -create_serial \
        -keyfile "$tmp/$1.key" -in "$tmp/$1.csr" -out "$tmp/$1.crt" \
        -extensions v3_ca -startdate "$yesterday" -enddate "$in10years" \
        2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
}

leaf() {  # leaf NAME CA CN SAN START END
    key "$1"
    csr "$1" "$3"
    CADIR="$tmp/db-$2" SAN="$4" openssl ca -batch -notext -create_serial \
        -cert "$tmp/$2.crt" -keyfile "$tmp/$2.key" \
        -in "$tmp/$1.csr" -out "$tmp/$1.crt" \
        -extensions v3_leaf -startdate "$5" -enddate "$6" \
        2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
}

local="DNS:localhost,IP:127.0.0.1,IP:::1"

mkca ca       "Intercom stand-in test CA"
mkca other-ca "Some other CA"
from=$yesterday to=$in2years
leaf server    ca       localhost     "$local"            "$from" "$to"
leaf site      ca       localhost     "$local"            "$from" "$to"
leaf other     other-ca localhost     "$local"            "$from" "$to"
leaf wronghost ca       wrong.example "DNS:wrong.example" "$from" "$to"
leaf expired   ca       localhost     "$local"  20200101000000Z 20210101000000Z

# Move into place; ca.crt last (it is the "done" marker checked above).
for f in ca.key other-ca.crt other-ca.key \
         server.crt server.key site.crt site.key other.crt other.key \
         wronghost.crt wronghost.key expired.crt expired.key ca.crt; do
    mv -f "$tmp/$f" "$dir/$f"
done
