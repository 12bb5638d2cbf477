/*
 * wss_enc_refs.h - the encryption structure of a wsse:Security header, checked before anything is
 * decrypted: the one xenc:EncryptedKey declares, in its xenc:ReferenceList, every xenc:EncryptedData
 * its key opens (Peppol AS4 encrypts every payload with one key), and nothing else declares any.
 */
#ifndef RELAIS_WSS_ENC_REFS_H
#define RELAIS_WSS_ENC_REFS_H

#include <libxml/tree.h>
#include "relais/err.h"

/* Most EncryptedData (and DataReference) one header may hold; more is refused before any id lookup. */
#define RL_WSS_MAX_ENCRYPTED_DATA 64

/*
 * Cross-checks the encryption elements of `security` (the whole subtree) and refuses, with a one-line
 * message naming the element or id:
 *
 * EBMS:0103 PolicyNoncompliance - a layout WS-Security / XML Encryption allows and Peppol AS4 does not
 * use (one EncryptedKey directly in the header, carrying the header's only ReferenceList, each
 * EncryptedData directly in the header and naming that key), checked first:
 * - more than one EncryptedKey, or one not directly in the header (e.g. inside an EncryptedData's KeyInfo);
 * - any ReferenceList but the EncryptedKey's: a standalone one directly in wsse:Security (also when it
 *   lists the same ids, then named as a DataReference in two lists), a second one in the EncryptedKey,
 *   one nested anywhere else;
 * - an EncryptedData not directly in the header;
 * - an xenc:KeyReference in the ReferenceList;
 * - an EncryptedData whose ds:KeyInfo is not one wsse:SecurityTokenReference holding one wsse:Reference
 *   (a KeyName, an embedded key, a KeyIdentifier, an empty or a second KeyInfo).
 *
 * EBMS:0102 FailedDecryption - the references themselves do not hold:
 * - EncryptedData without an EncryptedKey; an EncryptedKey with no ReferenceList or an empty one (also
 *   when nothing is encrypted: a key that decrypts nothing);
 * - a ReferenceList entry that is not an XML Encryption reference, a DataReference URI that is not "#id"
 *   (absent, empty, "#", cid:, http:...), an id named twice;
 * - a DataReference whose id no element carries (dangling), that more than one element carries
 *   (duplicated EncryptedData ids, or another element claiming the id: wrapping), or that names
 *   something other than an EncryptedData directly in `security`;
 * - an EncryptedData that no DataReference names;
 * - an EncryptedData whose wsse:Reference names something other than the EncryptedKey.
 *
 * Elements outside `security` are never read as encryption structure. Returns 0 when the structure is
 * consistent, also when nothing is encrypted (no EncryptedKey, no EncryptedData, no ReferenceList).
 * Reads only; owns nothing.
 */
int rl_wss_check_encryption_refs(xmlNodePtr security, struct rl_err *err);

#endif
