#!/usr/bin/env bash
# Upgrade path: the oldest released version (0.1, ai_guard--0.1.sql frozen at
# the top) is installed, given data (keys, encrypted values, a tracked table
# with an ingest, a masked view, pulls), updated through every upgrade script
# with ALTER EXTENSION ai_guard UPDATE, and then compared with a fresh install
# of the default version: every object of the extension with its definition
# (functions, tables with columns, defaults, constraints, indexes, triggers,
# privileges and comments, views, sequences, types, event triggers, the
# pg_dump configuration). The data made under 0.1 must still work after.
# Runs on the test cluster (PG* variables). Prints TAP.
set -u
n=0
fail=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else
		echo "not ok $n - $1"; printf '#   got:  %s\n#   want: %s\n' "$2" "$3"; fail=1; fi
}
OLD=ai_guard_upgrade_old
NEW=ai_guard_upgrade_new
WORK=$(mktemp -d)
cleanup() { dropdb --if-exists -f $OLD 2>/dev/null; dropdb --if-exists -f $NEW 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cleanup
mkdir -p "$WORK"

control_default=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$AG_TOP/ai_guard.control")
# the oldest released version: the oldest frozen install script at the top
oldest=$(cd "$AG_TOP" && ls ai_guard--*.sql | grep -v -- '--.*--' |
	sed 's/ai_guard--\(.*\)\.sql/\1/' | sort -V | head -n 1)

createdb $OLD && createdb $NEW
psql -X -q -d $NEW -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION ai_guard' >/dev/null 2>&1
check "fresh install is the default version $control_default" \
	"$(psql -X -At -d $NEW -c "SELECT extversion FROM pg_extension WHERE extname = 'ai_guard'")" "$control_default"

# ---- the oldest version, with data ----
out=$(psql -X -q -At -d $OLD -v ON_ERROR_STOP=1 2>&1 <<SQL
CREATE EXTENSION ai_guard VERSION '$oldest';
SELECT ai_guard.create_key('up_key');
SELECT ai_guard.create_key('up_hmac', 'hmac-sha256');
CREATE TABLE public.up_secrets (id int, v bytea);
INSERT INTO public.up_secrets SELECT g, ai_guard.encrypt('secret ' || g, 'up_key', 'ctx') FROM generate_series(1, 20) g;
SELECT ai_guard.rotate_key('up_key');
INSERT INTO public.up_secrets SELECT g, ai_guard.encrypt('secret ' || g, 'up_key', 'ctx') FROM generate_series(21, 30) g;
CREATE TABLE public.up_items (id int, email text);
SELECT ai_guard.track('public.up_items');
SELECT ai_guard.begin_ingest('upgrade-test', 'MIT', '{training}');
INSERT INTO public.up_items SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 50) g;
SELECT ai_guard.end_ingest();
SECURITY LABEL FOR ai_guard ON COLUMN public.up_items.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN public.up_items.email IS 'pii:email';
CREATE SCHEMA up_masked;
SELECT ai_guard.create_masked_view('public.up_items', 'up_masked');
SELECT ai_guard.grant_purpose('postgres', 'training');
SET ai_guard.purpose = 'training:upgrade';
SELECT count(*) FROM public.up_items;
SELECT count(*) FROM up_masked.up_items;
SELECT ai_guard.audit_flush();
SQL
)
check "version $oldest installs and takes data" "$?" "0"
[ "$fail" -eq 0 ] || echo "$out" | sed 's/^/# /'
check "the old install is version $oldest" \
	"$(psql -X -At -d $OLD -c "SELECT extversion FROM pg_extension WHERE extname = 'ai_guard'")" "$oldest"
pulls_before=$(psql -X -At -d $OLD -c 'SELECT count(*) FROM ai_guard.pulls')
entries_before=$(psql -X -At -d $OLD -c 'SELECT count(*) FROM ai_guard.audit_log')

# ---- update through every step ----
path=$(psql -X -At -d $OLD -c "SELECT path FROM pg_extension_update_paths('ai_guard') WHERE source = '$oldest' AND target = '$control_default'")
check "an update path $oldest -> $control_default exists ($path)" "$([ -n "$path" ] && echo yes)" yes
out=$(psql -X -q -d $OLD -v ON_ERROR_STOP=1 -c 'ALTER EXTENSION ai_guard UPDATE' 2>&1)
check "ALTER EXTENSION ai_guard UPDATE succeeds" "$?:$out" "0:"
check "the updated install is version $control_default" \
	"$(psql -X -At -d $OLD -c "SELECT extversion FROM pg_extension WHERE extname = 'ai_guard'")" "$control_default"

# ---- every object of the extension, with its definition ----
cat >"$WORK/objects.sql" <<'SQL'
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' | '
WITH members AS (
	SELECT d.classid, d.objid, d.objsubid
	  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'ai_guard'
	   AND d.deptype = 'e'
)
SELECT 'member', pg_describe_object(classid, objid, objsubid) FROM members
UNION ALL
-- functions and procedures: full definition, privileges, comment
SELECT 'function', p.oid::regprocedure::text || E'\n' || pg_get_functiondef(p.oid)
       || E'\nacl ' || coalesce(p.proacl::text, '-')
       || E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
-- relations: kind, privileges, comment, options
SELECT 'relation', c.oid::regclass::text || ' kind ' || c.relkind::text
       || ' acl ' || coalesce(c.relacl::text, '-') || ' persistence ' || c.relpersistence::text
       || ' rls ' || c.relrowsecurity || ' options ' || coalesce(c.reloptions::text, '-')
       || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
-- columns, in order (a column added by an upgrade must be the last one)
SELECT 'column', a.attrelid::regclass::text || ' #' || a.attnum || ' ' || a.attname
       || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
       || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
       || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
       || coalesce(' collation ' || a.attcollation::regcollation::text, '')
       || ' acl ' || coalesce(a.attacl::text, '-')
       || ' comment ' || coalesce(col_description(a.attrelid, a.attnum), '-')
  FROM members m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', co.conrelid::regclass::text || ' ' || co.conname || ' '
       || pg_get_constraintdef(co.oid)
  FROM members m JOIN pg_constraint co ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
UNION ALL
SELECT 'index', pg_get_indexdef(i.indexrelid)
  FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
UNION ALL
SELECT 'trigger', pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
  FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid
 WHERE NOT t.tgisinternal
UNION ALL
SELECT 'view', c.oid::regclass::text || E'\n' || pg_get_viewdef(c.oid)
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
 WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT 'policy', pol.polrelid::regclass::text || ' ' || pol.polname || ' ' || pol.polcmd::text
       || ' ' || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '-')
  FROM members m JOIN pg_policy pol ON m.classid = 'pg_class'::regclass AND pol.polrelid = m.objid
UNION ALL
SELECT 'sequence', s.seqrelid::regclass::text || ' ' || format_type(s.seqtypid, NULL)
       || ' start ' || s.seqstart || ' inc ' || s.seqincrement || ' min ' || s.seqmin
       || ' max ' || s.seqmax || ' cache ' || s.seqcache || ' cycle ' || s.seqcycle
  FROM members m JOIN pg_sequence s ON m.classid = 'pg_class'::regclass AND s.seqrelid = m.objid
UNION ALL
SELECT 'type', t.oid::regtype::text || ' ' || t.typtype::text || ' '
       || coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                      FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '')
       || ' acl ' || coalesce(t.typacl::text, '-')
       || ' comment ' || coalesce(obj_description(t.oid, 'pg_type'), '-')
  FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
UNION ALL
SELECT 'event trigger', ev.evtname || ' on ' || ev.evtevent || ' ' || ev.evtfoid::regproc::text
       || ' enabled ' || ev.evtenabled::text || ' tags ' || coalesce(ev.evttags::text, '-')
  FROM members m JOIN pg_event_trigger ev ON m.classid = 'pg_event_trigger'::regclass AND ev.oid = m.objid
UNION ALL
-- what pg_dump keeps of the extension's tables (pg_extension_config_dump)
SELECT 'config dump', x.rel::regclass::text || ' where ' || coalesce(x.cond, '-')
  FROM pg_extension e,
       unnest(e.extconfig, e.extcondition) AS x(rel, cond)
 WHERE e.extname = 'ai_guard'
UNION ALL
SELECT 'extension', e.extname || ' schema ' || e.extnamespace::regnamespace::text
       || ' relocatable ' || e.extrelocatable
  FROM pg_extension e WHERE e.extname = 'ai_guard'
UNION ALL
SELECT 'schema', n.nspname || ' acl ' || coalesce(n.nspacl::text, '-')
  FROM pg_namespace n WHERE n.nspname = 'ai_guard'
ORDER BY 1, 2;
SQL
psql -X -q -d $OLD -f "$WORK/objects.sql" >"$WORK/updated.txt" 2>&1
psql -X -q -d $NEW -f "$WORK/objects.sql" >"$WORK/fresh.txt" 2>&1
head -n 5 "$WORK/fresh.txt" | grep -i error | sed "s/^/# /"
objects=$(grep -c '^member' "$WORK/fresh.txt")
check "the listing covers the extension's objects ($objects members)" \
	"$([ "$objects" -gt 50 ] && echo yes || echo "$objects")" yes
for kind in member function relation column constraint index trigger view sequence type 'event trigger' 'config dump' schema; do
	d=$(diff <(grep -a "^$kind |" "$WORK/updated.txt") <(grep -a "^$kind |" "$WORK/fresh.txt") | head -n 20)
	check "after the update, every $kind equals a fresh install" "${d:-same}" same
done
# everything, including continuation lines of function bodies
d=$(diff "$WORK/updated.txt" "$WORK/fresh.txt" | head -n 40)
check "the whole listing equals a fresh install" "${d:-same}" same
[ -z "$d" ] || echo "$d" | sed 's/^/# /'

# ---- the data made under the old version still works ----
check "values encrypted under $oldest decrypt (both key versions)" \
	"$(psql -X -At -d $OLD -c "SELECT count(*) FROM public.up_secrets WHERE ai_guard.decrypt_text(v, 'ctx') = 'secret ' || id")" 30
check "rows ingested under $oldest verify" \
	"$(psql -X -At -d $OLD -c "SELECT count(*) FROM ai_guard.verify_rows('public.up_items')")" 0
check "audit records made under $oldest are kept" \
	"$(psql -X -At -d $OLD -c 'SELECT count(*) >= 2 AND count(*) = '"$pulls_before"' FROM ai_guard.pulls')" t
out=$(PGOPTIONS='-c ai_guard.purpose=training:after-upgrade' psql -X -At -d $OLD \
	-c 'SELECT count(*) FROM up_masked.up_items' -c 'SELECT ai_guard.audit_flush()' \
	-c "SELECT status, rows FROM ai_guard.pulls WHERE pull_id = ai_guard.last_pull_id()" 2>&1)
check "a governed read after the update is recorded" "$(echo "$out" | tr '\n' ' ')" "50  completed|1 "
# what came with the update works on the updated data
out=$(PGOPTIONS='-c ai_guard.purpose=training:after-upgrade' psql -X -At -d $OLD \
	-c 'CREATE TABLE public.up_copy AS SELECT * FROM public.up_items' 2>&1)
check "a copy of a table tracked under $oldest is governed as derived" \
	"$(psql -X -At -d $OLD -c "SELECT string_agg(reason, ',' ORDER BY reason) FROM ai_guard.governed_relations WHERE rel = 'public.up_copy'::regclass")" "derived,track"
check "changes of governance after the update are on the record" \
	"$(psql -X -At -d $OLD -c "SELECT count(*) > 0 FROM ai_guard.governance_changes WHERE object = 'public.up_copy'")" t
check "until the platform team records how many entries had no MAC, the chain is not reported intact" \
	"$(psql -X -At -d $OLD -c 'SELECT intact, problem FROM ai_guard.verify_audit()')" \
	"f|$entries_before chain entries carry no MAC but ai_guard.audit_unkeyed_entries is 0: a database created at 0.3 has none; after an update from 0.2, set it to the number of entries the chain then had"
psql -X -q -d $OLD -c "ALTER DATABASE $OLD SET ai_guard.audit_unkeyed_entries = $entries_before"
check "the audit chain verifies across the update" \
	"$(psql -X -At -d $OLD -c 'SELECT intact FROM ai_guard.verify_audit()')" t
check "the chain is keyed from the first record after the update, binding the $entries_before entries before" \
	"$(psql -X -At -d $OLD -c "SELECT e.epoch, e.unkeyed_before, e.started_seq, v.unkeyed FROM ai_guard.audit_epochs e, ai_guard.verify_audit() v")" \
	"1|$entries_before|$((entries_before + 1))|$entries_before"
check "the signed head of the updated chain" \
	"$(psql -X -At -d $OLD -c "SELECT epoch, length(signature) FROM ai_guard.audit_head()")" "1|128"
echo "1..$n"
exit $fail
