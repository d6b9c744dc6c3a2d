#!/bin/sh
# A self-signed certificate for the local compose stack's TLS listener (https://localhost:8443, wss://localhost:8443).
# Clients must be told to trust it (or use a real certificate: docs/operations.md, "TLS").
# Usage: make-self-signed.sh [output.pem]   (default: tradewire.pem next to this script; an existing file is kept
# unless FORCE=1). The file holds the certificate and its key together, as HAProxy reads them.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
pem="${1:-$dir/tradewire.pem}"
if [ -s "$pem" ] && [ "${FORCE:-0}" != "1" ]; then
  echo "$pem exists (FORCE=1 replaces it)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 90 \
  -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
umask 077
cat "$work/cert.pem" "$work/key.pem" > "$pem"
echo "wrote $pem (valid 90 days, for localhost and 127.0.0.1)"
