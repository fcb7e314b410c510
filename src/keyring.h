/*-------------------------------------------------------------------------
 *
 * keyring.h
 *		The server-held keyring: master key, wrapped data keys, the
 *		per-backend key cache and key grants.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_KEYRING_H
#define AI_GUARD_KEYRING_H

#include "envelope.h"

/* privileges a key grant can give (bit mask) */
#define AG_PRIV_ENCRYPT			0x01
#define AG_PRIV_DECRYPT			0x02
#define AG_PRIV_PSEUDONYMIZE	0x04

/*
 * A cached data key.  Valid until the next ai_guard_key_by_*() call, which
 * may flush the cache after a rotation, a grant change or a revoke.
 */
typedef struct AgKey
{
	uint32		key_id;			/* hash key: must be first */
	char		name[64];
	ag_alg		alg;
	bool		linkable;
	uint32		current_version;
	int			ngrants;
	Oid		   *grant_roles;
	uint8	   *grant_privs;
	int			nversions;
	int			maxversions;
	struct AgKeyVersion *versions;
} AgKey;

/* GUC variables */
extern bool ai_guard_decrypt_requires_ssl;

extern void ai_guard_keyring_init(void);

extern AgKey *ai_guard_key_by_name(const char *name);
extern AgKey *ai_guard_key_by_id(uint32 key_id);
extern bool ai_guard_key_has_priv(AgKey *key, int priv);
extern void ai_guard_key_check_priv(AgKey *key, int priv);
extern ag_cipher *ai_guard_key_cipher(AgKey *key, uint32 version);
extern void ai_guard_check_decrypt_connection(void);
extern bool ai_guard_master_key_configured(void);
extern const uint8 *ai_guard_master_key_bytes(bool previous, const char **id);
extern int	ai_guard_keyring_spi(const char *sql, int nargs, Oid *types,
								 Datum *values, bool read_only);
extern int	ai_guard_keyring_spi_nulls(const char *sql, int nargs, Oid *types,
									   Datum *values, const char *nulls,
									   bool read_only);

#endif							/* AI_GUARD_KEYRING_H */
