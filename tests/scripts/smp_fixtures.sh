# smp_fixtures.sh - SMP responses for the discovery tests, signed by xmlsec1 (an independent signer).
# Sourced after lib.sh. Needs $PKI.

INVOICE_DOCTYPE='busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1'
CREDITNOTE_DOCTYPE='busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1'
BILLING_PROCESS='cenbii-procid-ubl::urn:fdc:peppol.eu:2017:poacc:billing:01:1.0'

need_xmlsec1() {
	command -v xmlsec1 >/dev/null 2>&1 || { echo "SKIP: no xmlsec1 to sign test SMP responses"; exit 77; }
}

# sml_test_network SEED RANGE: what the SML/SMP tests over DNS and HTTP share: xmlsec1, dnsmasq
# ($DNSMASQ) and busybox there (or skip), the zone ($ZONE, $SCHEME), DNS_PORT (61000 + (pid + SEED) %
# RANGE, above the ephemeral ports; each test its own SEED) and HTTP_PORT beside it, $WWW for the SMP's
# files, and the servers in $PIDS stopped on exit.
sml_test_network() {
	need_xmlsec1
	DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
	[ -x "$DNSMASQ" ] || { echo "SKIP: no dnsmasq"; exit 77; }
	command -v busybox >/dev/null 2>&1 || { echo "SKIP: no busybox (httpd)"; exit 77; }
	ZONE=sml.relais.test
	SCHEME=iso6523-actorid-upis
	DNS_PORT=$((61000 + ($$ + $1) % $2))
	HTTP_PORT=$((DNS_PORT + 1))
	WWW="$TMP/www"
	mkdir -p "$WWW"
	PIDS=""
	trap sml_test_network_stop EXIT INT TERM
}
sml_test_network_stop() { for p in $PIDS; do kill "$p" 2>/dev/null; done; }

# sml_test_servers [DNSMASQ-ARG...]: dnsmasq on 127.0.0.1:$DNS_PORT, authoritative for $ZONE and
# relais.test, with the records given (DNSMASQ_PID), and busybox httpd serving $WWW on $HTTP_PORT (and on
# $ADDR80:80 when $CAN_BIND_80 is 1); exits 99 when one of them does not start.
sml_test_servers() {
	user_opt=""
	[ "$(id -u)" = 0 ] && user_opt="--user=root"
	"$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --port="$DNS_PORT" \
		--listen-address=127.0.0.1 --bind-interfaces --pid-file="$TMP/dnsmasq.pid" $user_opt \
		--local=/$ZONE/ --local=/relais.test/ --log-facility="$TMP/dnsmasq.log" "$@" &
	DNSMASQ_PID=$!
	PIDS="$PIDS $!"
	busybox httpd -f -p "127.0.0.1:$HTTP_PORT" -h "$WWW" &
	PIDS="$PIDS $!"
	if [ "${CAN_BIND_80:-0}" = 1 ]; then
		busybox httpd -f -p "$ADDR80:80" -h "$WWW" &
		PIDS="$PIDS $!"
	fi
	sleep 0.3
	for p in $PIDS; do
		kill -0 "$p" 2>/dev/null ||
			{ cat "$TMP/dnsmasq.log" 2>/dev/null; echo "a test server did not start"; exit 99; }
	done
}

# naptr_of PARTICIPANT: the NAPTR (BDXL) name of a participant in $ZONE.
naptr_of() {
	echo "$(printf '%s' "$1" | tr 'A-Z' 'a-z' | openssl dgst -sha256 -binary | base32 -w0 | tr -d = |
		tr 'A-Z' 'a-z').$SCHEME.$ZONE"
}

# cert_b64 CERT.pem: the base64 DER of a certificate on one line.
cert_b64() {
	openssl x509 -in "$1" -outform DER | base64 -w0
}

# signature_template: an empty enveloped signature (exc-c14n, rsa-sha256, sha256) for xmlsec1 to fill.
signature_template() {
	printf '%s' '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>' \
		'<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' \
		'<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' \
		'<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>' \
		'</Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference>' \
		'</SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>'
}

# metadata_xml PARTICIPANT DOCTYPE(uri) URL ENDPOINT-CERT.pem [PROFILE] [EXTRA-ENDPOINT-XML]: an unsigned
# Peppol SMP 1.0 SignedServiceMetadata with a signature template, on stdout.
metadata_xml() {
	_p=$1 _d=$2 _url=$3 _cert=$4 _profile=${5:-peppol-transport-as4-v2_0} _extra=${6:-}
	_dscheme=${_d%%::*} _dvalue=${_d#*::}
	cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<SignedServiceMetadata xmlns="http://busdox.org/serviceMetadata/publishing/1.0/" xmlns:ids="http://busdox.org/transport/identifiers/1.0/" xmlns:wsa="http://www.w3.org/2005/08/addressing"><ServiceMetadata><ServiceInformation>
<ids:ParticipantIdentifier scheme="iso6523-actorid-upis">$_p</ids:ParticipantIdentifier>
<ids:DocumentIdentifier scheme="$_dscheme">$_dvalue</ids:DocumentIdentifier>
<ProcessList><Process><ids:ProcessIdentifier scheme="cenbii-procid-ubl">${BILLING_PROCESS#*::}</ids:ProcessIdentifier>
<ServiceEndpointList><Endpoint transportProfile="$_profile">
<wsa:EndpointReference><wsa:Address>$_url</wsa:Address></wsa:EndpointReference>
<RequireBusinessLevelSignature>false</RequireBusinessLevelSignature>$_extra
<Certificate>$(cert_b64 "$_cert")</Certificate>
<ServiceDescription>relais test endpoint</ServiceDescription>
<TechnicalContactUrl>mailto:ops@example.org</TechnicalContactUrl>
</Endpoint></ServiceEndpointList></Process></ProcessList>
</ServiceInformation></ServiceMetadata>$(signature_template)</SignedServiceMetadata>
EOF
}

# redirect_xml HREF CERTIFICATE-UID: a signed-to-be Redirect.
redirect_xml() {
	cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<SignedServiceMetadata xmlns="http://busdox.org/serviceMetadata/publishing/1.0/"><ServiceMetadata><Redirect href="$1"><CertificateUID>$2</CertificateUID></Redirect></ServiceMetadata>$(signature_template)</SignedServiceMetadata>
EOF
}

# service_group_xml PARTICIPANT SMP-URL DOCTYPE...: a Peppol SMP 1.0 ServiceGroup.
service_group_xml() {
	_p=$1 _smp=$2
	shift 2
	printf '%s' '<?xml version="1.0" encoding="UTF-8"?><ServiceGroup xmlns="http://busdox.org/serviceMetadata/publishing/1.0/" xmlns:ids="http://busdox.org/transport/identifiers/1.0/">'
	printf '<ids:ParticipantIdentifier scheme="iso6523-actorid-upis">%s</ids:ParticipantIdentifier><ServiceMetadataReferenceCollection>' "$_p"
	for _d in "$@"; do
		printf '<ServiceMetadataReference href="%s/%s/services/%s"/>' "$_smp" \
			"$(pct "iso6523-actorid-upis::$_p")" "$(pct "$_d")"
	done
	printf '</ServiceMetadataReferenceCollection></ServiceGroup>\n'
}

# pct TEXT: percent-encoded as an SMP path segment (":" and "#" encoded; letters, digits, "-._~" kept).
pct() {
	printf '%s' "$1" | od -An -tx1 -v | tr -s ' \n' '  ' | {
		read -r bytes
		for b in $bytes; do
			case $b in
			3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|2d|2e|5f|7e) printf "\\$(printf '%03o' "0x$b")" ;;
			*) printf '%%%s' "$(echo "$b" | tr a-f A-F)" ;;
			esac
		done
	}
}

# sign_with KEY CERT IN OUT: signs the template with xmlsec1.
sign_with() {
	xmlsec1 --sign --privkey-pem "$1,$2" --output "$4" "$3" >"$TMP/xmlsec1.log" 2>&1 ||
		{ cat "$TMP/xmlsec1.log"; echo "xmlsec1 cannot sign $3"; exit 99; }
}

# smp_sign IN OUT: signed by the test SMP (SMP000001).
smp_sign() {
	sign_with "$PKI/SMP000001.key.pem" "$PKI/SMP000001.cert.pem" "$1" "$2"
}
