# shellcheck shell=bash
# The self-signed certificate of `./deploy.sh --tls` (sourced by deploy.sh, and by scripts/test-browser.sh, whose
# HTTPS stand-in serves the same kind of certificate). A leaf, never a certificate authority: CA:FALSE, server
# authentication only, for the names it serves, valid TLS_CERT_DAYS days (browsers accept at most 398).

TLS_CERT_NAMES="DNS:localhost,DNS:pgadmin.localhost,IP:127.0.0.1"
TLS_CERT_DAYS=397

# tls_make_leaf_certificate DIR: writes DIR/tls.key and DIR/tls.crt (openssl's messages to DIR/openssl.log, shown
# on failure). The key is never on a command line.
tls_make_leaf_certificate() {
  local dir="$1"
  if ! openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days "$TLS_CERT_DAYS" -subj "/CN=localhost" \
    -addext "subjectAltName=$TLS_CERT_NAMES" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=digitalSignature,keyEncipherment" -addext "extendedKeyUsage=serverAuth" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>"$dir/openssl.log"; then
    cat "$dir/openssl.log" >&2
    return 1
  fi
}
