/*-------------------------------------------------------------------------
 *
 * crypto_sql.h
 *		Column encryption and keyed pseudonyms: initialisation entry point.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_CRYPTO_SQL_H
#define AI_GUARD_CRYPTO_SQL_H

/* defines the keyring GUCs and registers the key cache invalidation */
extern void ai_guard_crypto_init(void);

#endif							/* AI_GUARD_CRYPTO_SQL_H */
