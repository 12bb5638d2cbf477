#!/bin/sh
# make-test-pki.sh OUTDIR - makes the relais test PKI with openssl (RSA-2048, SHA-256).
#
# A root CA with an AP intermediate CA issuing POP000001, POP000002 (and POP000002-new, its renewal for
# key rollover tests), an expired POP000099, a revoked POP000003 (listed in ap-ca.crl.pem and in the CA
# database that `openssl ocsp` answers from) and an OCSP responder; a second AP CA that the root revoked
# (root-ca.crl.pem) and POP000777 it issued; a rogue root issuing POP000666; an SMP
# CA issuing SMP000001. AP certificates name the OCSP responder http://127.0.0.1:18561/ in their AIA and
# the CRL distribution point http://127.0.0.1:18562/ap-ca.crl (tests point trust.ocsp_url at a responder
# on a free port instead, and serve the CRL only when that port is free). Each NAME gets NAME.key.pem
# (PKCS#8), NAME.cert.pem and NAME.p12 (password "test", with its chain). Last, two TLS CAs, each
# issuing an HTTPS server certificate for localhost (key and certificate only). See certs/README.md.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
mkdir -p "$out"
cd "$out"

# openssl is chatty on stderr: keep its output in a log and show it only when something fails.
exec 3>&2 2>openssl.log
trap 'status=$?; if [ "$status" -ne 0 ]; then cat openssl.log >&3; echo "$0: failed" >&3; fi' EXIT

days=3650
ocsp_port=18561
crl_port=18562
p12_password=test
subject_base="/C=BE/O=relais test"

new_key() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key.pem"
}

# Extension sections shared by every signing step.
cat >ext.cnf <<EOF
[ca_root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ca_intermediate]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ap_cert]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment, dataEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$ocsp_port/
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/ap-ca.crl

[ocsp_cert]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# make_root NAME SUBJECT
make_root() {
	new_key "$1"
	openssl req -new -x509 -sha256 -days "$days" -key "$1.key.pem" -subj "$2" \
		-config ext.cnf -extensions ca_root -out "$1.cert.pem"
}

# sign NAME SUBJECT ISSUER EXTENSION: a certificate signed directly by ISSUER (no CA database).
sign() {
	new_key "$1"
	openssl req -new -sha256 -key "$1.key.pem" -subj "$2" -config ext.cnf -out "$1.csr"
	openssl x509 -req -sha256 -days "$days" -in "$1.csr" -CA "$3.cert.pem" -CAkey "$3.key.pem" \
		-set_serial "0x$(openssl rand -hex 8)" -extfile ext.cnf -extensions "$4" \
		-out "$1.cert.pem"
	rm -f "$1.csr"
}

# A CA that keeps an `openssl ca` database (in CA-db/, config CA.cnf), so it can issue dated
# certificates, revoke and make CRLs. ca_db CA
ca_db() {
	mkdir -p "$1-db"
	: >"$1-db/index.txt"
	echo 1000 >"$1-db/serial"
	echo 1000 >"$1-db/crlnumber"
	cat >"$1.cnf" <<EOF
[ca]
default_ca = this_ca
[this_ca]
dir = $1-db
database = $1-db/index.txt
new_certs_dir = $1-db
serial = $1-db/serial
crlnumber = $1-db/crlnumber
certificate = $1.cert.pem
private_key = $1.key.pem
default_md = sha256
default_days = $days
default_crl_days = $days
policy = any_policy
unique_subject = no
copy_extensions = none
[any_policy]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
EOF
	cat ext.cnf >>"$1.cnf"
}

# ca_sign CA NAME SUBJECT EXTENSION [openssl ca options...]
ca_sign() {
	ca=$1 name=$2 subject=$3 extension=$4
	shift 4
	new_key "$name"
	openssl req -new -sha256 -key "$name.key.pem" -subj "$subject" -config ext.cnf \
		-out "$name.csr"
	openssl ca -batch -config "$ca.cnf" -extensions "$extension" -notext -in "$name.csr" \
		-out "$name.cert.pem" "$@"
	rm -f "$name.csr"
}

# p12 NAME CHAIN_FILE
p12() {
	openssl pkcs12 -export -inkey "$1.key.pem" -in "$1.cert.pem" -certfile "$2" -name "$1" \
		-passout "pass:$p12_password" -out "$1.p12"
}

ap_subject() {
	echo "$subject_base/OU=PEPPOL TEST AP/CN=$1"
}

# Root and AP CA, valid from 2019 so the expired certificate once chained to them.
ca_start=20190101000000Z
ca_db root-ca
new_key root-ca
openssl req -new -sha256 -key root-ca.key.pem -subj "$subject_base/CN=relais Test Root CA" \
	-config ext.cnf -out root-ca.csr
openssl ca -batch -selfsign -config root-ca.cnf -keyfile root-ca.key.pem -extensions ca_root \
	-notext -startdate "$ca_start" -in root-ca.csr -out root-ca.cert.pem
rm -f root-ca.csr
ca_sign root-ca ap-ca "$subject_base/CN=relais Test AP CA" ca_intermediate -startdate "$ca_start"
cat ap-ca.cert.pem root-ca.cert.pem >ca-chain.pem
ca_db ap-ca

for name in POP000001 POP000002 POP000003; do
	ca_sign ap-ca "$name" "$(ap_subject "$name")" ap_cert
	p12 "$name" ca-chain.pem
done
# The renewal of POP000002: same subject, new key and serial.
ca_sign ap-ca POP000002-new "$(ap_subject POP000002)" ap_cert
p12 POP000002-new ca-chain.pem
ca_sign ap-ca POP000099 "$(ap_subject POP000099)" ap_cert \
	-startdate 20200101000000Z -enddate 20210101000000Z
p12 POP000099 ca-chain.pem
ca_sign ap-ca ocsp "$subject_base/OU=PEPPOL TEST AP/CN=relais Test AP CA OCSP" ocsp_cert
p12 ocsp ca-chain.pem

openssl ca -config ap-ca.cnf -revoke POP000003.cert.pem -crl_reason keyCompromise
openssl ca -config ap-ca.cnf -gencrl -out ap-ca.crl.pem
openssl crl -in ap-ca.crl.pem -outform DER -out ap-ca.crl

# A second AP CA under the root, revoked by the root, and an AP certificate it issued before that.
ca_sign root-ca revoked-ap-ca "$subject_base/CN=relais Test Revoked AP CA" ca_intermediate -startdate "$ca_start"
cat revoked-ap-ca.cert.pem root-ca.cert.pem >revoked-ca-chain.pem
sign POP000777 "$(ap_subject POP000777)" revoked-ap-ca ap_cert
p12 POP000777 revoked-ca-chain.pem
openssl ca -config root-ca.cnf -revoke revoked-ap-ca.cert.pem -crl_reason cACompromise
openssl ca -config root-ca.cnf -gencrl -out root-ca.crl.pem

# A rogue root that nobody trusts.
make_root other-root-ca "$subject_base/CN=relais Other Root CA"
cp other-root-ca.cert.pem other-ca-chain.pem
sign POP000666 "$(ap_subject POP000666)" other-root-ca ap_cert
p12 POP000666 other-ca-chain.pem

# SMP CA (signed by the same root) and an SMP certificate.
ca_sign root-ca smp-ca "$subject_base/CN=relais Test SMP CA" ca_intermediate \
	-startdate "$ca_start"
cat smp-ca.cert.pem root-ca.cert.pem >smp-ca-chain.pem
sign SMP000001 "$subject_base/OU=PEPPOL TEST SMP/CN=SMP000001" smp-ca ap_cert
p12 SMP000001 smp-ca-chain.pem

rm -f ./*.srl

# HTTPS: a TLS CA issuing a server certificate for localhost, and a second TLS CA with its own
# localhost certificate (to switch to when the server reloads its key).
cat >>ext.cnf <<'EOT'

[tls_server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOT
make_root tls-ca "$subject_base/CN=relais Test TLS CA"
sign tls-server "$subject_base/CN=localhost" tls-ca tls_server
make_root tls-ca2 "$subject_base/CN=relais Test TLS CA 2"
sign tls-server2 "$subject_base/CN=localhost" tls-ca2 tls_server
rm -f ./*.srl
