/*
 * Impact queries over row membership (src/lineage.c, 45_membership.sql) and
 * models (50_models.sql): which pulls and models contained given rows, one
 * person's rows, or rows of a quarantined source.  They run with the
 * caller's rights: reading the answers needs SELECT on the audit tables
 * (ai_guard.pulls, pull_members, pull_relations), as a compliance role has.
 */

CREATE FUNCTION @extschema@._tracked_root_name(rel pg_catalog.regclass)
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
	  FROM @extschema@.tracked_relations t
	  JOIN pg_catalog.pg_class c ON c.oid = t.root
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	 WHERE t.rel = $1
$$;
COMMENT ON FUNCTION @extschema@._tracked_root_name(pg_catalog.regclass) IS
'internal: the name under which pulls record a tracked relation (its root), NULL if not tracked';

CREATE FUNCTION @extschema@.erasure_impact(rel pg_catalog.regclass,
	row_ids pg_catalog.int8[])
RETURNS TABLE (pull_id pg_catalog.int8, membership pg_catalog.text,
	matched_rows pg_catalog.int8, model_name pg_catalog.text,
	model_version pg_catalog.text, session_role pg_catalog.name,
	purpose pg_catalog.text, started_at pg_catalog.timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_rel text;
	v_ids int8[];
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'relation must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	v_rel := @extschema@._tracked_root_name(rel);
	IF v_rel IS NULL THEN
		RAISE EXCEPTION 'relation % is not tracked', rel
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Row membership is recorded for relations made tracked with ai_guard.track().';
	END IF;
	SELECT pg_catalog.array_agg(DISTINCT x ORDER BY x) INTO v_ids
	  FROM pg_catalog.unnest(row_ids) AS x WHERE x > 0;
	RETURN QUERY
	WITH hits AS (
		SELECT m.pull_id,
		       pg_catalog.sum(@extschema@.rowset_count_in(m.row_ids, v_ids))::int8 AS matched
		  FROM @extschema@.pull_members m
		 WHERE v_ids IS NOT NULL AND m.relation = v_rel
		   AND m.last_row_id >= v_ids[1]
		   AND m.first_row_id <= v_ids[pg_catalog.array_upper(v_ids, 1)]
		 GROUP BY m.pull_id
	), found AS (
		SELECT h.pull_id, 'exact'::text AS membership, h.matched
		  FROM hits h WHERE h.matched > 0
		UNION ALL
		-- a pull whose rows of rel are unknown may have contained them
		SELECT r.pull_id, 'unknown'::text, NULL::int8
		  FROM @extschema@.pull_relations r
		 WHERE r.relation = v_rel AND r.membership = 'unknown' AND v_ids IS NOT NULL
		UNION ALL
		-- so may one that read rel but recorded no membership (the server
		-- stopped before it ended, or it predates row membership)
		SELECT p.pull_id, 'unknown'::text, NULL::int8
		  FROM @extschema@.pulls p
		 WHERE v_ids IS NOT NULL AND p.status <> 'refused'
		   AND v_rel = ANY (p.relations)
		   AND NOT EXISTS (SELECT 1 FROM @extschema@.pull_relations r
		                    WHERE r.pull_id = p.pull_id AND r.relation = v_rel)
	)
	SELECT f.pull_id, f.membership, f.matched, mo.name, mo.version,
	       p.session_role, p.purpose, p.started_at
	  FROM found f
	  JOIN @extschema@.pulls p ON p.pull_id = f.pull_id
	  LEFT JOIN @extschema@.model_pulls mp ON mp.pull_id = f.pull_id
	  LEFT JOIN @extschema@.models mo ON mo.model_id = mp.model_id
	 ORDER BY f.pull_id, mo.name, mo.version;
END;
$$;
COMMENT ON FUNCTION @extschema@.erasure_impact(pg_catalog.regclass, pg_catalog.int8[]) IS
'the pulls (and the models trained on them) that delivered any of the given rows of a tracked relation: exact matches with how many rows, and pulls whose membership is unknown as possible matches';

CREATE FUNCTION @extschema@._subject_rows(value pg_catalog.text,
	OUT rel pg_catalog.regclass, OUT row_ids pg_catalog.int8[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ai_guard_subject_rows'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@._subject_rows(pg_catalog.text) IS
'internal: the rows of every tracked relation whose data-subject key column (label " subject") equals value; only for roles that may read ai_guard.pull_members (checked in C)';

CREATE FUNCTION @extschema@.subject_exposure(value pg_catalog.text)
RETURNS TABLE (relation pg_catalog.regclass, row_ids pg_catalog.int8[],
	pull_id pg_catalog.int8, membership pg_catalog.text,
	matched_rows pg_catalog.int8, model_name pg_catalog.text,
	model_version pg_catalog.text, session_role pg_catalog.name,
	purpose pg_catalog.text, started_at pg_catalog.timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.rel, s.row_ids, e.*
	  FROM @extschema@._subject_rows($1) s
	  LEFT JOIN LATERAL @extschema@.erasure_impact(s.rel, s.row_ids) e ON true
	 ORDER BY s.rel::pg_catalog.text, e.pull_id
$$;
COMMENT ON FUNCTION @extschema@.subject_exposure(pg_catalog.text) IS
'one data subject''s rows in every tracked relation (found through columns labelled " subject") and the pulls and models that contained them; needs SELECT on the audit tables';

CREATE FUNCTION @extschema@.quarantine_impact(quarantine_id pg_catalog.int8)
RETURNS TABLE (pull_id pg_catalog.int8, relation pg_catalog.text,
	membership pg_catalog.text, quarantined_batches pg_catalog.int8[],
	model_name pg_catalog.text, model_version pg_catalog.text,
	session_role pg_catalog.name, purpose pg_catalog.text,
	started_at pg_catalog.timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE qb(batch_id) AS (
		SELECT b.batch_id
		  FROM @extschema@.quarantines q
		  JOIN @extschema@.batches b
		    ON b.batch_id = q.batch_id OR b.source = q.source
		 WHERE q.quarantine_id = $1
		UNION
		-- rows derived from quarantined rows are tainted too
		SELECT d.batch_id FROM @extschema@.batches d, qb
		 WHERE qb.batch_id = ANY (d.derived_from)
	), tainted AS (
		SELECT pg_catalog.array_agg(batch_id) AS ids FROM qb
	), found AS (
		SELECT r.pull_id, r.relation, r.membership,
		       ARRAY(SELECT x FROM pg_catalog.unnest(r.batches) x
		              WHERE x = ANY (t.ids) ORDER BY x) AS batches
		  FROM @extschema@.pull_relations r, tainted t
		 WHERE r.membership = 'exact' AND r.batches OPERATOR(pg_catalog.&&) t.ids
		UNION ALL
		SELECT r.pull_id, r.relation, r.membership, NULL::int8[]
		  FROM @extschema@.pull_relations r, tainted t
		 WHERE r.membership = 'unknown'
		   AND EXISTS (SELECT 1 FROM @extschema@.relation_batches rb
		                WHERE @extschema@._tracked_root_name(rb.rel) = r.relation
		                  AND rb.batch_id = ANY (t.ids))
		UNION ALL
		-- pulls that read such a relation but recorded no membership
		SELECT p.pull_id, rel.name, 'unknown', NULL::int8[]
		  FROM (SELECT DISTINCT @extschema@._tracked_root_name(rb.rel) AS name
		          FROM @extschema@.relation_batches rb, tainted t
		         WHERE rb.batch_id = ANY (t.ids)) rel
		  JOIN @extschema@.pulls p
		    ON rel.name = ANY (p.relations) AND p.status <> 'refused'
		 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.pull_relations r
		                    WHERE r.pull_id = p.pull_id AND r.relation = rel.name)
	)
	SELECT f.pull_id, f.relation, f.membership, f.batches, mo.name, mo.version,
	       p.session_role, p.purpose, p.started_at
	  FROM found f
	  JOIN @extschema@.pulls p ON p.pull_id = f.pull_id
	  LEFT JOIN @extschema@.model_pulls mp ON mp.pull_id = f.pull_id
	  LEFT JOIN @extschema@.models mo ON mo.model_id = mp.model_id
	 ORDER BY f.pull_id, f.relation, mo.name, mo.version
$$;
COMMENT ON FUNCTION @extschema@.quarantine_impact(pg_catalog.int8) IS
'the pulls (and models trained on them) that delivered rows of a quarantined source or batch, or of batches derived from them; pulls with unknown membership of a relation holding such rows are listed as possible';
