#!/bin/sh
# demo.sh - sets everything up (packages, build), then runs two relais access points on this machine,
# each with its own key, HTTPS endpoint and embedded PostgreSQL database, and sends a signed, encrypted
# invoice from A (POP000001) to B (POP000002) through the real HTTP path, printing what happened.
# Environment: RELAIS_DEMO_DIR (default /tmp/relais-demo), RELAIS_DEMO_PORT_A/B (default 8441/8442).
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
top=$(pwd)
demo=${RELAIS_DEMO_DIR:-/tmp/relais-demo}
port_a=${RELAIS_DEMO_PORT_A:-8441}
port_b=${RELAIS_DEMO_PORT_B:-8442}
rm -rf "$demo"
mkdir -p "$demo"
chmod 755 "$demo"

step() { printf '\n== %s\n' "$*"; }

step "A test PKI: access points POP000001 (A) and POP000002 (B), a TLS certificate for localhost"
sh certs/make-test-pki.sh "$demo/pki"
ls "$demo/pki" | grep -E '^(POP00000[12]|tls-server|ca-chain)' | sed 's/^/   /'

# ap_conf NAME SEAT PORT
ap_conf() {
	mkdir -p "$demo/$1/inbox" "$demo/$1/state"
	cat > "$demo/$1/relais.conf" <<CONF
[identity]
key = $demo/pki/$2.key.pem
cert = $demo/pki/$2.cert.pem
party_id = $2
country = BE
[trust]
anchors = $demo/pki/ca-chain.pem
tls_anchors = $demo/pki/tls-ca.cert.pem
crls = $demo/pki/ap-ca.crl.pem
[server]
listen = 127.0.0.1:$3
tls = on
tls_key = $demo/pki/tls-server.key.pem
tls_cert = $demo/pki/tls-server.cert.pem
[database]
url = auto
[state]
dir = $demo/$1/state
[delivery]
inbox = $demo/$1/inbox
CONF
}
ap_conf a POP000001 "$port_a"
ap_conf b POP000002 "$port_b"

pids=""
trap 'for p in $pids; do kill -TERM $p 2>/dev/null; done; for p in $pids; do wait $p 2>/dev/null; done' EXIT

# start NAME PORT: relais serve in the background, then wait until its health answers.
start() {
	./relais serve -c "$demo/$1/relais.conf" 2>"$demo/$1/relais.log" &
	pids="$pids $!"
	i=0
	until curl -s --cacert "$demo/pki/tls-ca.cert.pem" -o /dev/null "https://127.0.0.1:$2/api/v1/health"; do
		i=$((i + 1))
		if [ $i -gt 600 ]; then echo "relais $1 did not start:"; cat "$demo/$1/relais.log"; exit 1; fi
		sleep 0.1
	done
	echo "   $1 is up on https://127.0.0.1:$2/ (its private PostgreSQL is in $demo/$1/state)"
}
step "Starting access point B (POP000002) and access point A (POP000001)"
start b "$port_b"
start a "$port_a"

step "A sends the invoice examples/invoice-sbd.xml to B and waits for B's signed receipt"
./relais send -c "$demo/a/relais.conf" --payload examples/invoice-sbd.xml \
	--to-url "https://127.0.0.1:$port_b/as4" --to-cert "$demo/pki/POP000002.cert.pem"

sleep 1
step "What A logged"
sed 's/^/   /' "$demo/a/relais.log"
step "What B logged"
sed 's/^/   /' "$demo/b/relais.log"
step "B's inbox"
ls -l "$demo/b/inbox" | sed 's/^/   /'
delivered=$(find "$demo/b/inbox" -type f | head -1)
if [ -n "$delivered" ] && cmp -s "$delivered" examples/invoice-sbd.xml; then
	echo "   the document B delivered is byte for byte the invoice A sent"
else
	echo "   the delivered document differs from the one sent"; exit 1
fi
step "relais status of A, then of B"
./relais status -c "$demo/a/relais.conf" | sed 's/^/   /'
echo
./relais status -c "$demo/b/relais.conf" | sed 's/^/   /'
step "Stopping both (SIGTERM drains and stops their databases)"
for p in $pids; do kill -TERM "$p"; done
for p in $pids; do wait "$p"; done
pids=""
echo "   done; everything is in $demo"
