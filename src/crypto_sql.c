/*-------------------------------------------------------------------------
 *
 * crypto_sql.c
 *		SQL entry points of ai_guard's encryption: encrypt, decrypt,
 *		decrypt_text, key_version, transparent column encryption (the
 *		encrypt_column trigger, reencrypt) and keyed pseudonyms.
 *
 * Keys are named in SQL and held by the server (keyring.c); the
 * ciphertext names its own key and version (src/core/envelope.c), so
 * decrypt needs no key name.  Every use of a key checks the caller's key
 * grant here, in C.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ai_guard.h"
#include "audit_hook.h"
#include "crypto_sql.h"
#include "envelope.h"
#include "keyring.h"

/* the largest plaintext whose envelope still fits in a bytea */
#define MAX_PLAINTEXT (MaxAllocSize - VARHDRSZ - 64)

static const char *
key_name_arg(text *t, char *buf, size_t bufsize)
{
	size_t		len = VARSIZE_ANY_EXHDR(t);

	if (len == 0 || len >= bufsize)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key name must be 1 to %d characters long", (int) bufsize - 1)));
	memcpy(buf, VARDATA_ANY(t), len);
	buf[len] = '\0';
	return buf;
}

static void
check_encryption_key(AgKey *key)
{
	if (key->alg != AG_ALG_AES256_GCM && key->alg != AG_ALG_AES256_SIV)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("key \"%s\" is an %s key and cannot encrypt",
						key->name, ag_alg_name(key->alg)),
				 errhint("Use ai_guard.pseudonymize() with hmac-sha256 keys.")));
}

/* Seals data under the key's current version; returns a palloc'd bytea. */
static bytea *
seal_value(AgKey *key, const char *data, size_t len,
		   const char *aad, size_t aadlen)
{
	ag_cipher  *cipher = ai_guard_key_cipher(key, key->current_version);
	size_t		cap;
	size_t		outlen;
	bytea	   *out;
	ag_status	st;

	if (len > MAX_PLAINTEXT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value too long to encrypt"),
				 errdetail("Values of at most %zu bytes can be encrypted.",
						   (size_t) MAX_PLAINTEXT)));
	cap = len + ag_envelope_overhead(key->alg);
	out = palloc(VARHDRSZ + cap);
	st = ag_seal(cipher, key->key_id, key->current_version,
				 (const uint8 *) data, len, (const uint8 *) aad, aadlen,
				 (uint8 *) VARDATA(out), cap, &outlen);
	if (st != AG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not encrypt: %s", ag_status_message(st))));
	SET_VARSIZE(out, VARHDRSZ + outlen);
	return out;
}

static void
parse_or_error(const uint8 *buf, size_t len, ag_envelope *env)
{
	ag_status	st = ag_envelope_parse(buf, len, env);

	if (st != AG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid ciphertext"),
				 errdetail("%s.", ag_status_message(st))));
}

/*
 * Opens an envelope with its own key (checking the decrypt grant) into a
 * new varlena (bytea or text: the same layout) holding the plaintext.
 */
static struct varlena *
open_value(bytea *ct, text *context)
{
	ag_envelope env;
	AgKey	   *key;
	ag_cipher  *cipher;
	struct varlena *out;
	size_t		len;
	ag_status	st;

	ai_guard_check_decrypt_connection();
	parse_or_error((const uint8 *) VARDATA_ANY(ct), VARSIZE_ANY_EXHDR(ct), &env);
	key = ai_guard_key_by_id(env.key_id);
	if (key->alg != env.alg)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid ciphertext"),
				 errdetail("Its algorithm does not match the algorithm of key \"%s\".",
						   key->name)));
	ai_guard_key_check_priv(key, AG_PRIV_DECRYPT);
	cipher = ai_guard_key_cipher(key, env.key_version);
	out = palloc(VARHDRSZ + env.ct_len + 1);
	st = ag_open(cipher, &env,
				 (const uint8 *) VARDATA_ANY(context), VARSIZE_ANY_EXHDR(context),
				 (uint8 *) VARDATA(out), env.ct_len + 1, &len);
	if (st == AG_ERR_AUTH)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("ciphertext authentication failed"),
				 errdetail("The ciphertext was altered, or the context does not match the one it was encrypted with.")));
	if (st != AG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid ciphertext"),
				 errdetail("%s.", ag_status_message(st))));
	SET_VARSIZE(out, VARHDRSZ + len);
	return out;
}

static bytea *
encrypt_common(const char *data, size_t len, text *keyname, text *context)
{
	char		namebuf[64];
	AgKey	   *key = ai_guard_key_by_name(key_name_arg(keyname, namebuf, sizeof(namebuf)));

	check_encryption_key(key);
	ai_guard_key_check_priv(key, AG_PRIV_ENCRYPT);
	return seal_value(key, data, len,
					  VARDATA_ANY(context), VARSIZE_ANY_EXHDR(context));
}

/* SQL function: ai_guard.encrypt(bytea, text, text) */
PG_FUNCTION_INFO_V1(ai_guard_encrypt);
Datum
ai_guard_encrypt(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_BYTEA_P(encrypt_common(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
									 PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2)));
}

/* SQL function: ai_guard.encrypt(text, text, text) */
PG_FUNCTION_INFO_V1(ai_guard_encrypt_text);
Datum
ai_guard_encrypt_text(PG_FUNCTION_ARGS)
{
	text	   *data = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BYTEA_P(encrypt_common(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
									 PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2)));
}

/* SQL function: ai_guard.decrypt(bytea, text) */
PG_FUNCTION_INFO_V1(ai_guard_decrypt);
Datum
ai_guard_decrypt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(open_value(PG_GETARG_BYTEA_PP(0), PG_GETARG_TEXT_PP(1)));
}

/* SQL function: ai_guard.decrypt_text(bytea, text) */
PG_FUNCTION_INFO_V1(ai_guard_decrypt_text);
Datum
ai_guard_decrypt_text(PG_FUNCTION_ARGS)
{
	struct varlena *pt = open_value(PG_GETARG_BYTEA_PP(0), PG_GETARG_TEXT_PP(1));
	size_t		len = VARSIZE(pt) - VARHDRSZ;

	/* not via pg_verify_mbstr's own error: it prints the offending bytes */
	if (!pg_verify_mbstr(GetDatabaseEncoding(), VARDATA(pt), (int) len, true))
	{
		ag_wipe(VARDATA(pt), len);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("decrypted value is not valid text in encoding \"%s\"",
						GetDatabaseEncodingName()),
				 errhint("Use ai_guard.decrypt() to get the bytes.")));
	}
	PG_RETURN_TEXT_P((text *) pt);
}

/* SQL function: ai_guard.key_version(bytea) */
PG_FUNCTION_INFO_V1(ai_guard_key_version);
Datum
ai_guard_key_version(PG_FUNCTION_ARGS)
{
	bytea	   *ct = PG_GETARG_BYTEA_PP(0);
	ag_envelope env;

	if (ag_envelope_parse((const uint8 *) VARDATA_ANY(ct), VARSIZE_ANY_EXHDR(ct),
						  &env) != AG_OK || env.key_version > PG_INT32_MAX)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) env.key_version);
}

/*---- transparent column encryption ----*/

static void
check_table_owner(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(relid))));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));
}

static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* row columns must print the same in every session (no dates, floats) */
static bool
stable_row_key_type(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID ||
		typid == NUMERICOID || typid == TEXTOID || typid == VARCHAROID ||
		typid == UUIDOID;
}

/* SQL function: ai_guard.encrypt_column(regclass, name, text, text, name) */
PG_FUNCTION_INFO_V1(ai_guard_encrypt_column);
Datum
ai_guard_encrypt_column(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	char		namebuf[64];
	const char *keyname;
	char	   *context;
	char	   *rowcol;
	AttrNumber	attnum;
	Oid			atttype;
	AgKey	   *key;
	Oid			types[5];
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	StringInfoData sql;
	StringInfoData ctxexpr;
	char	   *qrel;

	/* not STRICT (context and row_column may be NULL): check the others */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation, column and key name must not be NULL")));
	relid = PG_GETARG_OID(0);
	colname = NameStr(*PG_GETARG_NAME(1));
	keyname = key_name_arg(PG_GETARG_TEXT_PP(2), namebuf, sizeof(namebuf));
	rowcol = PG_ARGISNULL(4) ? NULL : NameStr(*PG_GETARG_NAME(4));

	check_table_owner(relid);
	attnum = get_attnum(relid, colname);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, get_rel_name(relid))));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot encrypt system column \"%s\"", colname)));
	atttype = get_atttype(relid, attnum);
	if (atttype != TEXTOID && atttype != VARCHAROID && atttype != BYTEAOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" has type %s", colname, format_type_be(atttype)),
				 errdetail("Only text, varchar and bytea columns can be encrypted.")));

	if (rowcol != NULL)
	{
		AttrNumber	rownum = get_attnum(relid, rowcol);
		HeapTuple	atup;
		bool		notnull;

		if (rownum == InvalidAttrNumber || rownum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("row column \"%s\" of relation \"%s\" does not exist",
							rowcol, get_rel_name(relid))));
		if (rownum == attnum)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the row column must differ from the encrypted column")));
		if (!stable_row_key_type(get_atttype(relid, rownum)))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("row column \"%s\" has type %s", rowcol,
							format_type_be(get_atttype(relid, rownum))),
					 errdetail("A row column must have type smallint, integer, bigint, numeric, text, varchar or uuid, whose text form does not depend on settings.")));
		atup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(rownum));
		if (!HeapTupleIsValid(atup))
			elog(ERROR, "cache lookup failed for attribute %d of relation %u", rownum, relid);
		notnull = ((Form_pg_attribute) GETSTRUCT(atup))->attnotnull;
		ReleaseSysCache(atup);
		if (!notnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("row column \"%s\" must be NOT NULL", rowcol),
					 errhint("Use the primary key, or add a NOT NULL constraint.")));
	}

	key = ai_guard_key_by_name(keyname);
	check_encryption_key(key);
	ai_guard_key_check_priv(key, AG_PRIV_ENCRYPT);

	if (PG_ARGISNULL(3))
		context = psprintf("%s.%s.%s",
						   get_namespace_name(get_rel_namespace(relid)),
						   get_rel_name(relid), colname);
	else
		context = text_to_cstring(PG_GETARG_TEXT_PP(3));

	SPI_connect();
	types[0] = REGCLASSOID;
	values[0] = ObjectIdGetDatum(relid);
	types[1] = NAMEOID;
	values[1] = CStringGetDatum(colname);
	types[2] = TEXTOID;
	values[2] = CStringGetTextDatum(keyname);
	types[3] = TEXTOID;
	values[3] = CStringGetTextDatum(context);
	types[4] = NAMEOID;
	if (rowcol != NULL)
		values[4] = NameGetDatum(PG_GETARG_NAME(4));
	else
	{
		values[4] = (Datum) 0;
		nulls[4] = 'n';
	}
	ai_guard_keyring_spi("SELECT 1 FROM ai_guard.encrypted_columns"
						 " WHERE rel = $1 AND column_name = $2",
						 2, types, values, false);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("column \"%s\" of relation \"%s\" is already encrypted",
						colname, get_rel_name(relid)),
				 errhint("Use ai_guard.rotate_key() and ai_guard.reencrypt() to move it to a new key version.")));
	ai_guard_keyring_spi_nulls("INSERT INTO ai_guard.encrypted_columns"
							   " (rel, column_name, key_name, context, row_column, added_by)"
							   " VALUES ($1, $2, $3, $4, $5, CURRENT_USER)",
							   5, types, values, nulls, false);

	/* encrypt the existing values in one rewrite, then keep them encrypted */
	qrel = qualified_name(relid);
	initStringInfo(&ctxexpr);
	if (rowcol != NULL)
		appendStringInfo(&ctxexpr, "%s OPERATOR(pg_catalog.||) %s::pg_catalog.text",
						 quote_literal_cstr(psprintf("%s:", context)),
						 quote_identifier(rowcol));
	else
		appendStringInfoString(&ctxexpr, quote_literal_cstr(context));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "ALTER TABLE %s ALTER COLUMN %s TYPE pg_catalog.bytea"
					 " USING ai_guard.encrypt(%s, %s, %s)",
					 qrel, quote_identifier(colname), quote_identifier(colname),
					 quote_literal_cstr(keyname), ctxexpr.data);
	if (SPI_execute(sql.data, false, 0) < 0)
		elog(ERROR, "could not encrypt column \"%s\"", colname);
	resetStringInfo(&sql);
	/* named to sort after other BEFORE triggers: it must see final values */
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s BEFORE INSERT OR UPDATE OF %s%s%s ON %s"
					 " FOR EACH ROW EXECUTE FUNCTION ai_guard.encrypt_column_trigger(%s, %s, %s%s%s)",
					 quote_identifier(psprintf("zz_ai_guard_encrypt_%d", (int) attnum)),
					 quote_identifier(colname),
					 rowcol ? ", " : "", rowcol ? quote_identifier(rowcol) : "",
					 qrel,
					 quote_literal_cstr(colname), quote_literal_cstr(keyname),
					 quote_literal_cstr(context),
					 rowcol ? ", " : "", rowcol ? quote_literal_cstr(rowcol) : "");
	if (SPI_execute(sql.data, false, 0) < 0)
		elog(ERROR, "could not create the encryption trigger on \"%s\"", colname);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Does the value already hold a ciphertext of this key that authenticates
 * with the column's context?  Then it is kept as it is: rows copied from
 * another encrypted table, re-inserted, or restored by a data-only dump
 * are not encrypted twice.
 */
static bool
is_sealed_for(AgKey *key, bytea *value, const char *context)
{
	ag_envelope env;
	ag_cipher  *cipher;
	char	   *scratch;
	size_t		len;
	ag_status	st;

	if (ag_envelope_parse((const uint8 *) VARDATA_ANY(value),
						  VARSIZE_ANY_EXHDR(value), &env) != AG_OK)
		return false;
	if (env.key_id != key->key_id || env.alg != key->alg ||
		env.key_version == 0 || env.key_version > key->current_version)
		return false;
	cipher = ai_guard_key_cipher(key, env.key_version);
	scratch = palloc(env.ct_len + 1);
	st = ag_open(cipher, &env, (const uint8 *) context, strlen(context),
				 (uint8 *) scratch, env.ct_len + 1, &len);
	ag_wipe(scratch, env.ct_len + 1);
	pfree(scratch);
	return st == AG_OK;
}

/*
 * The context a value of this row is sealed with: the column's context,
 * followed by ":" and the row column's text when values are row-bound.
 */
static char *
row_context(const char *context, const char *rowcol, HeapTuple tuple,
			TupleDesc tupdesc, const char *trigname)
{
	int			rownum;
	char	   *val;

	if (rowcol == NULL)
		return (char *) context;
	rownum = SPI_fnumber(tupdesc, rowcol);
	if (rownum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("row column \"%s\" named by trigger \"%s\" does not exist",
						rowcol, trigname),
				 errhint("The row column of an encrypted column cannot be renamed; rename it back.")));
	val = SPI_getvalue(tuple, tupdesc, rownum);
	if (val == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("row column \"%s\" of an encrypted row must not be NULL", rowcol)));
	return psprintf("%s:%s", context, val);
}

/*
 * Trigger function:
 * ai_guard.encrypt_column_trigger(column, key, context [, row_column])
 */
PG_FUNCTION_INFO_V1(ai_guard_encrypt_column_trigger);
Datum
ai_guard_encrypt_column_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *trig;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	int			attnum;
	bool		isnull;
	Datum		value;
	bytea	   *plain;
	AgKey	   *key;
	bytea	   *sealed = NULL;
	const char *rowcol;
	char	   *ctx;
	int			cols[1];
	Datum		newvals[1];
	bool		newnulls[1] = {false};

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(td->tg_event) ||
		(td->tg_trigger->tgnargs != 3 && td->tg_trigger->tgnargs != 4))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard.encrypt_column_trigger() must be a BEFORE INSERT OR UPDATE row trigger with three or four arguments")));
	trig = td->tg_trigger;
	rowcol = trig->tgnargs == 4 ? trig->tgargs[3] : NULL;
	tupdesc = RelationGetDescr(td->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

	attnum = SPI_fnumber(tupdesc, trig->tgargs[0]);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" encrypted by trigger \"%s\" does not exist",
						trig->tgargs[0], trig->tgname),
				 errhint("An encrypted column cannot be renamed; rename it back.")));
	if (TupleDescAttr(tupdesc, attnum - 1)->atttypid != BYTEAOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("encrypted column \"%s\" must have type bytea", trig->tgargs[0])));

	value = heap_getattr(tuple, attnum, tupdesc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);
	plain = DatumGetByteaPP(value);
	ctx = row_context(trig->tgargs[2], rowcol, tuple, tupdesc, trig->tgname);

	key = ai_guard_key_by_name(trig->tgargs[1]);
	check_encryption_key(key);
	ai_guard_key_check_priv(key, AG_PRIV_ENCRYPT);
	if (is_sealed_for(key, plain, ctx))
		return PointerGetDatum(tuple);

	/*
	 * The row column changed and the value is this row's old ciphertext:
	 * seal it again for the new row key (inside the server; nothing of the
	 * plaintext is returned).
	 */
	if (rowcol != NULL && TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		char	   *oldctx = row_context(trig->tgargs[2], rowcol, td->tg_trigtuple,
										 tupdesc, trig->tgname);
		ag_envelope env;

		if (strcmp(oldctx, ctx) != 0 && is_sealed_for(key, plain, oldctx) &&
			ag_envelope_parse((const uint8 *) VARDATA_ANY(plain),
							  VARSIZE_ANY_EXHDR(plain), &env) == AG_OK)
		{
			ag_cipher  *cipher = ai_guard_key_cipher(key, env.key_version);
			char	   *pt = palloc(env.ct_len + 1);
			size_t		len;

			if (ag_open(cipher, &env, (const uint8 *) oldctx, strlen(oldctx),
						(uint8 *) pt, env.ct_len + 1, &len) != AG_OK)
				elog(ERROR, "ciphertext authenticated once but not twice");
			sealed = seal_value(key, pt, len, ctx, strlen(ctx));
			ag_wipe(pt, env.ct_len + 1);
			pfree(pt);
		}
	}
	if (sealed == NULL)
		sealed = seal_value(key, VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain),
							ctx, strlen(ctx));
	cols[0] = attnum;
	newvals[0] = PointerGetDatum(sealed);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, cols,
													 newvals, newnulls));
}

/* SQL function: ai_guard.reencrypt(regclass, name, integer, integer) */
PG_FUNCTION_INFO_V1(ai_guard_reencrypt);
Datum
ai_guard_reencrypt(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	int32		batch_size;
	int32		max_batches;
	char	   *keyname;
	char	   *context;
	AgKey	   *key;
	Oid			types[2];
	Datum		values[2];
	StringInfoData select_sql;
	StringInfoData update_sql;
	SPIPlanPtr	select_plan;
	SPIPlanPtr	update_plan;
	int64		moved = 0;
	int			batches = 0;
	char	   *qrel;
	char	   *qcol;
	char	   *rowcol;

	/* not STRICT (max_batches may be NULL): check the others */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation, column and batch size must not be NULL")));
	relid = PG_GETARG_OID(0);
	colname = NameStr(*PG_GETARG_NAME(1));
	batch_size = PG_GETARG_INT32(2);
	max_batches = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);

	if (batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch size must be positive")));
	if (max_batches < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("maximum number of batches must not be negative")));
	check_table_owner(relid);

	SPI_connect();
	types[0] = REGCLASSOID;
	values[0] = ObjectIdGetDatum(relid);
	types[1] = NAMEOID;
	values[1] = CStringGetDatum(colname);
	ai_guard_keyring_spi("SELECT key_name, context, row_column FROM ai_guard.encrypted_columns"
						 " WHERE rel = $1 AND column_name = $2",
						 2, types, values, true);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("column \"%s\" of relation \"%s\" is not encrypted",
						colname, get_rel_name(relid)),
				 errhint("Use ai_guard.encrypt_column() first.")));
	keyname = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	context = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	rowcol = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

	key = ai_guard_key_by_name(keyname);
	ai_guard_key_check_priv(key, AG_PRIV_DECRYPT);
	ai_guard_key_check_priv(key, AG_PRIV_ENCRYPT);

	qrel = qualified_name(relid);
	qcol = (char *) quote_identifier(colname);
	initStringInfo(&select_sql);
	appendStringInfo(&select_sql,
					 "SELECT ctid, %s, %s FROM %s"
					 " WHERE ai_guard.key_version(%s) OPERATOR(pg_catalog.<) $1"
					 " LIMIT $2 FOR UPDATE SKIP LOCKED",
					 qcol, rowcol ? quote_identifier(rowcol) : "NULL",
					 qrel, qcol);
	types[0] = INT4OID;
	types[1] = INT4OID;
	select_plan = SPI_prepare(select_sql.data, 2, types);
	initStringInfo(&update_sql);
	appendStringInfo(&update_sql, "UPDATE %s SET %s = $1 WHERE ctid OPERATOR(pg_catalog.=) $2",
					 qrel, qcol);
	types[0] = BYTEAOID;
	types[1] = TIDOID;
	update_plan = SPI_prepare(update_sql.data, 2, types);
	if (select_plan == NULL || update_plan == NULL)
		elog(ERROR, "could not prepare re-encryption of \"%s\"", colname);

	for (;;)
	{
		SPITupleTable *tt;
		uint64		n;
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		/* look the key up again: triggers may have flushed the cache */
		key = ai_guard_key_by_name(keyname);
		values[0] = Int32GetDatum((int32) key->current_version);
		values[1] = Int32GetDatum(batch_size);
		if (SPI_execute_plan(select_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not select rows to re-encrypt");
		tt = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
		{
			bool		isnull;
			Datum		tid = SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull);
			bytea	   *ct = DatumGetByteaPP(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
			ag_envelope env;
			ag_cipher  *cipher;
			char	   *pt;
			size_t		len;
			bytea	   *sealed;
			Datum		uvals[2];
			char	   *rowval = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
			const char *ctx = rowcol == NULL ? context :
				psprintf("%s:%s", context, rowval ? rowval : "");

			key = ai_guard_key_by_name(keyname);
			parse_or_error((const uint8 *) VARDATA_ANY(ct), VARSIZE_ANY_EXHDR(ct), &env);
			if (env.key_id != key->key_id || env.alg != key->alg)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("column \"%s\" holds a ciphertext of another key", colname)));
			cipher = ai_guard_key_cipher(key, env.key_version);
			pt = palloc(env.ct_len + 1);
			if (ag_open(cipher, &env, (const uint8 *) ctx, strlen(ctx),
						(uint8 *) pt, env.ct_len + 1, &len) != AG_OK)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("ciphertext authentication failed"),
						 errdetail("A value of column \"%s\" does not authenticate with the column's context.",
								   colname)));
			sealed = seal_value(key, pt, len, ctx, strlen(ctx));
			ag_wipe(pt, env.ct_len + 1);
			pfree(pt);
			uvals[0] = PointerGetDatum(sealed);
			uvals[1] = tid;
			if (SPI_execute_plan(update_plan, uvals, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not update a re-encrypted row");
			pfree(sealed);
			moved++;
		}
		SPI_freetuptable(tt);
		batches++;
		if (max_batches > 0 && batches >= max_batches)
			break;
	}
	SPI_finish();
	PG_RETURN_INT64(moved);
}

/*---- keyed pseudonyms ----*/

/* SQL function: ai_guard.pseudonymize(text, text) */
PG_FUNCTION_INFO_V1(ai_guard_pseudonymize);
Datum
ai_guard_pseudonymize(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	char		namebuf[64];
	AgKey	   *key = ai_guard_key_by_name(key_name_arg(PG_GETARG_TEXT_PP(1),
														namebuf, sizeof(namebuf)));
	static const char label[] = "ai_guard pseudonym v1";
	const char *purpose = ai_guard_purpose ? ai_guard_purpose : "";
	const char *colon = strchr(purpose, ':');
	size_t		class_len = colon ? (size_t) (colon - purpose) : strlen(purpose);
	const uint8 *parts[3];
	size_t		lens[3];
	uint8		mac[AG_HMAC_LEN];
	char		out[2 * 16 + 1];
	static const char hex[] = "0123456789abcdef";
	ag_cipher  *cipher;
	int			i;

	if (key->alg != AG_ALG_HMAC_SHA256)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("key \"%s\" is not an hmac-sha256 key", key->name),
				 errhint("Create one with ai_guard.create_key(name, 'hmac-sha256').")));
	ai_guard_key_check_priv(key, AG_PRIV_PSEUDONYMIZE);

	/*
	 * The purpose class is the pseudonym's domain: a class the caller may
	 * not read under would let pseudonyms be linked across purposes.  A
	 * superuser (session and current user) could switch the check off.
	 */
	if (!key->linkable && ai_guard_require_purpose &&
		!(superuser_arg(GetUserId()) && superuser_arg(GetSessionUserId())))
	{
		if (*purpose == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("pseudonyms of key \"%s\" require a declared purpose", key->name),
					 errdetail("The purpose class separates the pseudonyms of a key that is not linkable."),
					 errhint("Declare a purpose granted to your role, for example SET ai_guard.purpose = 'training:churn-v3'.")));
		if (!ai_guard_purpose_granted(GetUserId(), purpose))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("purpose \"%s\" is not granted to role \"%s\"",
							purpose, GetUserNameFromId(GetUserId(), false)),
					 errdetail("The purpose class separates the pseudonyms of a key that is not linkable."),
					 errhint("An administrator can grant it with ai_guard.grant_purpose(role, purpose, valid_until).")));
	}
	cipher = ai_guard_key_cipher(key, key->current_version);

	/*
	 * label NUL purpose-class NUL value: the class separates purposes unless
	 * the key is linkable; the NULs keep the parts unambiguous (a purpose
	 * class cannot contain one).
	 */
	parts[0] = (const uint8 *) label;
	lens[0] = sizeof(label);
	if (key->linkable)
	{
		parts[1] = (const uint8 *) "*";
		lens[1] = 2;
	}
	else
	{
		char	   *cls = palloc(class_len + 1);

		memcpy(cls, purpose, class_len);
		cls[class_len] = '\0';
		parts[1] = (const uint8 *) cls;
		lens[1] = class_len + 1;
	}
	parts[2] = (const uint8 *) VARDATA_ANY(value);
	lens[2] = VARSIZE_ANY_EXHDR(value);
	if (ag_hmac(cipher, 3, parts, lens, mac) != AG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the pseudonym")));
	for (i = 0; i < 16; i++)
	{
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[32] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

void
ai_guard_crypto_init(void)
{
	ai_guard_keyring_init();
}
