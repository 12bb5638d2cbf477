/*
 * keys_config.c - the identity set (current and next key, the switch time) and the trust store with its
 * revocation checker, loaded from the configuration (see keys_config.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "relais/keys_config.h"
#include "relais/revocation.h"

/* Loads one identity from a PEM pair or a keystore; `which` names it in errors ("identity", ...). */
static int load_one(struct rl_identity *id, const char *key, const char *cert, const char *keystore,
		    const char *password, const char *which, const char *hint, struct rl_err *err)
{
	int rc;

	if (*keystore)
		rc = rl_identity_load_p12(id, keystore, password, err);
	else if (*key && *cert)
		rc = rl_identity_load_pem(id, key, cert, NULL, err);
	else
		return rl_err_set(err, RL_ERR_CONFIG, "%s: set %s", which, hint);
	if (rc < 0) {
		err->code = RL_ERR_CONFIG;
		return rl_err_prefix(err, "%s", which);
	}
	return 0;
}

static void fill_all(struct rl_identity_set *set)
{
	set->count = 0;
	set->all[set->count++] = &set->current;
	if (set->has_next)
		set->all[set->count++] = &set->next;
}

int rl_identity_set_load_config(struct rl_identity_set *set, const struct rl_config *cfg, struct rl_err *err)
{
	const char *switch_at = rl_config_str(cfg, RL_CFG_IDENTITY_SWITCH_AT);
	const char *next_key = rl_config_str(cfg, RL_CFG_IDENTITY_NEXT_KEY);
	const char *next_cert = rl_config_str(cfg, RL_CFG_IDENTITY_NEXT_CERT);
	const char *next_keystore = rl_config_str(cfg, RL_CFG_IDENTITY_NEXT_KEYSTORE);

	memset(set, 0, sizeof(*set));
	if (load_one(&set->current, rl_config_str(cfg, RL_CFG_IDENTITY_KEY), rl_config_str(cfg, RL_CFG_IDENTITY_CERT),
		     rl_config_str(cfg, RL_CFG_IDENTITY_KEYSTORE), rl_config_str(cfg, RL_CFG_IDENTITY_PASSWORD),
		     "identity", "identity.keystore, or identity.key and identity.cert", err) < 0)
		return -1;
	if (*next_key || *next_cert || *next_keystore) {
		if (load_one(&set->next, next_key, next_cert, next_keystore,
			     rl_config_str(cfg, RL_CFG_IDENTITY_NEXT_PASSWORD), "identity.next",
			     "identity.next_keystore, or identity.next_key and identity.next_cert", err) < 0) {
			rl_identity_set_free(set);
			return -1;
		}
		set->has_next = 1;
	}
	if (*switch_at) {
		set->switch_at = rl_parse_datetime(switch_at);
		if (set->switch_at == (time_t)-1 || !set->has_next) {
			rl_identity_set_free(set);
			return rl_err_set(err, RL_ERR_CONFIG, set->has_next ?
					  "identity.switch_at: '%s' is not a date-time" :
					  "identity.switch_at: '%s' is set without a second identity", switch_at);
		}
	}
	fill_all(set);
	return 0;
}

void rl_identity_set_adopt(struct rl_identity_set *set, struct rl_identity *id)
{
	memset(set, 0, sizeof(*set));
	set->current = *id;
	memset(id, 0, sizeof(*id));
	fill_all(set);
}

void rl_identity_set_free(struct rl_identity_set *set)
{
	if (!set)
		return;
	rl_identity_free(&set->current);
	rl_identity_free(&set->next);
	memset(set, 0, sizeof(*set));
}

const struct rl_identity *rl_identity_set_signing(const struct rl_identity_set *set, time_t now)
{
	if (set->has_next && set->switch_at != 0 && now >= set->switch_at)
		return &set->next;
	return &set->current;
}

const struct rl_identity *const *rl_identity_set_all(const struct rl_identity_set *set, int *count)
{
	*count = set->count;
	return set->all;
}

struct rl_trust *rl_trust_load_config(const struct rl_config *cfg, const char *anchors_path, struct rl_err *err)
{
	enum rl_revocation_policy policy;
	struct rl_revocation *rev;
	struct rl_trust *trust;
	char *list, *save = NULL;

	if (!anchors_path)
		anchors_path = rl_config_str(cfg, RL_CFG_TRUST_ANCHORS);
	if (!*anchors_path) {
		rl_err_set(err, RL_ERR_CONFIG, "trust.anchors is not set");
		return NULL;
	}
	if (rl_revocation_parse_policy(rl_config_str(cfg, RL_CFG_TRUST_REVOCATION), &policy) < 0) {
		rl_err_set(err, RL_ERR_CONFIG, "trust.revocation: '%s' is not one of hard, soft, off",
			   rl_config_str(cfg, RL_CFG_TRUST_REVOCATION));
		return NULL;
	}
	if (!(trust = rl_trust_load(anchors_path, err))) {
		err->code = RL_ERR_CONFIG;
		rl_err_prefix(err, "trust.anchors");
		return NULL;
	}
	if (policy == RL_REVOCATION_OFF)
		return trust;
	if (!(rev = rl_revocation_new(policy, err))) {
		rl_trust_free(trust);
		return NULL;
	}
	rl_trust_set_revocation(trust, rev);
	rl_revocation_set_timeout(rev, (int)rl_config_duration_seconds(cfg, RL_CFG_TRUST_OCSP_TIMEOUT));
	rl_revocation_set_crl_download(rev, rl_config_bool(cfg, RL_CFG_TRUST_CRL_DOWNLOAD));
	if (rl_revocation_set_ocsp_url(rev, rl_config_str(cfg, RL_CFG_TRUST_OCSP_URL), err) < 0) {
		rl_trust_free(trust);
		return NULL;
	}
	if (!(list = strdup(rl_config_str(cfg, RL_CFG_TRUST_CRLS)))) {
		rl_trust_free(trust);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (char *path = strtok_r(list, " ,\t", &save); path; path = strtok_r(NULL, " ,\t", &save))
		if (rl_revocation_add_crl_file(rev, path, err) < 0) {
			rl_err_prefix(err, "trust.crls");
			free(list);
			rl_trust_free(trust);
			return NULL;
		}
	free(list);
	return trust;
}
