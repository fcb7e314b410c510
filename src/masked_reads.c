/*-------------------------------------------------------------------------
 *
 * masked_reads.c
 *		Roles with masked access read governed columns only through masked
 *		views, whatever their grants say.
 *
 * grant_masked_access revokes a role's privileges on the base tables, but
 * a later GRANT SELECT (or a copy of the table granted to the role, or a
 * view written by hand) would hand it raw values again.  So at read time,
 * in C: when the current user or the session user has masked access, every
 * column of a governed relation that masked views do not show as stored
 * (PII, masked, unlabelled: stats_policy.c's rule) must be read by the
 * expansion of one of that relation's masked views.
 *
 * Which entry of the plan's range table a masked view's body contributed
 * is told by position: PostgreSQL 15 expands a view into its rule's query,
 * whose range table starts with the view itself twice (OLD, which carries
 * the permission check, and NEW), followed by the body's relations, and
 * planning keeps each query's relation entries together and in order.  A
 * masked view's body reads only its base table, so the entry right after
 * a masked view's OLD and NEW entries is that view reading its table; any
 * other entry of the table is a read outside it.  (Only an expansion
 * produces that triple, and masked views cannot be redefined by hand:
 * masking_sql.c.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "ai_guard.h"
#include "provenance.h"
#include "masked_reads.h"
#include "stats_policy.h"

#define AG_SCHEMA "ai_guard"

/*
 * The first two columns (oids: regclass, regrole) of every row of
 * ai_guard.<table>; a missing table has none.
 */
static void
scan_oid_pairs(const char *table, List **first, List **second)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(table, nsp) : InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;

	if (!OidIsValid(relid))
		return;
	rel = table_open(relid, AccessShareLock);
	snap = RegisterSnapshot(GetCatalogSnapshot(relid));
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		if (isnull)
			continue;
		*first = lappend_oid(*first, DatumGetObjectId(d));
		if (second)
		{
			d = heap_getattr(tup, 2, RelationGetDescr(rel), &isnull);
			*second = lappend_oid(*second, isnull ? InvalidOid : DatumGetObjectId(d));
		}
	}
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
}

bool
ai_guard_is_masked_view(Oid relid)
{
	List	   *views = NIL;

	scan_oid_pairs("masked_views", &views, NULL);
	return list_member_oid(views, relid);
}

static Oid
masked_member(Oid role, List *masked)
{
	ListCell   *lc;

	foreach(lc, masked)
	{
		Oid			m = lfirst_oid(lc);

		/*
		 * A member is masked like the role; not a superuser, which may be
		 * granted a role only to SET ROLE to it (and could read anything
		 * anyway).
		 */
		if (role == m || (!superuser_arg(role) && is_member_of_role_nosuper(role, m)))
			return role;
	}
	return InvalidOid;
}

/*
 * The roles of ai_guard.masked_access, cached per backend: every governed
 * read asks.  A statement trigger on the table (60_governance.sql)
 * invalidates its relcache entry on every change, which resets the cache;
 * without that trigger (an extension not updated yet) the table is read
 * every time.
 */
static List *masked_roles = NIL;	/* in TopMemoryContext */
static bool masked_roles_valid = false;
static uint64 masked_roles_invals = 0;	/* invalidations seen */
static Oid	masked_access_relid = InvalidOid;

static void
masked_access_changed(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == masked_access_relid)
	{
		masked_roles_valid = false;
		masked_roles_invals++;
	}
}

void
ai_guard_masked_reads_init(void)
{
	CacheRegisterRelcacheCallback(masked_access_changed, (Datum) 0);
}

static List *
load_masked_roles(void)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);
	List	   *roles = NIL;
	bool		cacheable;
	MemoryContext old;
	uint64		invals = masked_roles_invals;

	if (masked_roles_valid)
		return masked_roles;
	masked_access_relid = OidIsValid(nsp) ? get_relname_relid("masked_access", nsp) : InvalidOid;
	cacheable = OidIsValid(masked_access_relid) &&
		OidIsValid(get_trigger_oid(masked_access_relid, "masked_access_changed", true));
	scan_oid_pairs("masked_access", &roles, NULL);
	if (!cacheable)
		return roles;
	old = MemoryContextSwitchTo(TopMemoryContext);
	list_free(masked_roles);
	masked_roles = list_copy(roles);
	MemoryContextSwitchTo(old);
	/* an invalidation while loading leaves it invalid: loaded again */
	masked_roles_valid = (invals == masked_roles_invals);
	return masked_roles;
}

Oid
ai_guard_masked_role(void)
{
	List	   *masked = load_masked_roles();
	Oid			role;

	if (masked == NIL)
		return InvalidOid;
	role = masked_member(GetUserId(), masked);
	if (!OidIsValid(role))
		role = masked_member(GetSessionUserId(), masked);
	return role;
}

/*
 * The first column of relid among cols (bit = attnum -
 * FirstLowInvalidHeapAttributeNumber; a whole-row reference is every
 * column) that masked views do not show as stored, as "rel.col"; NULL if
 * none.  Labels live on the governed relation gov (a partition's parent).
 */
static char *
private_column(Oid relid, Oid gov, Bitmapset *cols)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	bool		whole = bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber, cols);
	char	   *found = NULL;
	int			i;

	for (i = 0; i < desc->natts && found == NULL; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		AttrNumber	govatt;

		if (a->attisdropped)
			continue;
		if (!whole && !bms_is_member(a->attnum - FirstLowInvalidHeapAttributeNumber, cols))
			continue;
		govatt = (gov == relid) ? a->attnum : get_attnum(gov, NameStr(a->attname));
		if (govatt == InvalidAttrNumber || !ai_guard_column_shown_raw(gov, govatt))
			found = psprintf("%s.%s", ai_guard_qualified_name(gov),
							 quote_identifier(NameStr(a->attname)));
	}
	relation_close(rel, AccessShareLock);
	return found;
}

/*
 * The first private column an ungoverned parent's read would take from a
 * governed partition or inheritance child (the planner reads them under
 * the parent's permission check), or NULL.
 */
static char *
inheritor_private_column(RangeTblEntry *rte, Oid (*governing) (Oid relid, char relkind))
{
	List	   *inheritors;
	ListCell   *lc;
	char	   *found = NULL;

	if (!rte->inh || !has_subclass(rte->relid))
		return NULL;
	inheritors = find_all_inheritors(rte->relid, NoLock, NULL);
	foreach(lc, inheritors)
	{
		Oid			child = lfirst_oid(lc);
		Oid			gov;
		Bitmapset  *cols = NULL;
		int			col = -1;

		if (child == rte->relid)
			continue;
		gov = governing(child, get_rel_relkind(child));
		if (!OidIsValid(gov))
			continue;
		/* the parent's columns, by name in the child */
		while ((col = bms_next_member(rte->selectedCols, col)) >= 0)
		{
			AttrNumber	att = col + FirstLowInvalidHeapAttributeNumber;
			char	   *name;

			if (att == InvalidAttrNumber || (rte->requiredPerms & (ACL_UPDATE | ACL_DELETE)))
			{
				cols = bms_make_singleton(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber);
				break;
			}
			if (att < 0 || (name = get_attname(rte->relid, att, true)) == NULL)
				continue;
			att = get_attnum(child, name);
			if (att != InvalidAttrNumber)
				cols = bms_add_member(cols, att - FirstLowInvalidHeapAttributeNumber);
		}
		if (cols != NULL && (found = private_column(child, gov, cols)) != NULL)
			break;
	}
	list_free(inheritors);
	return found;
}

/* A masked view of relid, to name in the hint */
static Oid
masked_view_of(Oid relid, List *views, List *bases)
{
	ListCell   *lv;
	ListCell   *lb;

	forboth(lv, views, lb, bases)
	{
		if (lfirst_oid(lb) == relid && get_rel_name(lfirst_oid(lv)) != NULL)
			return lfirst_oid(lv);
	}
	return InvalidOid;
}

/*
 * Is entry k (0-based) of rtable the body of a masked view reading its
 * base table: right after that view's OLD and NEW entries?
 */
static bool
in_masked_view_body(List *rtable, int k, List *views, List *bases)
{
	RangeTblEntry *old;
	RangeTblEntry *new;
	RangeTblEntry *base;
	ListCell   *lv;
	ListCell   *lb;

	if (k < 2)
		return false;
	old = list_nth_node(RangeTblEntry, rtable, k - 2);
	new = list_nth_node(RangeTblEntry, rtable, k - 1);
	base = list_nth_node(RangeTblEntry, rtable, k);
	if (old->rtekind != RTE_RELATION || new->rtekind != RTE_RELATION ||
		old->relkind != RELKIND_VIEW || new->relid != old->relid ||
		new->requiredPerms != 0)
		return false;
	forboth(lv, views, lb, bases)
	{
		if (lfirst_oid(lv) == old->relid && lfirst_oid(lb) == base->relid)
			return true;
	}
	return false;
}

bool
ai_guard_masked_plan_ok(PlannedStmt *ps, Oid role,
						Oid (*governing) (Oid relid, char relkind),
						AgMaskedViolation *v)
{
	List	   *views = NIL;
	List	   *bases = NIL;
	ListCell   *lc;

	scan_oid_pairs("masked_views", &views, &bases);
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Oid			gov;
		char	   *col;

		/*
		 * Entries without permissions to check are inheritance children
		 * and rule placeholders: their parent's entry is checked.
		 */
		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW ||
			rte->requiredPerms == 0 ||
			(bms_is_empty(rte->selectedCols) &&
			 !(rte->requiredPerms & (ACL_UPDATE | ACL_DELETE))))
			continue;
		gov = governing(rte->relid, rte->relkind);
		if (!OidIsValid(gov))
		{
			/* a governed partition or child read through its parent */
			col = inheritor_private_column(rte, governing);
			if (col == NULL)
				continue;
			gov = rte->relid;
		}
		else
		{
			/*
			 * An UPDATE, DELETE, MERGE or ON CONFLICT that fails a constraint
			 * shows the whole existing row in its error: all its columns
			 */
			Bitmapset  *cols = (rte->requiredPerms & (ACL_UPDATE | ACL_DELETE)) ?
				bms_make_singleton(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber) :
				rte->selectedCols;

			col = private_column(rte->relid, gov, cols);
		}
		if (col == NULL ||
			in_masked_view_body(ps->rtable, foreach_current_index(lc), views, bases))
			continue;
		v->role = role;
		v->relid = gov;
		v->column = col;
		v->masked_view = masked_view_of(rte->relid, views, bases);
		if (!OidIsValid(v->masked_view))
			v->masked_view = masked_view_of(gov, views, bases);
		return false;
	}
	return true;
}

bool
ai_guard_masked_copy_ok(Oid relid, List *attnums, Oid role,
						Oid (*governing) (Oid relid, char relkind),
						AgMaskedViolation *v)
{
	Oid			gov = governing(relid, get_rel_relkind(relid));
	Bitmapset  *cols = NULL;
	ListCell   *lc;
	char	   *col;

	if (!OidIsValid(gov))
		return true;
	if (attnums == NIL)
		cols = bms_make_singleton(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber);
	foreach(lc, attnums)
		cols = bms_add_member(cols, lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	col = private_column(relid, gov, cols);
	if (col == NULL)
		return true;
	v->role = role;
	v->relid = gov;
	v->column = col;
	v->masked_view = InvalidOid;
	{
		List	   *views = NIL;
		List	   *bases = NIL;

		scan_oid_pairs("masked_views", &views, &bases);
		v->masked_view = masked_view_of(relid, views, bases);
		if (!OidIsValid(v->masked_view))
			v->masked_view = masked_view_of(gov, views, bases);
	}
	return false;
}

/*
 * Consent through views.  Rows of a tracked relation are filtered by its
 * row-level security policy (consent and quarantine, for the reader's
 * purpose), but a view runs as its owner, and the table's owner (or a role
 * with BYPASSRLS) is not filtered: a view the owner writes would hand every
 * row to anyone it is granted to.  Masked views carry the rule themselves;
 * any other view that reads a tracked relation without its policy, for a
 * role other than its owner, is refused.
 */
Oid
ai_guard_view_consent_bypass(PlannedStmt *ps)
{
	List	   *views = NIL;
	List	   *bases = NIL;
	ListCell   *lc;
	bool		any = false;

	/*
	 * A SECURITY DEFINER function runs its queries as its owner: one that
	 * the policy does not filter reads every row for a caller it would.
	 * (Superusers' functions are theirs to write.)
	 */
	if (InLocalUserIdChange() && GetUserId() != GetSessionUserId() &&
		!superuser_arg(GetUserId()))
	{
		foreach(lc, ps->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION && rte->relkind != RELKIND_VIEW &&
				!OidIsValid(rte->checkAsUser) && (rte->requiredPerms & ACL_SELECT) &&
				ai_guard_relation_is_tracked(rte->relid) &&
				check_enable_rls(rte->relid, GetUserId(), true) != RLS_ENABLED &&
				check_enable_rls(rte->relid, GetSessionUserId(), true) == RLS_ENABLED)
				return rte->relid;
		}
	}

	/*
	 * A tracked partition or child read through a parent that is not
	 * tracked: PostgreSQL applies the parent's row security only.
	 */
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		List	   *inheritors;
		ListCell   *li;
		Oid			found = InvalidOid;

		if (rte->rtekind != RTE_RELATION || !rte->inh || rte->requiredPerms == 0 ||
			ai_guard_relation_is_tracked(rte->relid) || !has_subclass(rte->relid))
			continue;
		inheritors = find_all_inheritors(rte->relid, NoLock, NULL);
		foreach(li, inheritors)
		{
			Oid			child = lfirst_oid(li);

			if (child != rte->relid && ai_guard_relation_is_tracked(child) &&
				check_enable_rls(child, GetUserId(), true) == RLS_ENABLED)
			{
				found = child;
				break;
			}
		}
		list_free(inheritors);
		if (OidIsValid(found))
			return found;
	}

	/* the cheap test first: a tracked relation read as another role */
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->relkind != RELKIND_VIEW &&
			OidIsValid(rte->checkAsUser) && rte->checkAsUser != GetUserId() &&
			(rte->requiredPerms & ACL_SELECT) && ai_guard_relation_is_tracked(rte->relid))
			any = true;
	}
	if (!any)
		return InvalidOid;

	scan_oid_pairs("masked_views", &views, &bases);
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW ||
			!OidIsValid(rte->checkAsUser) || rte->checkAsUser == GetUserId() ||
			!(rte->requiredPerms & ACL_SELECT) || !ai_guard_relation_is_tracked(rte->relid))
			continue;

		/*
		 * Consent holds if the view's owner is filtered by the policy; the
		 * reader loses nothing if it is not filtered itself (the owner, a
		 * superuser); masked views carry the rule themselves.
		 */
		if (check_enable_rls(rte->relid, rte->checkAsUser, true) == RLS_ENABLED ||
			check_enable_rls(rte->relid, GetUserId(), true) != RLS_ENABLED ||
			in_masked_view_body(ps->rtable, foreach_current_index(lc), views, bases))
			continue;
		return rte->relid;
	}
	return InvalidOid;
}
