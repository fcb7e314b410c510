/*-------------------------------------------------------------------------
 *
 * audit_keys.h
 *		The keys that bind the audit chain: a chain key (HMAC-SHA-256 of each
 *		entry) and an Ed25519 signing key (of chain heads), both derived
 *		from the master key and the database's audit identity.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_AUDIT_KEYS_H
#define AI_GUARD_AUDIT_KEYS_H

#include "sign.h"

#define AG_CHAIN_KEY_ID_LEN		16	/* hex digits */
#define AG_CHAIN_MAC_HEX_LEN	64

typedef struct AgChainKey
{
	char		key_id[AG_CHAIN_KEY_ID_LEN + 1];
	char		public_key[2 * AG_ED25519_PUBLIC_LEN + 1];
} AgChainKey;

/*
 * The keys of the current master key (previous: of the previous master key,
 * NULL when none is configured) for a database identity.  Errors if no
 * master key is configured.  Valid until the next call for the same key.
 */
extern const AgChainKey *ai_guard_chain_key(const char *database_id, bool previous);

/* The held keys (current or previous master key) with this id, or NULL. */
extern const AgChainKey *ai_guard_chain_key_by_id(const char *database_id,
												  const char *key_id);

/* The MAC of a chain entry, given its record hash (hex), as hex. */
extern void ai_guard_chain_mac(const AgChainKey *key, const char *record_hash,
							   char out[AG_CHAIN_MAC_HEX_LEN + 1]);

/* Whether an entry's MAC (hex) is that of its record hash (constant time). */
extern bool ai_guard_chain_mac_verifies(const AgChainKey *key, const char *record_hash,
										const char *mac);

#endif							/* AI_GUARD_AUDIT_KEYS_H */
