# daemon_lib.sh - helpers for the tests that run `relais serve` access points on loopback.
# Sourced after lib.sh and pg.sh. Each access point NAME lives in $TMP/NAME (configuration, state,
# inbox, outbox, log); its port is chosen free at configuration time.
command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }

# Kills every access point still running (the test failed half-way).
kill_aps() {
	for v in $(set | sed -n 's/^\(PID_[A-Za-z0-9_]*\)=.*/\1/p'); do
		eval "kill -KILL \$$v" 2>/dev/null
	done
	return 0
}

# The private PostgreSQL cluster, and on exit: the access points killed, then the cluster stopped.
start_test_db() {
	start_private_pg
	trap 'kill_aps; stop_private_pg' EXIT
}
API_TOKEN=test-token-0123456789abcdef
CURL_TLS="--cacert $PKI/tls-ca.cert.pem"

# Ports: each test directory has its own range of 30 (from its path), so tests running side by side,
# also from other build trees, do not share one; within it, ports are handed out in order. The ranges
# stay below 32768, where Linux's ephemeral ports (those of outgoing connections) begin. ap_start
# checks that the server it waited for is really its own.
NEXT_PORT=$(( 10000 + ($(printf '%s' "$TMP" | cksum | cut -d' ' -f1) % 700) * 30 ))
free_port() {
	NEXT_PORT=$((NEXT_PORT + 1))
	echo $NEXT_PORT
}

# A Peppol SBD holding a UBL invoice of about 5 KB, unique by N: make_invoice N OUT [RECEIVER]
make_invoice() {
	n=$1; out=$2; receiver=${3:-0088:5798000000002}
	{
		cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"><StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion><Sender><Identifier Authority="iso6523-actorid-upis">0088:5798000000001</Identifier></Sender><Receiver><Identifier Authority="iso6523-actorid-upis">$receiver</Identifier></Receiver><DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard><TypeVersion>2.1</TypeVersion><InstanceIdentifier>inv-$n</InstanceIdentifier><Type>Invoice</Type><CreationDateAndTime>2026-11-23T10:00:00Z</CreationDateAndTime></DocumentIdentification><BusinessScope><Scope><Type>DOCUMENTID</Type><InstanceIdentifier>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1</InstanceIdentifier><Identifier>busdox-docid-qns</Identifier></Scope><Scope><Type>PROCESSID</Type><InstanceIdentifier>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</InstanceIdentifier><Identifier>cenbii-procid-ubl</Identifier></Scope><Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>BE</InstanceIdentifier></Scope></BusinessScope></StandardBusinessDocumentHeader>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>INV-$n</cbc:ID><cbc:IssueDate>2026-11-23</cbc:IssueDate><cbc:Note>
XML
		head -c 3600 /dev/urandom | base64 -w 76
		echo '</cbc:Note></Invoice></StandardBusinessDocument>'
	} > "$out"
}

# ap_config NAME SEAT DBURL [section.key=value ...]: writes $TMP/NAME/relais.conf for POP<SEAT> keys.
# Sets PORT_<NAME>.
ap_config() {
	name=$1; seat=$2; db=$3; shift 3
	dir="$TMP/$name"
	mkdir -p "$dir/state" "$dir/inbox" "$dir/outbox"
	NEXT_PORT=$((NEXT_PORT + 1)); port=$NEXT_PORT
	eval "PORT_$name=$port"
	cat > "$dir/relais.conf" <<EOF
[identity]
key = $PKI/$seat.key.pem
cert = $PKI/$seat.cert.pem
party_id = $seat
[trust]
anchors = $PKI/ca-chain.pem
tls_anchors = $PKI/tls-ca.cert.pem
crls = $PKI/ap-ca.crl.pem
[server]
listen = 127.0.0.1:$port
tls = on
tls_key = $PKI/tls-server.key.pem
tls_cert = $PKI/tls-server.cert.pem
[database]
url = $db
[state]
dir = $dir/state
[delivery]
inbox = $dir/inbox
[submission]
outbox = $dir/outbox
[api]
token = $API_TOKEN
[retry]
initial_delay = 1s
max_delay = 2s
circuit_open = 2s
[limits]
request_timeout = 10s
EOF
	for kv in "$@"; do
		printf '%s\n' "$kv" >> "$dir/sets"
	done
	touch "$dir/sets"
}

# The --set options recorded for NAME.
ap_sets() {
	while IFS= read -r kv; do printf -- '--set\n%s\n' "$kv"; done < "$TMP/$1/sets"
}

# ap_pair_config [A-SETTING...]: the private PostgreSQL with databases ap_a and ap_b (DB_A, DB_B), access
# points B (POP000002) and A (POP000001, with the settings given, "section.key=value") configured, and A
# routing to B. Starting them is the test's (ap_start).
ap_pair_config() {
	start_test_db
	DB_A=$(pg_createdb ap_a)
	DB_B=$(pg_createdb ap_b)
	ap_config B POP000002 "$DB_B"
	ap_config A POP000001 "$DB_A" "$@"
	route_to A B POP000002
}

# ap_start NAME: relais serve in the background; waits until its health answers. Sets PID_<NAME>.
ap_start() {
	name=$1; dir="$TMP/$name"
	eval "port=\$PORT_$name"
	touch "$dir/log"
	from_line=$(($(wc -l < "$dir/log") + 1))
	# shellcheck disable=SC2046
	(IFS='
'; exec "$RELAIS" serve -c "$dir/relais.conf" $(ap_sets "$name")) >>"$dir/log" 2>&1 &
	eval "PID_$name=$!"
	i=0
	while [ $i -lt 300 ]; do
		if tail -n +$from_line "$dir/log" | grep -q "listening on" &&
		   curl -s $CURL_TLS -o /dev/null "https://127.0.0.1:$port/api/v1/health" 2>/dev/null; then
			return 0
		fi
		eval "kill -0 \$PID_$name" 2>/dev/null || { echo "# $name exited:"; tail -20 "$dir/log" | sed 's/^/#   /'; return 1; }
		sleep 0.1; i=$((i + 1))
	done
	echo "# $name did not come up:"; tail -20 "$dir/log" | sed 's/^/#   /'
	return 1
}

# ap_stop NAME: SIGTERM and wait for the exit; returns relais's exit status.
ap_stop() {
	eval "pid=\$PID_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
}

ap_kill() {
	eval "pid=\$PID_$1"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ap_api NAME METHOD PATH [curl args...]: prints the body; the status goes to $TMP/http_status.
ap_api() {
	name=$1; method=$2; path=$3; shift 3
	eval "port=\$PORT_$name"
	curl -s $CURL_TLS -X "$method" -H "Authorization: Bearer $API_TOKEN" -w '%{http_code}' \
		-o "$TMP/api_body" "$@" "https://127.0.0.1:$port$path" > "$TMP/http_status"
	cat "$TMP/api_body"
}

# sql DBURL QUERY: one value.
sql() {
	"$PG_BINDIR/psql" -X -A -t -q -d "$1" -c "$2" 2>&1
}

# wait_until SECONDS DESCRIPTION -- command...: polls every 0.2 s until the command succeeds.
wait_until() {
	limit=$1; desc=$2; shift 3
	end=$(( $(date +%s) + limit ))
	while [ "$(date +%s)" -le "$end" ]; do
		if "$@" >/dev/null 2>&1; then ok "$desc"; return 0; fi
		sleep 0.2
	done
	not_ok "$desc (not within ${limit}s)"
	return 1
}

# count_files DIR: regular files directly in DIR.
count_files() {
	find "$1" -maxdepth 1 -type f | wc -l
}

# The route every test access point A uses: everything to B.
route_to() {
	eval "port=\$PORT_$2"
	printf '* https://127.0.0.1:%s/as4 %s\n' "$port" "$PKI/$3.cert.pem" > "$TMP/$1/routes"
	printf 'routing.table=%s\n' "$TMP/$1/routes" >> "$TMP/$1/sets"
}
