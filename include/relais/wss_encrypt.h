/*
 * wss_encrypt.h - reading a WS-Security xenc:EncryptedKey: whose key it was encrypted for, and the AES
 * key inside it. (Encrypting is done where the message is built, in as4_pack.c.)
 */
#ifndef RELAIS_WSS_ENCRYPT_H
#define RELAIS_WSS_ENCRYPT_H

#include <stddef.h>
#include <libxml/tree.h>
#include "relais/crypto.h"
#include "relais/err.h"
#include "relais/keys.h"

/* The identity among ids[0..n) that the EncryptedKey's KeyInfo names; NULL with EBMS:0102 saying whom
 * it was encrypted for otherwise. */
const struct rl_identity *rl_wss_key_owner(xmlNodePtr encrypted_key, const struct rl_identity *const *ids, int n,
					   struct rl_err *err);
/* Checks the key transport algorithm against the policy (EBMS:0103), finds the owner and unwraps the
 * 128-bit AES key into key_out (EBMS:0102 on failure). algorithm receives a short description
 * ("rsa-oaep(sha256,mgf1sha256)"). */
int rl_wss_unwrap_key(xmlNodePtr encrypted_key, const struct rl_identity *const *ids, int n, int allow_non_peppol,
		      unsigned char key_out[RL_AES128_KEY_LEN], char *algorithm, size_t algorithm_size,
		      struct rl_err *err);

#endif
