#!/bin/sh
# revocation.sh - revocation checks against a real `openssl ocsp` responder on loopback and the test CRL:
# a message signed by revoked POP000003 is refused with EBMS:0101, a good one accepted; an unreachable
# responder refuses under trust.revocation = hard and warns under soft; answers are cached (the responder
# sees one request per certificate); a response signed by a key the CA never authorised is refused; pack
# refuses to encrypt to a revoked receiver.
. "$top_srcdir/tests/scripts/lib.sh"
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

RESPONDERS=""
cleanup() { for pid in $RESPONDERS; do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT

# A TCP port nothing listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + $$ % 20000))
}

# start_responder PORT LOG [SIGNER]: `openssl ocsp` answering from the AP CA's database, signing with the
# delegated OCSP certificate (or SIGNER), nextUpdate 5 minutes ahead. Returns 1 when it does not come up.
start_responder() {
	port=$1 log=$2 signer=${3:-ocsp}
	# stdbuf: the request log is counted while the responder runs, so it must not sit in a buffer.
	stdbuf -o0 openssl ocsp -index "$PKI/ap-ca-db/index.txt" -port "$port" -rsigner "$PKI/$signer.cert.pem" \
		-rkey "$PKI/$signer.key.pem" -CA "$PKI/ap-ca.cert.pem" -nmin 5 -text >"$log" 2>&1 &
	RESPONDERS="$RESPONDERS $!"
	i=0
	while [ $i -lt 50 ]; do
		if openssl ocsp -issuer "$PKI/ap-ca.cert.pem" -cert "$PKI/POP000002.cert.pem" \
			-url "http://127.0.0.1:$port/" -noverify >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

requests() { grep -c "OCSP Request Data:" "$1"; }

PORT=$(free_port)
start_responder "$PORT" "$TMP/ocsp.log" || { not_ok "openssl ocsp responder starts on port $PORT"; finish; }
DEAD_PORT=$(free_port)

cat >"$TMP/relais.conf" <<EOF
[identity]
key = $PKI/POP000002.key.pem
cert = $PKI/POP000002.cert.pem

[trust]
anchors = $PKI/ca-chain.pem
revocation = hard
ocsp_url = http://127.0.0.1:$PORT/
ocsp_timeout = 2s
EOF
CONF="-c $TMP/relais.conf"

# Messages to POP000002 from a good, a revoked, an expired and a foreign sender.
printf '<?xml version="1.0"?>\n<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"><StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion><Sender><Identifier Authority="iso6523-actorid-upis">0088:5798000000001</Identifier></Sender><Receiver><Identifier Authority="iso6523-actorid-upis">0088:5798000000002</Identifier></Receiver><DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard><TypeVersion>2.1</TypeVersion><InstanceIdentifier>rev-1</InstanceIdentifier><Type>Invoice</Type><CreationDateAndTime>2026-11-23T10:00:00Z</CreationDateAndTime></DocumentIdentification><BusinessScope><Scope><Type>DOCUMENTID</Type><InstanceIdentifier>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1</InstanceIdentifier><Identifier>busdox-docid-qns</Identifier></Scope><Scope><Type>PROCESSID</Type><InstanceIdentifier>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</InstanceIdentifier><Identifier>cenbii-procid-ubl</Identifier></Scope><Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>BE</InstanceIdentifier></Scope></BusinessScope></StandardBusinessDocumentHeader><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>revocation</Note></Invoice></StandardBusinessDocument>\n' >"$TMP/sbd.xml"
for sender in POP000001 POP000003; do
	expect_exit 0 "pack a message from $sender" -- "$RELAIS" pack --key "$PKI/$sender.key.pem" \
		--cert "$PKI/$sender.cert.pem" --to-cert "$PKI/POP000002.cert.pem" --payload "$TMP/sbd.xml" \
		-o "$TMP/from-$sender.mime"
done

# OCSP: good and revoked.
before=$(requests "$TMP/ocsp.log")
expect_exit 0 "OCSP good: the message from POP000001 is accepted" -- "$RELAIS" unpack $CONF \
	--payload-out "$TMP/out1.xml" "$TMP/from-POP000001.mime"
expect_same_file "$TMP/sbd.xml" "$TMP/out1.xml" "payload of the accepted message"
expect_refused EBMS:0101 "OCSP revoked: the message from POP000003 is refused" -- "$RELAIS" unpack $CONF \
	--payload-out "$TMP/out3.xml" "$TMP/from-POP000003.mime"
grep -q "certificate CN=POP000003 was revoked on 20[0-9-]* [0-9:]* UTC (keyCompromise)" "$TMP/stderr" &&
	ok "the refusal says when and why it was revoked" || not_ok "revocation date and reason in: $(cat "$TMP/stderr")"
[ ! -e "$TMP/out3.xml" ] && ok "nothing written for the revoked sender" || not_ok "nothing written for the revoked sender"
after=$(requests "$TMP/ocsp.log")
[ $((after - before)) = 2 ] && ok "the responder was asked twice" || not_ok "responder requests: $((after - before)), wanted 2"

# The cache: within one process each certificate is asked about once, until the answer's nextUpdate.
before=$(requests "$TMP/ocsp.log")
expect_exit 0 "keys check of POP000001 three times and POP000002" -- "$RELAIS" keys check $CONF \
	"$PKI/POP000001.cert.pem" "$PKI/POP000001.cert.pem" "$PKI/POP000002.cert.pem" "$PKI/POP000001.cert.pem"
after=$(requests "$TMP/ocsp.log")
[ $((after - before)) = 2 ] && ok "cached: two certificates, two requests" || not_ok "cached: $((after - before)) requests, wanted 2"
grep -q "^responder http://127.0.0.1:$PORT/: reachable, 2 requests$" "$TMP/stdout" &&
	ok "keys check reports the responder reachable with 2 requests" || not_ok "responder line in: $(cat "$TMP/stdout")"
[ "$(grep -c 'trusted, not revoked (OCSP' "$TMP/stdout")" = 4 ] && ok "four good answers" ||
	not_ok "four good answers in: $(cat "$TMP/stdout")"
expect_exit 1 "keys check refuses the revoked certificate" -- "$RELAIS" keys check $CONF "$PKI/POP000003.cert.pem"

# A certificate the CA issued outside its database: the responder answers "unknown". That refuses the
# certificate (hard) but says nothing against the responder, which is asked next for another one.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/unlisted.key.pem" 2>/dev/null
openssl req -new -key "$TMP/unlisted.key.pem" -subj "/C=BE/O=relais test/OU=PEPPOL TEST AP/CN=POP000077" \
	-out "$TMP/unlisted.csr" 2>/dev/null
openssl x509 -req -sha256 -days 30 -in "$TMP/unlisted.csr" -CA "$PKI/ap-ca.cert.pem" -CAkey "$PKI/ap-ca.key.pem" \
	-set_serial 0x77 -extfile "$PKI/ext.cnf" -extensions ap_cert -out "$TMP/unlisted.cert.pem" 2>/dev/null
expect_exit 1 "keys check of a certificate the responder does not know, then POP000003" -- "$RELAIS" keys check \
	$CONF "$TMP/unlisted.cert.pem" "$PKI/POP000003.cert.pem"
grep -q "CN=POP000077: refused: could not check revocation .*OCSP responder http://127.0.0.1:$PORT/ does not know the certificate" \
	"$TMP/stdout" && ok "unknown to the responder: refused under hard" || not_ok "unknown: $(cat "$TMP/stdout")"
grep -q "CN=POP000003: refused: certificate CN=POP000003 was revoked" "$TMP/stdout" &&
	ok "the responder is still asked after an unknown answer" || not_ok "after unknown: $(cat "$TMP/stdout")"

# The CRL file answers without any responder (here an unreachable one).
CRL_SET="--set trust.crls=$PKI/ap-ca.crl.pem --set trust.ocsp_url=http://127.0.0.1:$DEAD_PORT/"
expect_refused EBMS:0101 "CRL: the message from POP000003 is refused" -- "$RELAIS" unpack $CONF $CRL_SET \
	--payload-out "$TMP/out3.xml" "$TMP/from-POP000003.mime"
grep -q "was revoked on .* (keyCompromise)" "$TMP/stderr" && ok "CRL refusal names the reason" ||
	not_ok "CRL refusal: $(cat "$TMP/stderr")"
expect_exit 0 "CRL: the message from POP000001 is accepted" -- "$RELAIS" unpack $CONF $CRL_SET \
	--payload-out "$TMP/out1c.xml" "$TMP/from-POP000001.mime"
[ ! -s "$TMP/stderr" ] && ok "CRL: no warning" || not_ok "CRL: unexpected stderr: $(cat "$TMP/stderr")"

# The CAs of the chain: the root's CRL revokes a second AP CA, so a message from POP000777, which that CA
# issued, is refused whatever the sender's own status, naming the CA; the AP CA of POP000001 is good by
# the same CRL. Without the root's CRL nothing publishes the CAs' status and they are not checked.
cat "$PKI/ca-chain.pem" "$PKI/revoked-ap-ca.cert.pem" >"$TMP/anchors-with-revoked-ca.pem"
expect_exit 0 "pack a message from POP000777" -- "$RELAIS" pack --key "$PKI/POP000777.key.pem" \
	--cert "$PKI/POP000777.cert.pem" --to-cert "$PKI/POP000002.cert.pem" --payload "$TMP/sbd.xml" \
	-o "$TMP/from-POP000777.mime"
CA_SET="--set trust.anchors=$TMP/anchors-with-revoked-ca.pem --set trust.crls=$PKI/ap-ca.crl.pem,$PKI/root-ca.crl.pem --set trust.ocsp_url=http://127.0.0.1:$DEAD_PORT/ --set trust.crl_download=off"
expect_refused EBMS:0101 "root CRL: the message from POP000777, whose CA is revoked, is refused" -- "$RELAIS" \
	unpack $CONF $CA_SET --payload-out "$TMP/out777.xml" "$TMP/from-POP000777.mime"
grep -q "the chain of CN=POP000777: certificate CN=relais Test Revoked AP CA was revoked on .* (cACompromise)" \
	"$TMP/stderr" && ok "the refusal names the revoked CA" || not_ok "revoked CA refusal: $(cat "$TMP/stderr")"
[ ! -e "$TMP/out777.xml" ] && ok "nothing written for the revoked CA's sender" || not_ok "nothing written for POP000777"
expect_exit 0 "root CRL: the message from POP000001 is accepted" -- "$RELAIS" unpack $CONF $CA_SET \
	--payload-out "$TMP/out1r.xml" "$TMP/from-POP000001.mime"
expect_exit 0 "keys check shows the AP CA's answer from the root's CRL" -- "$RELAIS" keys check $CONF $CA_SET \
	"$PKI/POP000001.cert.pem"
grep -q "CN=POP000001: trusted, not revoked (CRL $PKI/ap-ca.crl.pem); CA CN=relais Test AP CA: not revoked (CRL $PKI/root-ca.crl.pem)" \
	"$TMP/stdout" && ok "the AP CA was checked against the root's CRL, POP000001 against the AP CA's" ||
	not_ok "AP CA answer in: $(cat "$TMP/stdout")"
# Our own certificate under a revoked CA: keys list says the chain's CA is revoked, and gives the
# certificate no revocation answer of its own (none was asked for: the check stopped at its CA).
expect_exit 1 "keys list --check-revocation of POP000777 under its revoked CA refuses it" -- "$RELAIS" keys list $CONF \
	$CA_SET --set identity.key="$PKI/POP000777.key.pem" --set identity.cert="$PKI/POP000777.cert.pem" \
	--set identity.keystore= --check-revocation
grep -q "warning: .*certificate CN=relais Test Revoked AP CA was revoked on .*(cACompromise)" "$TMP/stderr" &&
	ok "keys list warns that POP000777's CA is revoked" || not_ok "revoked CA warning: $(cat "$TMP/stderr")"
! grep -q "revocation:" "$TMP/stdout" && ok "and lends the CA's answer to no certificate" ||
	not_ok "revocation line in: $(cat "$TMP/stdout")"

# A CRL is used only until its nextUpdate: one due in 3 seconds answers now, and is refused as out of
# date once that time has passed (made from a copy of the CA, so the shared test PKI is left alone).
mkdir -p "$TMP/ca" && cp -r "$PKI/ap-ca.cnf" "$PKI/ap-ca-db" "$PKI/ap-ca.key.pem" "$PKI/ap-ca.cert.pem" "$TMP/ca/"
(cd "$TMP/ca" && openssl ca -config ap-ca.cnf -gencrl -crlsec 3 -out short.crl.pem 2>/dev/null) ||
	not_ok "make a CRL due in 3 seconds"
SHORT="--set trust.crls=$TMP/ca/short.crl.pem --set trust.ocsp_url=http://127.0.0.1:$DEAD_PORT/ --set trust.ocsp_timeout=1s --set trust.crl_download=off"
expect_exit 0 "a current short-lived CRL answers" -- "$RELAIS" keys list $CONF $SHORT --json --check-revocation
python3 - "$TMP/stdout" "$(openssl crl -in "$TMP/ca/short.crl.pem" -noout -nextupdate | sed 's/nextUpdate=//')" <<'PY' &&
import json, sys, datetime
rev = json.load(open(sys.argv[1]))["identities"][0]["revocation"]
due = datetime.datetime.strptime(sys.argv[2], "%b %d %H:%M:%S %Y GMT").strftime("%Y-%m-%dT%H:%M:%SZ")
assert rev["status"] == "good" and rev["cached_until"] == due, (rev, due)
PY
	ok "the answer is kept only until the CRL's nextUpdate" || not_ok "cached_until is the CRL's nextUpdate"
sleep 4
expect_refused EBMS:0101 "hard: a CRL past its nextUpdate is not used" -- "$RELAIS" unpack $CONF $SHORT \
	--payload-out "$TMP/outs1.xml" "$TMP/from-POP000001.mime"
grep -q "CRL $TMP/ca/short.crl.pem is out of date (next update was due " "$TMP/stderr" &&
	ok "the refusal says the CRL is out of date" || not_ok "stale CRL: $(cat "$TMP/stderr")"

# An unreachable responder: hard refuses, soft accepts with a warning, off does not ask.
DEAD="--set trust.ocsp_url=http://127.0.0.1:$DEAD_PORT/ --set trust.ocsp_timeout=1s --set trust.crl_download=off"
expect_refused EBMS:0101 "hard: unreachable responder refuses" -- "$RELAIS" unpack $CONF $DEAD \
	--payload-out "$TMP/outh.xml" "$TMP/from-POP000001.mime"
grep -q "could not check revocation of certificate CN=POP000001: OCSP responder http://127.0.0.1:$DEAD_PORT/ did not answer" \
	"$TMP/stderr" && ok "hard: the refusal says revocation could not be checked" || not_ok "hard: $(cat "$TMP/stderr")"
expect_exit 0 "soft: unreachable responder accepts" -- "$RELAIS" unpack $CONF $DEAD --set trust.revocation=soft \
	--payload-out "$TMP/outs.xml" "$TMP/from-POP000001.mime"
grep -q "^warning: could not check revocation of certificate CN=POP000001: .*trust.revocation = soft" "$TMP/stderr" &&
	ok "soft: a warning line" || not_ok "soft: warning in: $(cat "$TMP/stderr")"
expect_exit 0 "off: no check at all" -- "$RELAIS" unpack $CONF $DEAD --set trust.revocation=off \
	--payload-out "$TMP/outo.xml" "$TMP/from-POP000003.mime"

# A response signed by a certificate the CA did not authorise for OCSP (POP000001 has no OCSPSigning).
ROGUE_PORT=$(free_port)
if start_responder "$ROGUE_PORT" "$TMP/rogue.log" POP000001; then
	expect_refused EBMS:0101 "a response signed by an unauthorised key is refused" -- "$RELAIS" unpack $CONF \
		--set trust.ocsp_url=http://127.0.0.1:$ROGUE_PORT/ --set trust.crl_download=off --payload-out "$TMP/outr.xml" "$TMP/from-POP000001.mime"
	grep -q "is not signed by the CA or a responder it authorised" "$TMP/stderr" &&
		ok "the refusal names the bad responder signature" || not_ok "rogue responder: $(cat "$TMP/stderr")"
else
	not_ok "second responder starts on port $ROGUE_PORT"
fi

# Without trust.ocsp_url the certificate's own AIA names the responder (http://127.0.0.1:18561/).
AIA="--set trust.ocsp_url="
if start_responder 18561 "$TMP/aia.log"; then
	expect_exit 0 "AIA: POP000001 accepted by the responder its certificate names" -- "$RELAIS" unpack $CONF \
		$AIA --payload-out "$TMP/outa.xml" "$TMP/from-POP000001.mime"
	expect_refused EBMS:0101 "AIA: POP000003 refused" -- "$RELAIS" unpack $CONF $AIA \
		--payload-out "$TMP/outa3.xml" "$TMP/from-POP000003.mime"
else
	echo "# port 18561 is busy: the AIA responder case is not run"
fi

# Sending: the receiver's certificate is checked before anything is encrypted to it.
expect_refused EBMS:0101 "pack -c refuses to encrypt to a revoked receiver" -- "$RELAIS" pack $CONF \
	--to-cert "$PKI/POP000003.cert.pem" --payload "$TMP/sbd.xml" -o "$TMP/to-revoked.mime"
grep -q "the receiver's certificate: certificate CN=POP000003 was revoked on" "$TMP/stderr" &&
	ok "the refusal names the receiver's certificate" || not_ok "receiver refusal: $(cat "$TMP/stderr")"
[ ! -e "$TMP/to-revoked.mime" ] && ok "no message written for a revoked receiver" || not_ok "no message written"
expect_exit 0 "pack -c to a good receiver" -- "$RELAIS" pack $CONF --to-cert "$PKI/POP000001.cert.pem" \
	--payload "$TMP/sbd.xml" -o "$TMP/to-good.mime"

# With OCSP down, the CRL is fetched from the distribution point the certificates name
# (http://127.0.0.1:18562/ap-ca.crl), once, and kept while it is current.
mkdir -p "$TMP/www" && cp "$PKI/ap-ca.crl" "$TMP/www/"
if python3 -c 'import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 18562))' 2>/dev/null; then
	python3 -m http.server 18562 --bind 127.0.0.1 --directory "$TMP/www" >"$TMP/www.log" 2>&1 &
	RESPONDERS="$RESPONDERS $!"
	i=0
	until [ $i -ge 50 ] || grep -q "Serving HTTP" "$TMP/www.log"; do sleep 0.1; i=$((i + 1)); done
	CDP="--set trust.ocsp_url=http://127.0.0.1:$DEAD_PORT/ --set trust.ocsp_timeout=1s"
	expect_refused EBMS:0101 "CDP: the message from POP000003 is refused" -- "$RELAIS" unpack $CONF $CDP \
		--payload-out "$TMP/outd3.xml" "$TMP/from-POP000003.mime"
	grep -q "was revoked on .* (keyCompromise)" "$TMP/stderr" && ok "CDP: the reason is given" ||
		not_ok "CDP refusal: $(cat "$TMP/stderr")"
	expect_exit 1 "CDP: keys check of POP000001, POP000002 and (refused) POP000003" -- "$RELAIS" keys check $CONF $CDP \
		"$PKI/POP000001.cert.pem" "$PKI/POP000002.cert.pem" "$PKI/POP000003.cert.pem"
	[ "$(grep -c 'trusted, not revoked (CRL http://127.0.0.1:18562/ap-ca.crl)' "$TMP/stdout")" = 2 ] &&
		ok "CDP: two good answers from the downloaded CRL" || not_ok "CDP answers: $(cat "$TMP/stdout")"
	grep -q "^responder http://127.0.0.1:18562/ap-ca.crl: reachable, 1 request$" "$TMP/stdout" &&
		ok "CDP: the CRL was fetched once for three certificates" || not_ok "CDP fetches: $(cat "$TMP/stdout")"
	[ "$(grep -c 'GET /ap-ca.crl' "$TMP/www.log")" = 2 ] && ok "the HTTP server saw one download per process" ||
		not_ok "downloads seen: $(grep -c 'GET /ap-ca.crl' "$TMP/www.log")"
	expect_refused EBMS:0101 "CDP off: hard refuses" -- "$RELAIS" unpack $CONF $CDP --set trust.crl_download=off \
		--payload-out "$TMP/outd1.xml" "$TMP/from-POP000001.mime"
else
	echo "# port 18562 is busy: the CRL distribution point case is not run"
fi

# keys list shows the revocation status of our own certificate.
expect_exit 0 "keys list --check-revocation" -- "$RELAIS" keys list $CONF --check-revocation
grep -q "^  revocation: good (OCSP http://127.0.0.1:$PORT/; cached until " "$TMP/stdout" &&
	ok "keys list shows the OCSP answer" || not_ok "keys list: $(cat "$TMP/stdout")"
finish
