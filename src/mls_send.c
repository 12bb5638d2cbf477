/*
 * mls_send.c - `relais serve` as C3: the Peppol Message Level Status about a received business document,
 * queued once its backend delivery is settled (spec digest section 8.1). As C2: an MLS that comes back is
 * delivered like any document and also noted against the message we sent (rl_store_mls_received), read
 * from memory or, when its bytes are not there, from the store.
 *
 * Delivered (every delivery of the message done): an AB MLS when the document's SBDH asks for positive
 * ones (MLS_TYPE ALWAYS_SEND). Failed for good: an RE MLS with status reason FD, whatever MLS_TYPE says.
 * Never about an MLS, never about a document without an SBDH, at most one per message: the MLS is
 * SBDH-wrapped and queued as an ordinary outbound message, so the sender delivers it (static route or
 * discovery) with its retries, in the same transaction as the line in the received message's history
 * that names it (rl_store_mls_queue). A crash leaves both or neither, and of two attempts at once
 * (delivery threads, instances on one database) the second finds the first's line and queues nothing.
 *
 * The delivery thread calls in only when the MLS may concern a delivered message (rl_mls_may_concern):
 * its payload in memory mentions MLS_TYPE (and mls.send is on) or names the MLS customization, or its
 * bytes are not in memory. Then the SBDH is read here once, from the bytes in memory or from the head of
 * the stored payload. Without the bytes in memory, that header decides whether the message is an MLS that
 * came back, and only then is the stored payload read further (rl_mls_read_stored, bounded): an invoice
 * delivered from memory costs no store read, one delivered from the store one head read.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/daemon.h"
#include "relais/keys.h"
#include "relais/log.h"
#include "relais/mls.h"
#include "relais/sbdh_wrap.h"

#define HEAD_MAX RL_STORE_ROW_PAYLOAD_MAX	/* bytes of a stored payload read for its SBDH */
#define MLS_FD_TEXT "The document could not be delivered to the receiver"

/* Whether the payload in memory may ask for a positive MLS: it mentions MLS_TYPE. */
static int may_be_asked(const struct rl_handoff *h)
{
	return memmem(h->payload, h->payload_len, "MLS_TYPE", 8) != NULL;
}

/* Whether the payload in memory may be an MLS: it names the MLS customization. */
static int names_mls(const struct rl_handoff *h)
{
	return memmem(h->payload, h->payload_len, RL_MLS_CUSTOMIZATION, strlen(RL_MLS_CUSTOMIZATION)) != NULL;
}

int rl_mls_may_concern(const struct rl_daemon *d, const struct rl_handoff *h)
{
	/* Without the bytes at hand the header is read from the store: it says. */
	if (h == NULL || h->payload == NULL)
		return 1;
	return names_mls(h) || (d->mls_send && may_be_asked(h));
}

/* The SBDH of the received message: 1 read, 0 none (a bare document), -1 error. */
static int read_header(struct rl_store *st, int64_t message, const struct rl_handoff *h, struct rl_sbdh *sbdh,
		       struct rl_err *err)
{
	FILE *in;
	int rc;

	if (h == NULL || h->payload == NULL)
		return rl_sbdh_read_stored(st, message, HEAD_MAX, sbdh, err);
	in = fmemopen(h->payload, h->payload_len ? h->payload_len : 1, "rb");
	if (in == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	rc = rl_sbdh_read_stream(in, "the received payload", sbdh, err);
	fclose(in);
	return rc;
}

/* The SBDH of the received message, read at most once for all that is done after its delivery. */
struct header {
	int state;		/* -2 not read yet, -1 unreadable (failure), 0 none (a bare document), 1 read into sbdh */
	struct rl_sbdh sbdh;
	struct rl_err failure;
};

/* The header: 1 read, 0 none, -1 error (the same error each time it is asked for). */
static int header_get(struct header *hd, struct rl_store *st, int64_t message, const struct rl_handoff *h,
		      struct rl_err *err)
{
	if (hd->state == -2) {
		rl_err_clear(&hd->failure);
		hd->state = read_header(st, message, h, &hd->sbdh, &hd->failure);
	}
	if (hd->state < 0)
		*err = hd->failure;
	return hd->state;
}

/* Our seat: identity.party_id, else the CN of the certificate we sign with. */
static int our_seat(struct rl_daemon *d, char *out, size_t size)
{
	struct rl_keyring *keys;
	const struct rl_identity *id;
	int rc = 0;

	if (d->party_id && d->party_id[0]) {
		snprintf(out, size, "%s", d->party_id);
		return 0;
	}
	keys = rl_daemon_keyring(d);
	id = rl_keyring_signer(keys);
	if (id == NULL || id->cert == NULL || rl_cert_cn(id->cert, out, size) == NULL)
		rc = -1;
	rl_keyring_put(d, keys);
	return rc;
}

/* Builds the MLS and its SBDH into sbd; *code says which. */
static int build(struct rl_daemon *d, const struct rl_store_message *m, const struct rl_sbdh *orig, int delivered,
		 struct rl_buf *sbd, struct rl_err *err)
{
	char seat[128], ours[64], addressee[128];
	struct rl_mls mls = { 0 };
	struct rl_buf doc = RL_BUF_INIT;
	struct rl_sbdh h;
	int rc;

	if (our_seat(d, seat, sizeof(seat)) < 0)
		return rl_err_set(err, RL_ERR_CONFIG, "our seat id is not known (identity.party_id)");
	if (rl_mls_spid_of_seat(seat, ours, sizeof(ours), err) < 0 ||
	    rl_mls_addressee(orig, m->from_party, addressee, sizeof(addressee), err) < 0)
		return -1;
	mls.sender = ours;
	mls.receiver = addressee;
	mls.reference = orig->instance_id;
	if (delivered) {
		mls.code = (char *)RL_MLS_DELIVERED;
	} else {
		mls.code = (char *)RL_MLS_REJECTED;
		mls.description = (char *)MLS_FD_TEXT;
		mls.reasons[0] = (char *)RL_MLS_REASON_DELIVERY;
		mls.nreasons = 1;
	}
	if (rl_mls_build(&mls, &doc, err) < 0)
		return -1;
	if (rl_mls_sbdh(ours, addressee, d->mls_country ? d->mls_country : "ZZ", &h, err) < 0) {
		rl_buf_free(&doc);
		return -1;
	}
	rc = rl_sbdh_wrap_mem(doc.data, doc.len, &h, sbd, err);
	rl_sbdh_free(&h);
	rl_buf_free(&doc);
	return rc;
}

/* Queues the MLS; 1 queued, 0 none due (or one queued already), -1 error. */
static int queue_mls(struct rl_daemon *d, struct rl_store *st, int64_t message, const struct rl_handoff *h,
		     struct header *hd, int delivered, char **mls_id, struct rl_err *err)
{
	struct rl_store_message m = { 0 };
	struct rl_buf sbd = RL_BUF_INIT;
	struct rl_store_submission sub = { 0 };
	int64_t row;
	int rc = -1, found;

	found = rl_store_message_get(st, message, NULL, RL_DIR_IN, &m, err);
	if (found <= 0) {
		if (found == 0)
			rl_err_set(err, RL_ERR_NOT_FOUND, "received message row %lld is gone", (long long)message);
		goto out;
	}
	/* A success counts once every delivery of the message is done; a redelivery may follow a failure. */
	if (strcmp(m.state, delivered ? "delivered" : "failed") != 0) {
		rc = 0;
		goto out;
	}
	found = header_get(hd, st, message, h, err);
	if (found <= 0) {
		rc = found;	/* a bare document: nothing to refer to */
		goto out;
	}
	if (!rl_mls_wanted(&hd->sbdh, delivered)) {
		rc = 0;
		goto out;
	}
	if (build(d, &m, &hd->sbdh, delivered, &sbd, err) < 0)
		goto out;
	sub.payload = fmemopen(sbd.data, sbd.len, "rb");
	if (sub.payload == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	sub.payload_mime_type = "application/xml";
	sub.source = "mls";
	rc = rl_store_mls_queue(st, message, delivered ? RL_MLS_DELIVERED : RL_MLS_REJECTED, &sub, &row, mls_id, err);
	fclose(sub.payload);
out:
	rl_buf_free(&sbd);
	rl_store_message_free(&m);
	return rc;
}

/* As C2: notes the MLS that came back about a document we sent (rl_store_mls_received). */
static void note(struct rl_store *st, const struct rl_store_delivery *dl, const struct rl_mls *mls)
{
	struct rl_buf detail = RL_BUF_INIT;
	struct rl_err err;
	int rc;

	for (int i = 0; i < mls->nreasons; i++)
		rl_buf_printf(&detail, "%s%s", i ? "," : "", mls->reasons[i]);
	rl_buf_printf(&detail, "%sin %s", mls->nreasons ? " " : "", dl->message_id);
	rc = detail.data ? rl_store_mls_received(st, mls->reference, mls->code, detail.data, &err) : -1;
	if (rc < 0)
		rl_log_error(dl->message_id, "Message Level Status not noted: %s",
			     detail.data ? err.msg : "out of memory");
	else if (rc == 0)
		rl_log_warn(dl->message_id, "Message Level Status %s about document %s, which was not sent from here",
			    mls->code, mls->reference);
	else
		rl_log_info(dl->message_id, "Message Level Status %s received about document %s", mls->code,
			    mls->reference);
	rl_buf_free(&detail);
}

/* A delivered message that is an MLS is noted: read from the bytes in memory when they name the MLS
 * customization, otherwise, when its stored header says it is one, from the store. Returns 1 when it was
 * an MLS (never answered with one), 0 otherwise (also a payload without a readable SBDH: no MLS), -1 when
 * the store cannot be read (logged). */
static int came_back(struct rl_store *st, const struct rl_store_delivery *dl, const struct rl_handoff *h,
		     struct header *hd)
{
	struct rl_mls mls = { 0 };
	struct rl_err err;
	int rc;

	rl_err_clear(&err);
	if (h && h->payload) {
		if (!names_mls(h))
			return 0;
		rc = rl_mls_read_mem(h->payload, h->payload_len, &mls, &err);
	} else {
		rc = header_get(hd, st, dl->message, NULL, &err);
		if (rc < 0 && !rl_err_is_ebms(err.code)) {
			rl_log_error(dl->message_id, "the stored payload cannot be read for the Message Level Status: %s",
				     err.msg);
			return -1;
		}
		if (rc <= 0 || !rl_mls_is_mls(&hd->sbdh))
			return 0;
		rc = rl_mls_read_stored(st, dl->message, RL_MLS_STORED_MAX, &mls, &err);
	}
	if (rc < 0)
		rl_log_warn(dl->message_id, "a Message Level Status that cannot be read: %s", err.msg);
	else
		note(st, dl, &mls);
	rl_mls_free(&mls);
	/* In memory, only what reads as an MLS is one: the customization may be named in another document. */
	return h && h->payload ? rc == 0 : 1;
}

void rl_mls_after_delivery(struct rl_daemon *d, struct rl_store *st, const struct rl_store_delivery *dl,
			   const struct rl_handoff *h, int delivered)
{
	struct header hd = { .state = -2 };
	struct rl_err err;
	char *mls_id = NULL;
	int rc;

	if (delivered && came_back(st, dl, h, &hd) != 0)
		goto out;
	if (!d->mls_send || (delivered && h && h->payload && !may_be_asked(h)))
		goto out;
	rl_err_clear(&err);
	rc = queue_mls(d, st, dl->message, h, &hd, delivered, &mls_id, &err);
	if (rc < 0)
		rl_log_error(dl->message_id, "no Message Level Status sent: %s", err.msg);
	else if (rc == 1)
		rl_log_info(dl->message_id, "Message Level Status %s queued as %s", delivered ? RL_MLS_DELIVERED :
			    RL_MLS_REJECTED, mls_id);
out:
	rl_sbdh_free(&hd.sbdh);
	free(mls_id);
}
