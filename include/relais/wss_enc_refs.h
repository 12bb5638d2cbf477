/*
 * wss_enc_refs.h - the encryption structure of a wsse:Security header, checked before anything is
 * decrypted: the one xenc:EncryptedKey declares, in its xenc:ReferenceList, every xenc:EncryptedData
 * its key opens (Peppol AS4 encrypts every payload with one key), and nothing else.
 */
#ifndef RELAIS_WSS_ENC_REFS_H
#define RELAIS_WSS_ENC_REFS_H

#include <libxml/tree.h>
#include "relais/err.h"

/* Most EncryptedData (and DataReference) one header may hold; more is refused before any id lookup. */
#define RL_WSS_MAX_ENCRYPTED_DATA 64

/*
 * Cross-checks the xenc:EncryptedKey and the xenc:EncryptedData children of `security` (the caller has
 * made sure there is at most one EncryptedKey). Refused with EBMS:0102 and a message naming the id:
 * - EncryptedData without an EncryptedKey;
 * - an EncryptedKey with no ReferenceList, or an empty one, while EncryptedData exist;
 * - a ReferenceList entry other than xenc:DataReference, a URI that is not "#id", an id named twice;
 * - a DataReference whose id no element carries (dangling), that more than one element carries
 *   (duplicated EncryptedData ids, or another element claiming the id: wrapping), or that names
 *   something other than an EncryptedData directly in `security`;
 * - an EncryptedData that no DataReference names;
 * - an EncryptedData whose ds:KeyInfo refers (wsse:Reference URI="#id") to something other than the
 *   EncryptedKey.
 * Returns 0 when the structure is consistent, also when nothing is encrypted. Reads only; owns nothing.
 */
int rl_wss_check_encryption_refs(xmlNodePtr security, struct rl_err *err);

#endif
