/*-------------------------------------------------------------------------
 *
 * keyring.c
 *		The server-held keyring of ai_guard.
 *
 * The master key comes from ai_guard.master_key_file (64 hex digits in a
 * file only the server user can read) or ai_guard.master_key_command (a
 * shell command that prints them: the hook for a KMS).  It is read lazily
 * by each backend, kept in process memory and wiped at exit; no SQL function
 * returns it, and no message shows it.
 *
 * Data keys are random, wrapped (AES-256-GCM) by the master key with their
 * name, algorithm and version as associated data, and stored in
 * ai_guard.key_versions.  Each backend caches the unwrapped keys with their
 * keyed cipher contexts and the key's grants.  Any change to the key tables
 * (rotation, grant, revoke, rewrap, restore) fires a statement trigger that
 * sends a relcache invalidation for the table; every backend's callback then
 * flushes its cache before the next use, so a revoke is seen by sessions
 * that are already open, from their next transaction on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
/*
 * libpq-be.h pulls in the GSSAPI headers when the server was built with
 * GSSAPI; we only read Port fields, whose layout does not depend on it (the
 * header keeps a void pointer in place of the GSSAPI state).
 */
#undef ENABLE_GSS
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "envelope.h"
#include "ai_guard.h"
#include "keyring.h"

/*---- GUC variables ----*/

static char *master_key_file = NULL;
static char *master_key_command = NULL;
static char *previous_master_key_file = NULL;
bool		ai_guard_decrypt_requires_ssl = false;

/*---- master keys (process memory, wiped at exit) ----*/

typedef struct MasterKey
{
	bool		loaded;
	uint8		key[AG_MASTER_KEY_LEN];
	char		id[17];			/* fingerprint: HMAC of a fixed label */
} MasterKey;

static MasterKey master;
static MasterKey previous_master;
static bool exit_hook_registered = false;

/*---- the key cache ----*/

typedef struct AgKeyVersion
{
	uint32		version;
	ag_cipher  *cipher;
} AgKeyVersion;

typedef struct KeyNameEntry
{
	char		name[64];		/* hash key */
	uint32		key_id;
} KeyNameEntry;

static MemoryContext KeyCacheContext = NULL;
static HTAB *keys_by_id = NULL;
static HTAB *keys_by_name = NULL;

/* bumped by invalidations; the cache is flushed when it moves */
static uint64 inval_generation = 0;
static uint64 cache_generation = 0;

/* the key tables, resolved lazily */
static Oid	keys_relid = InvalidOid;
static Oid	versions_relid = InvalidOid;
static Oid	grants_relid = InvalidOid;
static Oid	keyring_owner = InvalidOid;

#define KEY_NAME_MAX 63

/*---- master key ----*/

static void
wipe_master_keys(void)
{
	ag_wipe(&master, sizeof(master));
	ag_wipe(&previous_master, sizeof(previous_master));
}

static void flush_key_cache(void);

static void
keyring_exit(int code, Datum arg)
{
	flush_key_cache();
	wipe_master_keys();
}

static void
assign_master_key_setting(const char *newval, void *extra)
{
	/* re-read at next use; cached data keys may belong to the old key */
	master.loaded = false;
	ag_wipe(master.key, sizeof(master.key));
	inval_generation++;
}

static void
assign_previous_key_setting(const char *newval, void *extra)
{
	previous_master.loaded = false;
	ag_wipe(previous_master.key, sizeof(previous_master.key));
}

/*
 * Reads a key file, refusing it unless it is a regular file owned by the
 * server user with no group or world access (the ssl_key_file rule).  The
 * GUC name is used in messages; the file contents never are.
 */
static void
read_key_file(const char *guc, const char *path, uint8 out[AG_MASTER_KEY_LEN])
{
	struct stat st;
	char		buf[256];
	int			fd;
	ssize_t		n;
	size_t		total = 0;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open key file \"%s\" named by \"%s\": %m",
						path, guc)));
	if (fstat(fd, &st) != 0)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat key file \"%s\": %m", path)));
	}
	if (!S_ISREG(st.st_mode))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" is not a regular file", path)));
	}
	if (st.st_uid != geteuid())
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" must be owned by the database user", path),
				 errhint("Run: chown postgres \"%s\" (as the user the server runs as).", path)));
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" has group or world access", path),
				 errdetail("The file must have permissions u=rw (0600) or less."),
				 errhint("Run: chmod 0600 \"%s\".", path)));
	}
	while (total < sizeof(buf) &&
		   (n = read(fd, buf + total, sizeof(buf) - total)) > 0)
		total += n;
	CloseTransientFile(fd);

	if (!ag_parse_hex_key(buf, total, out))
	{
		ag_wipe(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" does not contain a valid key", path),
				 errdetail("The file must contain exactly 64 hexadecimal digits (a 256-bit key)."),
				 errhint("Create one with: openssl rand -hex 32 > \"%s\"", path)));
	}
	ag_wipe(buf, sizeof(buf));
}

static void
read_key_command(const char *command, uint8 out[AG_MASTER_KEY_LEN])
{
	FILE	   *fh;
	char		buf[256];
	size_t		total = 0;
	size_t		n;
	int			rc;

	fh = OpenPipeStream(command, "r");
	if (fh == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not run \"ai_guard.master_key_command\": %m")));
	while (total < sizeof(buf) &&
		   (n = fread(buf + total, 1, sizeof(buf) - total, fh)) > 0)
		total += n;
	/* drain the rest, so the command is not killed by SIGPIPE */
	if (total == sizeof(buf))
	{
		char		sink[256];

		while (fread(sink, 1, sizeof(sink), fh) > 0)
			;
		ag_wipe(sink, sizeof(sink));
	}
	rc = ClosePipeStream(fh);
	if (rc != 0)
	{
		ag_wipe(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("\"ai_guard.master_key_command\" failed"),
				 errdetail("%s", wait_result_to_str(rc))));
	}
	if (!ag_parse_hex_key(buf, total, out))
	{
		ag_wipe(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("\"ai_guard.master_key_command\" did not print a valid key"),
				 errdetail("The command must print exactly 64 hexadecimal digits (a 256-bit key).")));
	}
	ag_wipe(buf, sizeof(buf));
}

static void
register_exit_hook(void)
{
	if (!exit_hook_registered)
	{
		on_proc_exit(keyring_exit, (Datum) 0);
		/* keep the master keys out of swap where the OS allows it */
		(void) mlock(&master, sizeof(master));
		(void) mlock(&previous_master, sizeof(previous_master));
		exit_hook_registered = true;
	}
}

/* Loads the master key if needed; raises a clear error when none is set. */
static MasterKey *
get_master_key(void)
{
	bool		have_file = master_key_file && master_key_file[0] != '\0';
	bool		have_cmd = master_key_command && master_key_command[0] != '\0';

	if (master.loaded)
		return &master;
	if (!have_file && !have_cmd)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no master key is configured"),
				 errhint("Set \"ai_guard.master_key_file\" or \"ai_guard.master_key_command\" in postgresql.conf and reload the configuration.")));
	if (have_file && have_cmd)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("both \"ai_guard.master_key_file\" and \"ai_guard.master_key_command\" are set"),
				 errhint("Set only one of them.")));
	register_exit_hook();
	if (have_file)
		read_key_file("ai_guard.master_key_file", master_key_file, master.key);
	else
		read_key_command(master_key_command, master.key);
	if (ag_master_key_id(master.key, master.id) != AG_OK)
	{
		ag_wipe(&master, sizeof(master));
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not derive the master key identifier")));
	}
	master.loaded = true;
	return &master;
}

static MasterKey *
get_previous_master_key(void)
{
	if (previous_master.loaded)
		return &previous_master;
	if (previous_master_key_file == NULL || previous_master_key_file[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("\"ai_guard.previous_master_key_file\" is not set"),
				 errhint("Point it at the old master key file, reload the configuration and run ai_guard.rewrap_keys() again.")));
	register_exit_hook();
	read_key_file("ai_guard.previous_master_key_file", previous_master_key_file,
				  previous_master.key);
	if (ag_master_key_id(previous_master.key, previous_master.id) != AG_OK)
	{
		ag_wipe(&previous_master, sizeof(previous_master));
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not derive the master key identifier")));
	}
	previous_master.loaded = true;
	return &previous_master;
}

/* Whether a master key is configured (it may still fail to load). */
bool
ai_guard_master_key_configured(void)
{
	return (master_key_file && master_key_file[0] != '\0') ||
		(master_key_command && master_key_command[0] != '\0');
}

/*
 * The master key's bytes and fingerprint, for keys derived from it
 * (audit_keys.c); the bytes stay in this file's locked memory.  The current
 * key raises an error when none is configured; the previous one is NULL when
 * ai_guard.previous_master_key_file is not set.
 */
const uint8 *
ai_guard_master_key_bytes(bool previous, const char **id)
{
	MasterKey  *mk;

	if (previous && (previous_master_key_file == NULL || previous_master_key_file[0] == '\0'))
		return NULL;
	mk = previous ? get_previous_master_key() : get_master_key();
	*id = mk->id;
	return mk->key;
}

/* The associated data that binds a wrapped key to its identity. */
static size_t
wrap_aad(uint8 *buf, const char *name, ag_alg alg, uint32 version)
{
	static const char label[] = "ai_guard data key v1";
	const char *algname = ag_alg_name(alg);
	size_t		n = 0;

	memcpy(buf + n, label, sizeof(label));	/* with its NUL */
	n += sizeof(label);
	memcpy(buf + n, name, strlen(name) + 1);
	n += strlen(name) + 1;
	memcpy(buf + n, algname, strlen(algname) + 1);
	n += strlen(algname) + 1;
	buf[n++] = (uint8) (version >> 24);
	buf[n++] = (uint8) (version >> 16);
	buf[n++] = (uint8) (version >> 8);
	buf[n++] = (uint8) version;
	return n;
}

#define WRAP_AAD_MAX 128

/* Generates a data key and returns it wrapped (palloc'd bytea). */
static bytea *
new_wrapped_key(const char *name, ag_alg alg, uint32 version, MasterKey *mk)
{
	uint8		key[AG_MAX_KEY_LEN];
	uint8		aad[WRAP_AAD_MAX];
	size_t		klen = ag_alg_key_len(alg);
	size_t		aadlen = wrap_aad(aad, name, alg, version);
	bytea	   *out = palloc(VARHDRSZ + AG_WRAP_OVERHEAD + AG_MAX_KEY_LEN);
	size_t		outlen;
	ag_status	st;

	st = ag_random_bytes(key, klen);
	if (st == AG_OK)
		st = ag_wrap_key(mk->key, aad, aadlen, key, klen,
						 (uint8 *) VARDATA(out), AG_WRAP_OVERHEAD + AG_MAX_KEY_LEN,
						 &outlen);
	ag_wipe(key, sizeof(key));
	if (st != AG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a data key: %s", ag_status_message(st))));
	SET_VARSIZE(out, VARHDRSZ + outlen);
	return out;
}

/*---- key tables ----*/

static void
resolve_key_tables(void)
{
	Oid			nsp;
	HeapTuple	tup;

	if (OidIsValid(keys_relid))
		return;
	nsp = get_namespace_oid("ai_guard", false);
	keys_relid = get_relname_relid("keys", nsp);
	versions_relid = get_relname_relid("key_versions", nsp);
	grants_relid = get_relname_relid("key_grants", nsp);
	if (!OidIsValid(keys_relid) || !OidIsValid(versions_relid) ||
		!OidIsValid(grants_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the ai_guard key tables do not exist"),
				 errhint("Run CREATE EXTENSION ai_guard.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(keys_relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", keys_relid);
	keyring_owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
}

/*
 * Runs a statement on the key tables as their owner: callers hold no
 * privileges on them, and must not need any.
 */
int
ai_guard_keyring_spi(const char *sql, int nargs, Oid *types, Datum *values,
			 bool read_only)
{
	return ai_guard_keyring_spi_nulls(sql, nargs, types, values, NULL, read_only);
}

int
ai_guard_keyring_spi_nulls(const char *sql, int nargs, Oid *types,
						   Datum *values, const char *nulls, bool read_only)
{
	AgOwnerContext octx;
	int			ret;

	resolve_key_tables();
	/* owner's rights, search_path pinned (ai_guard_become_owner) */
	ai_guard_become_owner(keyring_owner, &octx);
	PG_TRY();
	{
		ret = SPI_execute_with_args(sql, nargs, types, values, nulls,
									read_only, 0);
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&octx);
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	return ret;
}

#define spi_as_owner ai_guard_keyring_spi

static Datum
spi_value(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
						 col, isnull);
}

/*---- the key cache ----*/

static void
keyring_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == keys_relid ||
		relid == versions_relid || relid == grants_relid)
		inval_generation++;
}

static void
flush_key_cache(void)
{
	if (keys_by_id != NULL)
	{
		HASH_SEQ_STATUS status;
		AgKey	   *key;

		hash_seq_init(&status, keys_by_id);
		while ((key = hash_seq_search(&status)) != NULL)
		{
			int			i;

			for (i = 0; i < key->nversions; i++)
				ag_cipher_free(key->versions[i].cipher);
			key->nversions = 0;
		}
	}
	keys_by_id = NULL;
	keys_by_name = NULL;
	if (KeyCacheContext != NULL)
		MemoryContextReset(KeyCacheContext);
	/* the tables may have been dropped and created again */
	keys_relid = versions_relid = grants_relid = keyring_owner = InvalidOid;
}

static void
ensure_cache(void)
{
	HASHCTL		ctl;

	if (cache_generation != inval_generation)
	{
		flush_key_cache();
		cache_generation = inval_generation;
	}
	if (keys_by_id != NULL)
		return;
	if (KeyCacheContext == NULL)
		KeyCacheContext = AllocSetContextCreate(TopMemoryContext,
												"ai_guard key cache",
												ALLOCSET_SMALL_SIZES);
	register_exit_hook();

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(AgKey);
	ctl.hcxt = KeyCacheContext;
	keys_by_id = hash_create("ai_guard keys by id", 16, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = 64;
	ctl.entrysize = sizeof(KeyNameEntry);
	ctl.hcxt = KeyCacheContext;
	keys_by_name = hash_create("ai_guard keys by name", 16, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static void
check_key_name(const char *name)
{
	size_t		len = strlen(name);
	size_t		i;

	if (len == 0 || len > KEY_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key name must be 1 to %d characters long", KEY_NAME_MAX)));
	for (i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid key name"),
					 errdetail("A key name may contain only letters, digits, \"_\", \"-\" and \".\".")));
	}
}

/* Loads a key's row and grants from the tables; NULL if there is none. */
static AgKey *
load_key(const char *name, uint32 key_id)
{
	Oid			types[1];
	Datum		values[1];
	bool		isnull;
	bool		found;
	AgKey	   *key;
	uint32		id;
	char	   *kname;
	char	   *algname;
	KeyNameEntry *ne;
	uint64		i;
	ag_alg		alg;
	bool		linkable;
	uint32		current_version;
	int			ngrants;
	Oid		   *grant_roles;
	uint8	   *grant_privs;

	SPI_connect();
	if (name != NULL)
	{
		types[0] = TEXTOID;
		values[0] = CStringGetTextDatum(name);
		spi_as_owner("SELECT key_id, name, algorithm, linkable, current_version"
					 " FROM ai_guard.keys WHERE name = $1",
					 1, types, values, true);
	}
	else
	{
		types[0] = INT4OID;
		values[0] = Int32GetDatum((int32) key_id);
		spi_as_owner("SELECT key_id, name, algorithm, linkable, current_version"
					 " FROM ai_guard.keys WHERE key_id = $1",
					 1, types, values, true);
	}
	if (SPI_processed == 0)
	{
		SPI_finish();
		return NULL;
	}
	id = (uint32) DatumGetInt32(spi_value(0, 1, &isnull));
	kname = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	algname = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	alg = ag_alg_from_name(algname);
	linkable = DatumGetBool(spi_value(0, 4, &isnull));
	current_version = (uint32) DatumGetInt32(spi_value(0, 5, &isnull));
	if (alg == AG_ALG_NONE)
		elog(ERROR, "key \"%s\" has an unknown algorithm", kname);

	types[0] = INT4OID;
	values[0] = Int32GetDatum((int32) id);
	spi_as_owner("SELECT grantee::pg_catalog.oid, privilege FROM ai_guard.key_grants"
				 " WHERE key_id = $1",
				 1, types, values, true);
	ngrants = (int) SPI_processed;
	grant_roles = MemoryContextAlloc(KeyCacheContext, sizeof(Oid) * (ngrants + 1));
	grant_privs = MemoryContextAlloc(KeyCacheContext, ngrants + 1);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *priv = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		grant_roles[i] = DatumGetObjectId(spi_value(i, 1, &isnull));
		grant_privs[i] = strcmp(priv, "encrypt") == 0 ? AG_PRIV_ENCRYPT :
			strcmp(priv, "decrypt") == 0 ? AG_PRIV_DECRYPT :
			strcmp(priv, "pseudonymize") == 0 ? AG_PRIV_PSEUDONYMIZE : 0;
	}

	/*
	 * Published only now, complete: an error above (a cancel, a timeout)
	 * must not leave an entry whose grants were never read.
	 */
	key = hash_search(keys_by_id, &id, HASH_ENTER, &found);
	if (!found)
	{
		key->nversions = 0;
		key->maxversions = 0;
		key->versions = NULL;
	}
	strlcpy(key->name, kname, sizeof(key->name));
	key->alg = alg;
	key->linkable = linkable;
	key->current_version = current_version;
	key->ngrants = ngrants;
	key->grant_roles = grant_roles;
	key->grant_privs = grant_privs;

	ne = hash_search(keys_by_name, key->name, HASH_ENTER, &found);
	ne->key_id = id;
	SPI_finish();
	return key;
}

/*
 * Looks a key up by name; ERROR if there is none.  The returned entry is
 * valid until the next lookup.
 */
AgKey *
ai_guard_key_by_name(const char *name)
{
	KeyNameEntry *ne;
	AgKey	   *key = NULL;

	check_key_name(name);
	ensure_cache();
	ne = hash_search(keys_by_name, name, HASH_FIND, NULL);
	if (ne != NULL)
		key = hash_search(keys_by_id, &ne->key_id, HASH_FIND, NULL);
	if (key == NULL)
		key = load_key(name, 0);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key \"%s\" does not exist", name)));
	return key;
}

AgKey *
ai_guard_key_by_id(uint32 key_id)
{
	AgKey	   *key;

	ensure_cache();
	key = hash_search(keys_by_id, &key_id, HASH_FIND, NULL);
	if (key == NULL)
		key = load_key(NULL, key_id);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the key of this ciphertext does not exist"),
				 errdetail("The ciphertext names key id %u, which is not in this database's keyring.",
						   key_id)));
	return key;
}

/* Does the current user hold (directly or through a role) the privilege? */
bool
ai_guard_key_has_priv(AgKey *key, int priv)
{
	Oid			user = GetUserId();
	int			i;

	for (i = 0; i < key->ngrants; i++)
	{
		if ((key->grant_privs[i] & priv) &&
			has_privs_of_role(user, key->grant_roles[i]))
			return true;
	}
	/* superusers hold every privilege (see docs/encryption.md) */
	return superuser_arg(user);
}

void
ai_guard_key_check_priv(AgKey *key, int priv)
{
	if (!ai_guard_key_has_priv(key, priv))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s with key \"%s\"",
						priv == AG_PRIV_ENCRYPT ? "encrypt" :
						priv == AG_PRIV_DECRYPT ? "decrypt" : "pseudonymize",
						key->name),
				 errhint("A key administrator can run ai_guard.grant_key('%s', role, '%s').",
						 key->name,
						 priv == AG_PRIV_ENCRYPT ? "encrypt" :
						 priv == AG_PRIV_DECRYPT ? "decrypt" : "pseudonymize")));
}

/* Refuses decryption over TCP without SSL when so configured. */
void
ai_guard_check_decrypt_connection(void)
{
	if (!ai_guard_decrypt_requires_ssl || MyProcPort == NULL)
		return;
	if ((MyProcPort->raddr.addr.ss_family == AF_INET ||
		 MyProcPort->raddr.addr.ss_family == AF_INET6) &&
		!MyProcPort->ssl_in_use)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("decryption requires an SSL connection"),
				 errdetail("\"ai_guard.decrypt_requires_ssl\" is on and this session uses TCP without SSL."),
				 errhint("Connect with sslmode=require, or over a Unix socket.")));
}

/* The keyed cipher of one version of a key, unwrapping it on first use. */
ag_cipher *
ai_guard_key_cipher(AgKey *key, uint32 version)
{
	int			i;
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2];
	bool		isnull;
	bytea	   *wrapped;
	char	   *mkid;
	MasterKey  *mk;
	uint8		aad[WRAP_AAD_MAX];
	size_t		aadlen;
	uint8		raw[AG_MAX_KEY_LEN];
	size_t		rawlen;
	ag_status	st;
	ag_cipher  *cipher;

	for (i = 0; i < key->nversions; i++)
	{
		if (key->versions[i].version == version)
			return key->versions[i].cipher;
	}

	mk = get_master_key();
	SPI_connect();
	values[0] = Int32GetDatum((int32) key->key_id);
	values[1] = Int32GetDatum((int32) version);
	spi_as_owner("SELECT wrapped, master_key_id FROM ai_guard.key_versions"
				 " WHERE key_id = $1 AND version = $2",
				 2, types, values, true);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %u of key \"%s\" does not exist", version, key->name)));
	wrapped = DatumGetByteaPP(spi_value(0, 1, &isnull));
	mkid = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (mkid == NULL || strcmp(mkid, mk->id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %u of key \"%s\" is wrapped by another master key",
						version, key->name),
				 errhint("After changing the master key, set \"ai_guard.previous_master_key_file\" to the old key and run ai_guard.rewrap_keys().")));

	aadlen = wrap_aad(aad, key->name, key->alg, version);
	st = ag_unwrap_key(mk->key, aad, aadlen,
					   (uint8 *) VARDATA_ANY(wrapped), VARSIZE_ANY_EXHDR(wrapped),
					   raw, sizeof(raw), &rawlen);
	SPI_finish();
	if (st != AG_OK || rawlen != ag_alg_key_len(key->alg))
	{
		ag_wipe(raw, sizeof(raw));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not unwrap version %u of key \"%s\"", version, key->name),
				 errdetail("The stored key does not authenticate under the current master key, name and version.")));
	}
	cipher = ag_cipher_new(key->alg, raw, rawlen);
	ag_wipe(raw, sizeof(raw));
	if (cipher == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not set up the cipher for key \"%s\"", key->name)));

	if (key->nversions == key->maxversions)
	{
		int			newmax = key->maxversions ? key->maxversions * 2 : 4;
		AgKeyVersion *nv = MemoryContextAlloc(KeyCacheContext,
											  sizeof(AgKeyVersion) * newmax);

		if (key->nversions > 0)
		{
			memcpy(nv, key->versions, sizeof(AgKeyVersion) * key->nversions);
			pfree(key->versions);
		}
		key->versions = nv;
		key->maxversions = newmax;
	}
	key->versions[key->nversions].version = version;
	key->versions[key->nversions].cipher = cipher;
	key->nversions++;
	return cipher;
}

/*---- SQL functions: key management ----*/

static void
local_invalidate(void)
{
	inval_generation++;
}

/* SQL function: ai_guard.create_key(text, text, boolean) */
PG_FUNCTION_INFO_V1(ai_guard_create_key);
Datum
ai_guard_create_key(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *algname = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		linkable = PG_GETARG_BOOL(2);
	ag_alg		alg = ag_alg_from_name(algname);
	MasterKey  *mk;
	bytea	   *wrapped;
	Oid			types[4];
	Datum		values[4];
	bool		isnull;
	int32		key_id;

	check_key_name(name);
	if (alg == AG_ALG_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported key algorithm \"%s\"", algname),
				 errhint("Use \"aes-256-gcm\", \"aes-256-siv\" or \"hmac-sha256\".")));
	if (linkable && alg != AG_ALG_HMAC_SHA256)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("only hmac-sha256 keys can be linkable")));
	mk = get_master_key();
	wrapped = new_wrapped_key(name, alg, 1, mk);

	SPI_connect();
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(name);
	spi_as_owner("SELECT 1 FROM ai_guard.keys WHERE name = $1", 1, types, values, false);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("key \"%s\" already exists", name)));
	types[1] = TEXTOID;
	values[1] = CStringGetTextDatum(ag_alg_name(alg));
	types[2] = BOOLOID;
	values[2] = BoolGetDatum(linkable);
	types[3] = NAMEOID;
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	spi_as_owner("INSERT INTO ai_guard.keys (name, algorithm, linkable, current_version, created_by)"
				 " VALUES ($1, $2, $3, 1, $4) RETURNING key_id",
				 4, types, values, false);
	key_id = DatumGetInt32(spi_value(0, 1, &isnull));
	types[0] = INT4OID;
	values[0] = Int32GetDatum(key_id);
	types[1] = BYTEAOID;
	values[1] = PointerGetDatum(wrapped);
	types[2] = TEXTOID;
	values[2] = CStringGetTextDatum(mk->id);
	spi_as_owner("INSERT INTO ai_guard.key_versions (key_id, version, wrapped, master_key_id)"
				 " VALUES ($1, 1, $2, $3)",
				 3, types, values, false);
	SPI_finish();
	local_invalidate();
	PG_RETURN_INT32(key_id);
}

/* SQL function: ai_guard.rotate_key(text) */
PG_FUNCTION_INFO_V1(ai_guard_rotate_key);
Datum
ai_guard_rotate_key(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MasterKey  *mk;
	bytea	   *wrapped;
	Oid			types[4];
	Datum		values[4];
	bool		isnull;
	int32		key_id;
	int32		version;
	ag_alg		alg;

	check_key_name(name);
	mk = get_master_key();
	SPI_connect();
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(name);
	spi_as_owner("SELECT key_id, algorithm, current_version FROM ai_guard.keys"
				 " WHERE name = $1 FOR UPDATE",
				 1, types, values, false);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key \"%s\" does not exist", name)));
	key_id = DatumGetInt32(spi_value(0, 1, &isnull));
	alg = ag_alg_from_name(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	version = DatumGetInt32(spi_value(0, 3, &isnull));
	if (version == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("key \"%s\" has reached its maximum version", name)));
	version++;
	wrapped = new_wrapped_key(name, alg, (uint32) version, mk);

	types[0] = INT4OID;
	values[0] = Int32GetDatum(key_id);
	types[1] = INT4OID;
	values[1] = Int32GetDatum(version);
	spi_as_owner("UPDATE ai_guard.keys SET current_version = $2 WHERE key_id = $1",
				 2, types, values, false);
	types[2] = BYTEAOID;
	values[2] = PointerGetDatum(wrapped);
	types[3] = TEXTOID;
	values[3] = CStringGetTextDatum(mk->id);
	spi_as_owner("INSERT INTO ai_guard.key_versions (key_id, version, wrapped, master_key_id)"
				 " VALUES ($1, $2, $3, $4)",
				 4, types, values, false);
	SPI_finish();
	local_invalidate();
	PG_RETURN_INT32(version);
}

static int
privilege_from_name(const char *priv, ag_alg alg, const char *key_name)
{
	int			p = 0;

	if (strcmp(priv, "encrypt") == 0)
		p = AG_PRIV_ENCRYPT;
	else if (strcmp(priv, "decrypt") == 0)
		p = AG_PRIV_DECRYPT;
	else if (strcmp(priv, "pseudonymize") == 0)
		p = AG_PRIV_PSEUDONYMIZE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized key privilege \"%s\"", priv),
				 errhint("Use \"encrypt\", \"decrypt\" or \"pseudonymize\".")));
	if ((alg == AG_ALG_HMAC_SHA256) != (p == AG_PRIV_PSEUDONYMIZE))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("privilege \"%s\" does not apply to %s key \"%s\"",
						priv, ag_alg_name(alg), key_name),
				 errhint("Encryption keys take \"encrypt\" and \"decrypt\"; hmac-sha256 keys take \"pseudonymize\".")));
	return p;
}

static void
grant_or_revoke(FunctionCallInfo fcinfo, bool grant, bool *changed)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			role = PG_GETARG_OID(1);
	char	   *priv = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Oid			types[4];
	Datum		values[4];
	bool		isnull;
	int32		key_id;
	ag_alg		alg;

	check_key_name(name);
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", role)));

	SPI_connect();
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(name);
	spi_as_owner("SELECT key_id, algorithm FROM ai_guard.keys WHERE name = $1",
				 1, types, values, false);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key \"%s\" does not exist", name)));
	key_id = DatumGetInt32(spi_value(0, 1, &isnull));
	alg = ag_alg_from_name(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	(void) privilege_from_name(priv, alg, name);

	types[0] = INT4OID;
	values[0] = Int32GetDatum(key_id);
	types[1] = REGROLEOID;
	values[1] = ObjectIdGetDatum(role);
	types[2] = TEXTOID;
	values[2] = CStringGetTextDatum(priv);
	if (grant)
	{
		types[3] = NAMEOID;
		values[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
		spi_as_owner("INSERT INTO ai_guard.key_grants (key_id, grantee, privilege, granted_by)"
					 " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
					 4, types, values, false);
	}
	else
		spi_as_owner("DELETE FROM ai_guard.key_grants"
					 " WHERE key_id = $1 AND grantee = $2 AND privilege = $3",
					 3, types, values, false);
	*changed = SPI_processed > 0;
	SPI_finish();
	local_invalidate();
}

/* SQL function: ai_guard.grant_key(text, regrole, text) */
PG_FUNCTION_INFO_V1(ai_guard_grant_key);
Datum
ai_guard_grant_key(PG_FUNCTION_ARGS)
{
	bool		changed;

	grant_or_revoke(fcinfo, true, &changed);
	PG_RETURN_BOOL(changed);
}

/* SQL function: ai_guard.revoke_key(text, regrole, text) */
PG_FUNCTION_INFO_V1(ai_guard_revoke_key);
Datum
ai_guard_revoke_key(PG_FUNCTION_ARGS)
{
	bool		changed;

	grant_or_revoke(fcinfo, false, &changed);
	if (!changed)
		ereport(NOTICE,
				(errmsg("the role held no such grant on this key")));
	PG_RETURN_BOOL(changed);
}

/* SQL function: ai_guard.rewrap_keys() */
PG_FUNCTION_INFO_V1(ai_guard_rewrap_keys);
Datum
ai_guard_rewrap_keys(PG_FUNCTION_ARGS)
{
	MasterKey  *mk = get_master_key();
	MasterKey  *prev = NULL;
	SPITupleTable *tt;
	uint64		n;
	uint64		i;
	int64		count = 0;

	SPI_connect();
	spi_as_owner("SELECT v.key_id, k.name, k.algorithm, v.version, v.wrapped, v.master_key_id"
				 " FROM ai_guard.key_versions v JOIN ai_guard.keys k USING (key_id)"
				 " ORDER BY v.key_id, v.version FOR UPDATE OF v",
				 0, NULL, NULL, false);
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		int32		key_id = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		char	   *name = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
		ag_alg		alg = ag_alg_from_name(SPI_getvalue(tt->vals[i], tt->tupdesc, 3));
		int32		version = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
		bytea	   *wrapped = DatumGetByteaPP(SPI_getbinval(tt->vals[i], tt->tupdesc, 5, &isnull));
		char	   *mkid = SPI_getvalue(tt->vals[i], tt->tupdesc, 6);
		uint8		aad[WRAP_AAD_MAX];
		size_t		aadlen = wrap_aad(aad, name, alg, (uint32) version);
		uint8		raw[AG_MAX_KEY_LEN];
		size_t		rawlen;
		bytea	   *rewrapped;
		size_t		outlen;
		ag_status	st;
		Oid			types[4] = {BYTEAOID, TEXTOID, INT4OID, INT4OID};
		Datum		values[4];

		st = ag_unwrap_key(mk->key, aad, aadlen,
						   (uint8 *) VARDATA_ANY(wrapped), VARSIZE_ANY_EXHDR(wrapped),
						   raw, sizeof(raw), &rawlen);
		if (st == AG_OK)
		{
			ag_wipe(raw, sizeof(raw));
			if (mkid != NULL && strcmp(mkid, mk->id) == 0)
				continue;		/* already under the current key */
		}
		else
		{
			if (prev == NULL)
				prev = get_previous_master_key();
			st = ag_unwrap_key(prev->key, aad, aadlen,
							   (uint8 *) VARDATA_ANY(wrapped), VARSIZE_ANY_EXHDR(wrapped),
							   raw, sizeof(raw), &rawlen);
			if (st != AG_OK)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("version %d of key \"%s\" unwraps with neither the current nor the previous master key",
								version, name),
						 errhint("Set \"ai_guard.previous_master_key_file\" to the master key that wrapped it.")));
		}
		rewrapped = palloc(VARHDRSZ + AG_WRAP_OVERHEAD + AG_MAX_KEY_LEN);
		st = ag_wrap_key(mk->key, aad, aadlen, raw, rawlen,
						 (uint8 *) VARDATA(rewrapped), AG_WRAP_OVERHEAD + AG_MAX_KEY_LEN,
						 &outlen);
		ag_wipe(raw, sizeof(raw));
		if (st != AG_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not wrap a data key: %s", ag_status_message(st))));
		SET_VARSIZE(rewrapped, VARHDRSZ + outlen);
		values[0] = PointerGetDatum(rewrapped);
		values[1] = CStringGetTextDatum(mk->id);
		values[2] = Int32GetDatum(key_id);
		values[3] = Int32GetDatum(version);
		spi_as_owner("UPDATE ai_guard.key_versions SET wrapped = $1, master_key_id = $2"
					 " WHERE key_id = $3 AND version = $4",
					 4, types, values, false);
		count++;
	}
	SPI_finish();
	local_invalidate();
	PG_RETURN_INT64(count);
}

/*
 * Trigger function on the key tables: any change (through the functions
 * above, direct DML by a superuser, or a restore) invalidates every
 * backend's key cache at commit, and this backend's at once.
 */
PG_FUNCTION_INFO_V1(ai_guard_key_tables_changed);
Datum
ai_guard_key_tables_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard.key_tables_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	local_invalidate();
	return PointerGetDatum(NULL);
}

/*---- initialisation ----*/

void
ai_guard_keyring_init(void)
{
	DefineCustomStringVariable("ai_guard.master_key_file",
							   "File holding the master key (64 hex digits).",
							   "Must be owned by the server user with mode 0600 or stricter.",
							   &master_key_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL,
							   assign_master_key_setting,
							   NULL);
	DefineCustomStringVariable("ai_guard.master_key_command",
							   "Shell command that prints the master key (64 hex digits).",
							   "For a KMS or vault; used instead of ai_guard.master_key_file.",
							   &master_key_command,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL,
							   assign_master_key_setting,
							   NULL);
	DefineCustomStringVariable("ai_guard.previous_master_key_file",
							   "File holding the previous master key, read by ai_guard.rewrap_keys().",
							   NULL,
							   &previous_master_key_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL,
							   assign_previous_key_setting,
							   NULL);
	DefineCustomBoolVariable("ai_guard.decrypt_requires_ssl",
							 "Refuse decryption over TCP connections without SSL.",
							 NULL,
							 &ai_guard_decrypt_requires_ssl,
							 false,
							 PGC_SUSET,
							 0,
							 NULL,
							 NULL,
							 NULL);
	CacheRegisterRelcacheCallback(keyring_relcache_callback, (Datum) 0);
}
