/* bench_util.h - what every benchmark program measures with: a monotonic clock and its own peak memory;
 * and the invoice they send. */
#ifndef RELAIS_BENCH_UTIL_H
#define RELAIS_BENCH_UTIL_H

#include <sys/resource.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's peak resident memory, KiB. */
static inline long bench_peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* The start of the SBD every benchmark sends, up to the opened UBL Invoice (cbc: declared), with the
 * instance identifier `id` (a string literal, or a printf conversion such as "%s-%d"). */
#define BENCH_SBD_HEAD(id) \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<StandardBusinessDocument xmlns=\"http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader\">" \
	"<StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion>" \
	"<Sender><Identifier Authority=\"iso6523-actorid-upis\">0088:5798000000001</Identifier></Sender>" \
	"<Receiver><Identifier Authority=\"iso6523-actorid-upis\">0088:5798000000002</Identifier></Receiver>" \
	"<DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard>" \
	"<TypeVersion>2.1</TypeVersion><InstanceIdentifier>" id "</InstanceIdentifier><Type>Invoice</Type>" \
	"<CreationDateAndTime>2026-11-23T10:00:00Z</CreationDateAndTime></DocumentIdentification>" \
	"<BusinessScope><Scope><Type>DOCUMENTID</Type><InstanceIdentifier>urn:oasis:names:specification:ubl:" \
	"schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:" \
	"3.0::2.1</InstanceIdentifier><Identifier>busdox-docid-qns</Identifier></Scope><Scope><Type>PROCESSID" \
	"</Type><InstanceIdentifier>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</InstanceIdentifier><Identifier>" \
	"cenbii-procid-ubl</Identifier></Scope><Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>BE" \
	"</InstanceIdentifier></Scope></BusinessScope></StandardBusinessDocumentHeader>\n" \
	"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\" " \
	"xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">"

#endif
