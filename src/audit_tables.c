/*-------------------------------------------------------------------------
 *
 * audit_tables.c
 *		The audit writer runs no code but ai_guard's and PostgreSQL's.
 *
 * Inside the writer the protect trigger lets writes through, and the writer
 * MACs what its statements return.  Code that a superuser attaches to the
 * audit tables would run there: a trigger that swaps the row being
 * written, a rule, a default or a CHECK that rewrites another record, an
 * index expression, a domain.  Such code could make the writer MAC content
 * it chose.  So before each batch the writer checks its tables and writes
 * nothing while any of that is present: reads are refused (fail closed)
 * and the server log names what was found.
 *
 * The check uses the relcache and is redone only after an audit table's
 * relcache entry was invalidated (any ALTER, CREATE TRIGGER, CREATE RULE or
 * CREATE INDEX on it invalidates it).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "audit_tables.h"

/* every table the audit writer writes */
static const char *const audit_tables[] = {
	"pulls", "audit_log", "audit_state", "audit_epochs", "governance_log",
	"pull_members", "pull_relations", NULL
};

static bool checked = false;
static bool callback_registered = false;

static void
audit_tables_invalidated(Datum arg, Oid relid)
{
	/* cheap to redo, and rare: any relation's invalidation resets it */
	checked = false;
}

static bool
non_builtin_function(Oid funcid, void *context)
{
	return funcid >= FirstNormalObjectId;
}

static bool
foreign_code_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, non_builtin_function, NULL))
		return true;
	return expression_tree_walker(node, foreign_code_walker, context);
}

/* whether an expression calls anything but PostgreSQL's own functions */
static bool
calls_foreign_code(Node *expr)
{
	return foreign_code_walker(expr, NULL);
}

static void
refuse(Relation rel, const char *what, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the audit writer does not write while %s \"%s\" is on ai_guard.%s",
					what, name, RelationGetRelationName(rel)),
			 errdetail("Code attached to an audit table would run inside the audit writer and could change what it records."),
			 errhint("Drop it; only ai_guard's own triggers may be on the audit tables.")));
}

static void
check_table(Relation rel, Oid protect)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *indexes;
	ListCell   *lc;
	int			i;

	if (rel->rd_rules != NULL)
		refuse(rel, "rule with OID", psprintf("%u", rel->rd_rules->rules[0]->ruleId));
	if (rel->trigdesc != NULL)
	{
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *t = &rel->trigdesc->triggers[i];

			/* ours, or PostgreSQL's own (foreign-key checks) */
			if (t->tgfoid == protect ||
				(t->tgisinternal && t->tgfoid < FirstNormalObjectId))
				continue;
			refuse(rel, "trigger", t->tgname);
		}
	}
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (get_typtype(att->atttypid) == TYPTYPE_DOMAIN)
			refuse(rel, "a domain-typed column", NameStr(att->attname));
	}
	if (desc->constr != NULL)
	{
		/* defaults and generation expressions */
		for (i = 0; i < desc->constr->num_defval; i++)
		{
			AttrDefault *d = &desc->constr->defval[i];

			if (calls_foreign_code(stringToNode(d->adbin)))
				refuse(rel, "a default or generated value calling a function on column",
					   NameStr(TupleDescAttr(desc, d->adnum - 1)->attname));
		}
		for (i = 0; i < desc->constr->num_check; i++)
		{
			ConstrCheck *c = &desc->constr->check[i];

			if (calls_foreign_code(stringToNode(c->ccbin)))
				refuse(rel, "check constraint", c->ccname);
		}
	}
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		List	   *exprs = RelationGetIndexExpressions(index);
		Node	   *pred = (Node *) RelationGetIndexPredicate(index);
		bool		foreign = calls_foreign_code((Node *) exprs) || calls_foreign_code(pred);
		char	   *name = pstrdup(RelationGetRelationName(index));

		index_close(index, AccessShareLock);
		if (foreign)
			refuse(rel, "index", name);
	}
	list_free(indexes);
}

void
ai_guard_check_audit_tables(void)
{
	Oid			nsp;
	Oid			protect;
	Oid			relids[lengthof(audit_tables)];
	int			i;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(audit_tables_invalidated, (Datum) 0);
		callback_registered = true;
	}
	nsp = get_namespace_oid("ai_guard", false);
	/*
	 * Locked for the batch first: no trigger, rule or index can be added
	 * to them until it commits (and the invalidations of any added before
	 * are taken in now).
	 */
	for (i = 0; audit_tables[i]; i++)
	{
		relids[i] = get_relname_relid(audit_tables[i], nsp);
		if (OidIsValid(relids[i]))
			LockRelationOid(relids[i], RowExclusiveLock);
	}
	if (checked)
		return;
	protect = LookupFuncName(list_make2(makeString("ai_guard"), makeString("_audit_protect")),
							 0, NULL, false);
	for (i = 0; audit_tables[i]; i++)
	{
		Relation	rel;

		if (!OidIsValid(relids[i]))
			continue;			/* an older schema */
		rel = table_open(relids[i], NoLock);
		check_table(rel, protect);
		table_close(rel, NoLock);
	}
	checked = true;
}
