/*
 * keys_config.h - our identities and the trust store as the configuration describes them.
 *
 * An identity set holds the current identity (identity.key/cert or identity.keystore) and, during a key
 * rollover, a second one (identity.next_*). Before identity.switch_at we sign with the current identity,
 * from then on with the second; without identity.switch_at the second one never signs and is kept only
 * to decrypt (the previous key after a renewal). Receiving always accepts both: the unpacker takes
 * rl_identity_set_all() and uses the one the EncryptedKey names.
 * A set is loaded whole or not at all, so a daemon can load a new one on SIGHUP and swap it in (swap
 * pointers: a set is not copied, `all` points into it).
 */
#ifndef RELAIS_KEYS_CONFIG_H
#define RELAIS_KEYS_CONFIG_H

#include <time.h>
#include "relais/config.h"
#include "relais/err.h"
#include "relais/keys.h"

#define RL_IDENTITY_SET_MAX 2

struct rl_identity_set {
	struct rl_identity current;
	struct rl_identity next;		/* valid when has_next */
	int has_next;
	time_t switch_at;			/* 0 = the next identity never signs */
	const struct rl_identity *all[RL_IDENTITY_SET_MAX];	/* current, then next */
	int count;
};

/* Loads identity.* from cfg into set (which the caller frees with rl_identity_set_free()). A missing
 * current identity, a file that cannot be read or a key that does not match its certificate is
 * RL_ERR_CONFIG naming the key. On failure set holds nothing. */
int rl_identity_set_load_config(struct rl_identity_set *set, const struct rl_config *cfg, struct rl_err *err);
/* Makes a set of one identity, which it takes over (id is emptied). */
void rl_identity_set_adopt(struct rl_identity_set *set, struct rl_identity *id);
void rl_identity_set_free(struct rl_identity_set *set);
/* The identity that signs at `now` (current before switch_at, next from then on). Never NULL for a
 * loaded set. */
const struct rl_identity *rl_identity_set_signing(const struct rl_identity_set *set, time_t now);
/* Every identity that may decrypt, for rl_as4_unpack_opts.identities. */
const struct rl_identity *const *rl_identity_set_all(const struct rl_identity_set *set, int *count);

/* The trust store of trust.anchors with the revocation checker of trust.revocation, trust.crls,
 * trust.ocsp_url and trust.ocsp_timeout attached. anchors_path overrides trust.anchors when not NULL.
 * RL_ERR_CONFIG when no anchors are configured or a file cannot be read. */
struct rl_trust *rl_trust_load_config(const struct rl_config *cfg, const char *anchors_path, struct rl_err *err);

#endif
