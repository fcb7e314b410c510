-- ai_guard 0.1 -> 0.2 upgrade: changes to the objects that 0.1 created
--
-- The Makefile builds ai_guard--0.1--0.2.sql from this file followed by
-- every fragment of src/sql that 0.1 did not have (the names 0.1 had are
-- listed in src/sql/upgrade/0.1.fragments). So:
--   - a NEW fragment (src/sql/NN_*.sql) needs nothing here;
--   - a CHANGE to a fragment listed in 0.1.fragments needs its statement
--     here too (CREATE OR REPLACE FUNCTION, ALTER TABLE ... ADD COLUMN at the
--     end of the table, new GRANT/REVOKE/COMMENT, pg_extension_config_dump
--     of a new table ...), written so that the result equals a fresh install;
--   - test/scripts/upgrade.sh (in the test command) installs 0.1, runs
--     ALTER EXTENSION ai_guard UPDATE and compares every object of the
--     extension, with its definition, with a fresh 0.2 install.
-- See docs/UPGRADING.md.

\echo Use "ALTER EXTENSION ai_guard UPDATE TO '0.2'" to load this file. \quit

/*
 * 40_audit.sql: verify_audit() also checks row membership (pull_members and
 * pull_relations, created by 45_membership.sql below) against the chain,
 * compares each pull record with its latest pull event only, and reports
 * the pulls still in progress and those cut off (unfinished_pulls(), new);
 * its result has two more columns, so it is created again
 */
DROP FUNCTION @extschema@.verify_audit();
-- records left "started": a pull still running, or one cut off (its backend
-- is gone: a crash, a kill) that will never be completed
CREATE FUNCTION @extschema@.unfinished_pulls(
	OUT pull_id pg_catalog.int8, OUT started_at pg_catalog.timestamptz,
	OUT session_role pg_catalog.name, OUT "current_role" pg_catalog.name,
	OUT backend_pid pg_catalog.int4, OUT purpose pg_catalog.text,
	OUT relations pg_catalog.text[], OUT state pg_catalog.text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT p.pull_id, p.started_at, p.session_role, p."current_role", p.backend_pid,
       p.purpose, p.relations,
       CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(p.backend_pid) a
                          WHERE a.backend_start <= p.started_at)
            THEN 'in progress' ELSE 'cut off' END
  FROM @extschema@.pulls p
 WHERE p.status = 'started'
 ORDER BY p.pull_id
$$;
REVOKE ALL ON FUNCTION @extschema@.unfinished_pulls() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.unfinished_pulls() IS
'pull records still "started": in progress (their backend still runs) or cut off (their backend is gone, so they will never complete)';

CREATE FUNCTION @extschema@.verify_audit(
	OUT intact pg_catalog.bool, OUT records pg_catalog.int8,
	OUT broken_seq pg_catalog.int8, OUT broken_pull_id pg_catalog.int8,
	OUT problem pg_catalog.text, OUT in_progress pg_catalog.int8,
	OUT cut_off pg_catalog.int8)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r      record;
	v_prev text := '';
	v_seq  int8 := 0;
	v_ch   text;
	st     record;
BEGIN
	intact := false;
	records := 0;
	-- 0. pulls still "started": running now, or cut off and never to complete
	SELECT pg_catalog.count(*) FILTER (WHERE u.state = 'in progress'),
	       pg_catalog.count(*) FILTER (WHERE u.state = 'cut off')
	  INTO in_progress, cut_off
	  FROM @extschema@.unfinished_pulls() u;
	-- 1. the chain itself: consecutive, linked, each hash recomputes
	FOR r IN SELECT * FROM @extschema@.audit_log ORDER BY seq LOOP
		IF r.seq <> v_seq + 1 THEN
			broken_seq := v_seq + 1;
			problem := format('chain entry %s is missing (next present is %s)', v_seq + 1, r.seq);
			RETURN;
		END IF;
		IF r.prev_hash <> v_prev THEN
			broken_seq := r.seq; broken_pull_id := r.pull_id;
			problem := format('chain entry %s does not link to the previous entry', r.seq);
			RETURN;
		END IF;
		IF r.record_hash IS DISTINCT FROM @extschema@._record_hash(r.prev_hash,
				ARRAY[r.seq::text, r.pull_id::text, r.event, r.content_hash]) THEN
			broken_seq := r.seq; broken_pull_id := r.pull_id;
			problem := format('chain entry %s was altered', r.seq);
			RETURN;
		END IF;
		v_prev := r.record_hash;
		v_seq := r.seq;
	END LOOP;
	records := v_seq;
	-- 2. the head: a truncated tail is noticed
	SELECT * INTO st FROM @extschema@.audit_state;
	IF FOUND AND (st.seq <> v_seq OR st.head <> v_prev) THEN
		broken_seq := v_seq + 1;
		problem := format('the chain ends at entry %s but its recorded head is entry %s', v_seq, st.seq);
		RETURN;
	ELSIF NOT FOUND AND v_seq > 0 THEN
		problem := 'the chain head record is missing';
		RETURN;
	END IF;
	-- 3. every record equals what its latest chain entry hashed
	FOR r IN
		SELECT p.pull_id, p.record_hash AS p_hash, l.seq, l.record_hash AS l_hash,
		       l.content_hash,
		       @extschema@._record_hash('', @extschema@._pull_fields(p)) AS now_hash
		  FROM @extschema@.pulls p
		  LEFT JOIN LATERAL (SELECT * FROM @extschema@.audit_log a
		                      WHERE a.pull_id = p.pull_id
		                        AND a.event NOT IN ('members', 'relation')
		                      ORDER BY a.seq DESC LIMIT 1) l ON true
		 ORDER BY p.pull_id
	LOOP
		IF r.seq IS NULL THEN
			broken_pull_id := r.pull_id;
			problem := format('pull %s has no chain entry', r.pull_id);
			RETURN;
		END IF;
		IF r.content_hash <> r.now_hash OR r.p_hash IS DISTINCT FROM r.l_hash THEN
			broken_seq := r.seq; broken_pull_id := r.pull_id;
			problem := format('pull %s was altered after chain entry %s', r.pull_id, r.seq);
			RETURN;
		END IF;
	END LOOP;
	-- 4. no record was deleted
	SELECT a.seq, a.pull_id INTO r FROM @extschema@.audit_log a
	 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.pulls p WHERE p.pull_id = a.pull_id)
	 ORDER BY a.seq LIMIT 1;
	IF FOUND THEN
		broken_seq := r.seq; broken_pull_id := r.pull_id;
		problem := format('pull %s was deleted', r.pull_id);
		RETURN;
	END IF;
	-- 5. row membership equals what the chain hashed; none added or deleted
	SELECT m.pull_id INTO r FROM @extschema@.pull_members m
	 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.audit_log a
	                    WHERE a.pull_id = m.pull_id AND a.event = 'members'
	                      AND a.content_hash = @extschema@._record_hash('',
	                                             @extschema@._members_fields(m)))
	 LIMIT 1;
	IF NOT FOUND THEN
		SELECT x.pull_id INTO r FROM @extschema@.pull_relations x
		 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.audit_log a
		                    WHERE a.pull_id = x.pull_id AND a.event = 'relation'
		                      AND a.content_hash = @extschema@._record_hash('',
		                                             @extschema@._relation_fields(x)))
		 LIMIT 1;
	END IF;
	IF FOUND THEN
		broken_pull_id := r.pull_id;
		problem := format('the row membership of pull %s was altered', r.pull_id);
		RETURN;
	END IF;
	SELECT a.pull_id INTO r FROM @extschema@.audit_log a
	 WHERE a.event IN ('members', 'relation')
	 GROUP BY a.pull_id, a.event
	HAVING count(*) <> CASE a.event
	         WHEN 'members' THEN (SELECT count(*) FROM @extschema@.pull_members m
	                               WHERE m.pull_id = a.pull_id)
	         ELSE (SELECT count(*) FROM @extschema@.pull_relations x
	                WHERE x.pull_id = a.pull_id) END
	 LIMIT 1;
	IF FOUND THEN
		broken_pull_id := r.pull_id;
		problem := format('the row membership of pull %s was deleted', r.pull_id);
		RETURN;
	END IF;
	intact := true;
END;
$$;
GRANT EXECUTE ON FUNCTION @extschema@.verify_audit() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_audit() IS
'checks the audit hash chain and every pull record against it; returns intact, the number of chain entries, the first broken entry and problem, and how many pulls are still in progress or were cut off';

/* the new fragments follow */

/*
 * 40_audit.sql: every pull records the rows it examined per governed
 * relation; the canonical form hashes it only when set, so that the records
 * written before keep their hashes
 */
ALTER TABLE @extschema@.pulls ADD COLUMN rows_read pg_catalog.jsonb;
COMMENT ON COLUMN @extschema@.pulls.rows_read IS
'rows the statement examined per governed relation (a JSON object): rows its scans returned plus rows their conditions removed, at least the rows delivered';
CREATE OR REPLACE FUNCTION @extschema@._pull_fields(p @extschema@.pulls)
RETURNS pg_catalog.text[]
LANGUAGE sql STABLE
AS $$
SELECT ARRAY[
	p.pull_id::text, p.status, p.kind,
	pg_catalog.to_char(pg_catalog.timezone('UTC', p.started_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	pg_catalog.to_char(pg_catalog.timezone('UTC', p.ended_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	p.session_role::text, p."current_role"::text, p.client_addr::text,
	p.application_name, p.backend_pid::text, p.database::text, p.purpose,
	p.query, p.client_query, p.query_id::text, p.nesting_level::text,
	p.param_count::text, p.param_types::text, p.relations::text,
	p.columns_returned::text, p.columns_filtered::text, p.columns_pii::text,
	p.columns_encrypted::text, p.masks::text, p.target, p.rows::text,
	p.bytes::text, p.digest, p.snapshot_xmin::text, p.snapshot_xmax::text,
	p.snapshot_xip::text, p.detail]
	-- fields added later are hashed only when set: older records keep their hash
	|| CASE WHEN p.rows_read IS NULL THEN '{}'::pg_catalog.text[]
	        ELSE ARRAY[p.rows_read::text] END
$$;

/*
 * 40_audit.sql: statistics of governed relations hold no raw values of
 * their non-public columns; the relations governed before are stripped now
 */
-- a relation that becomes governed keeps no raw values in its statistics
CREATE FUNCTION @extschema@._governed_added()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_governed_added'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._governed_added() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._governed_added() IS
'internal: trigger that removes the value statistics of the non-public columns of a relation that becomes governed';

CREATE TRIGGER governed_relations_added
	AFTER INSERT OR UPDATE ON @extschema@.governed_relations
	FOR EACH ROW EXECUTE FUNCTION @extschema@._governed_added();
ALTER TABLE @extschema@.governed_relations ENABLE ALWAYS TRIGGER governed_relations_added;
UPDATE @extschema@.governed_relations SET rel = rel;
/*
 * Trusted functions (src/leak_policy.c): user-defined functions that the
 * platform team lets see the column values of governed reads.  Every other
 * function that is not built in, not ai_guard's and not LEAKPROOF is
 * refused there (ai_guard.refuse_untrusted_functions).
 */

CREATE TABLE @extschema@.trusted_functions (
	fn         pg_catalog.regprocedure PRIMARY KEY,
	trusted_by pg_catalog.name NOT NULL,
	trusted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	reason     pg_catalog.text,
	-- what the function did when it was trusted (language, body, settings):
	-- CREATE OR REPLACE with another body withdraws the trust
	fingerprint pg_catalog.text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.trusted_functions', '');
REVOKE ALL ON @extschema@.trusted_functions FROM PUBLIC;
COMMENT ON TABLE @extschema@.trusted_functions IS
'user-defined functions trusted to see the column values of governed reads, with who trusted them, when, why, and the definition trusted';

CREATE FUNCTION @extschema@.trust_function(fn pg_catalog.regprocedure,
	reason pg_catalog.text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_trust_function'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.trust_function(pg_catalog.regprocedure, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.trust_function(pg_catalog.regprocedure, pg_catalog.text) IS
'lets a user-defined function see the column values of governed reads; records who trusted it, when and why';

CREATE FUNCTION @extschema@.distrust_function(fn pg_catalog.regprocedure)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_distrust_function'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.distrust_function(pg_catalog.regprocedure) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.distrust_function(pg_catalog.regprocedure) IS
'withdraws the trust given with trust_function(); returns false if the function was not trusted';

-- a dropped function is forgotten: its OID may come back as another function
CREATE FUNCTION @extschema@._forget_trusted_functions()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.trusted_functions t
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND t.fn::pg_catalog.oid = d.objid;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@._forget_trusted_functions() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._forget_trusted_functions() IS
'internal: event trigger that forgets trusted functions when they are dropped';

CREATE EVENT TRIGGER ai_guard_forget_trusted ON sql_drop
	EXECUTE FUNCTION @extschema@._forget_trusted_functions();
/*
 * Row membership (src/lineage.c): which rows of tracked relations each pull
 * delivered, written by the audit writer next to the pull's record and
 * hash-chained with it; read by the impact queries (55_impact.sql).
 */

/*---- membership catalog ----*/

-- one row per pull and tracked relation it read
CREATE TABLE @extschema@.pull_relations (
	pull_id     pg_catalog.int8 NOT NULL,
	relation    pg_catalog.text NOT NULL,
	membership  pg_catalog.text NOT NULL
	            CHECK (membership IN ('exact', 'unknown')),
	reason      pg_catalog.text,
	row_count   pg_catalog.int8,
	batches     pg_catalog.int8[],
	PRIMARY KEY (pull_id, relation)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pull_relations', '');
REVOKE ALL ON @extschema@.pull_relations FROM PUBLIC;
COMMENT ON TABLE @extschema@.pull_relations IS
'tracked relations each pull read: whether its rows are known exactly (else why not), how many distinct rows, and the ingest batches they came from';

-- the row ids themselves, in segments of 2^20 ids (src/core/rowset.h encoding)
CREATE TABLE @extschema@.pull_members (
	pull_id      pg_catalog.int8 NOT NULL,
	relation     pg_catalog.text NOT NULL,
	segment      pg_catalog.int8 NOT NULL,
	row_count    pg_catalog.int8 NOT NULL,
	first_row_id pg_catalog.int8 NOT NULL,
	last_row_id  pg_catalog.int8 NOT NULL,
	row_ids      pg_catalog.bytea NOT NULL,
	PRIMARY KEY (pull_id, relation, segment)
);
CREATE INDEX ON @extschema@.pull_members (relation, first_row_id);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pull_members', '');
REVOKE ALL ON @extschema@.pull_members FROM PUBLIC;
COMMENT ON TABLE @extschema@.pull_members IS
'row ids of tracked relations delivered by each pull, as compact sets of up to 2^20 consecutive ids (segment = row id >> 20)';

-- like the pull records, written only by the audit writer
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pull_relations
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pull_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pull_members
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pull_members
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
ALTER TABLE @extschema@.pull_relations ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pull_relations ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE @extschema@.pull_members ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pull_members ENABLE ALWAYS TRIGGER protect_truncate;

-- the canonical forms the chain hashes (events 'members' and 'relation')
CREATE FUNCTION @extschema@._members_fields(m @extschema@.pull_members)
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE
AS $$
SELECT ARRAY[m.pull_id::text, m.relation, m.segment::text, m.row_count::text,
	m.first_row_id::text, m.last_row_id::text,
	pg_catalog.encode(pg_catalog.sha256(m.row_ids), 'hex')]
$$;
REVOKE ALL ON FUNCTION @extschema@._members_fields(@extschema@.pull_members) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._members_fields(@extschema@.pull_members) IS
'internal: the canonical fields of a row-membership segment that the chain hashes';

CREATE FUNCTION @extschema@._relation_fields(r @extschema@.pull_relations)
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE
AS $$
SELECT ARRAY[r.pull_id::text, r.relation, r.membership, r.reason,
	r.row_count::text, r.batches::text]
$$;
REVOKE ALL ON FUNCTION @extschema@._relation_fields(@extschema@.pull_relations) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._relation_fields(@extschema@.pull_relations) IS
'internal: the canonical fields of a pull''s relation record that the chain hashes';

-- a change of the tracked set resets the planner's per-backend cache
CREATE TRIGGER tracked_relations_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.tracked_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._governed_changed();
ALTER TABLE @extschema@.tracked_relations ENABLE ALWAYS TRIGGER tracked_relations_changed;

/*---- reading row id sets ----*/

CREATE FUNCTION @extschema@.rowset_ids(row_ids pg_catalog.bytea)
RETURNS SETOF pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_rowset_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rowset_ids(pg_catalog.bytea) IS
'the row ids of an encoded set (ai_guard.pull_members.row_ids), ascending';

CREATE FUNCTION @extschema@.rowset_count_in(row_ids pg_catalog.bytea, ids pg_catalog.int8[])
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_rowset_count_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rowset_count_in(pg_catalog.bytea, pg_catalog.int8[]) IS
'how many of the given row ids an encoded set holds (without expanding it)';

CREATE FUNCTION @extschema@.pull_row_ids(pull_id pg_catalog.int8, rel pg_catalog.regclass)
RETURNS SETOF pg_catalog.int8
LANGUAGE sql STABLE
AS $$
	SELECT @extschema@.rowset_ids(m.row_ids)
	  FROM @extschema@.pull_members m
	  JOIN @extschema@.tracked_relations t ON t.rel OPERATOR(pg_catalog.=) $2
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.root
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE m.pull_id OPERATOR(pg_catalog.=) $1
	   AND m.relation OPERATOR(pg_catalog.=) pg_catalog.format('%I.%I', n.nspname, c.relname)
	 ORDER BY m.segment
$$;
COMMENT ON FUNCTION @extschema@.pull_row_ids(pg_catalog.int8, pg_catalog.regclass) IS
'the row ids of a tracked relation that a pull delivered (needs SELECT on ai_guard.pull_members)';
/*
 * Row budgets (src/budget.c): how many governed rows a role may pull for a
 * purpose per interval.  A pull that would go beyond is refused, recorded,
 * and announced on the notification channel ai_guard_alerts.
 */

CREATE TABLE @extschema@.budgets (
	role      pg_catalog.name NOT NULL,
	purpose   pg_catalog.text NOT NULL,
	max_rows  pg_catalog.int8 NOT NULL CHECK (max_rows >= 0),
	per       pg_catalog.interval NOT NULL CHECK (per > '0'::pg_catalog.interval),
	set_by    pg_catalog.name NOT NULL,
	set_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (role, purpose)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budgets', '');
REVOKE ALL ON @extschema@.budgets FROM PUBLIC;
COMMENT ON TABLE @extschema@.budgets IS
'row budgets: at most max_rows governed rows per interval for a role (its current_role in pulls) and a purpose class or full purpose';

CREATE FUNCTION @extschema@.set_budget(role pg_catalog.regrole,
	purpose pg_catalog.text, max_rows pg_catalog.int8, per pg_catalog.interval)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_set_budget'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.set_budget(pg_catalog.regrole, pg_catalog.text, pg_catalog.int8, pg_catalog.interval) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.set_budget(pg_catalog.regrole, pg_catalog.text, pg_catalog.int8, pg_catalog.interval) IS
'sets (or replaces) the row budget of a role for a purpose class or full purpose: at most max_rows governed rows per interval';

CREATE FUNCTION @extschema@.drop_budget(role pg_catalog.regrole, purpose pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_drop_budget'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.drop_budget(pg_catalog.regrole, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.drop_budget(pg_catalog.regrole, pg_catalog.text) IS
'removes a row budget; returns false if there was none';

-- what a pull counts against a budget: the rows it delivered, and for a pull
-- that failed one more, the value its error message may quote (one failed
-- pull per value would otherwise cost nothing); what a failed pull did
-- besides (notifications, large objects, writes) was rolled back with it
CREATE FUNCTION @extschema@._pull_charge(p @extschema@.pulls)
RETURNS pg_catalog.int8
LANGUAGE sql IMMUTABLE
AS $$
SELECT COALESCE(p.rows, 0) + CASE WHEN p.status = 'failed' THEN 1 ELSE 0 END
$$;
-- callable by whoever reads budget_usage: it only computes on a pulls row
GRANT EXECUTE ON FUNCTION @extschema@._pull_charge(@extschema@.pulls) TO PUBLIC;
COMMENT ON FUNCTION @extschema@._pull_charge(@extschema@.pulls) IS
'internal: the rows a pull counts against a row budget: those delivered, and one more for a failed pull (the value its error may quote)';

CREATE VIEW @extschema@.budget_usage AS
SELECT b.role, b.purpose, b.max_rows, b.per,
       u.rows AS used_rows,
       GREATEST(b.max_rows - u.rows, 0) AS rows_left,
       u.pulls, u.refused
  FROM @extschema@.budgets b
 CROSS JOIN LATERAL (
	SELECT COALESCE(pg_catalog.sum(@extschema@._pull_charge(p)), 0)::pg_catalog.int8 AS rows,
	       pg_catalog.count(*) FILTER (WHERE p.status <> 'refused') AS pulls,
	       pg_catalog.count(*) FILTER (WHERE p.status = 'refused') AS refused
	  FROM @extschema@.pulls p
	 WHERE p."current_role" = b.role
	   AND p.started_at > pg_catalog.now() - b.per
	   AND (p.purpose = b.purpose OR pg_catalog.split_part(p.purpose, ':', 1) = b.purpose)) u;
REVOKE ALL ON @extschema@.budget_usage FROM PUBLIC;
COMMENT ON VIEW @extschema@.budget_usage IS
'consumption of each row budget in its current interval: rows pulled, rows left, pulls made and refused';

/*---------------------------------------------------------------------------
 * Models and their lineage, OpenLineage export (docs/lineage.md)
 *
 * A model is registered with the pulls it was trained on. lineage() walks
 * model -> pulls -> relations -> ingest batches -> sources, licenses and
 * consent. A relation's batches are exact when the audit writer recorded the
 * pull's row membership (pull_relations.batches, 45_membership.sql), and
 * otherwise "possible": every batch that had written rows into the relation
 * before the pull ended (relation_batches), a superset of the truth.
 * openlineage_event() describes one pull as an OpenLineage RunEvent.
 *
 * Who sees what: a role that may read ai_guard.pulls (compliance) or a
 * superuser sees every model and pull; any other role sees the models whose
 * pulls it made itself, and the events of its own pulls (as ai_guard.pull()).
 *---------------------------------------------------------------------------
 */

/*---- catalog ----*/

CREATE SEQUENCE @extschema@.models_model_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.models_model_id_seq', '');
REVOKE ALL ON SEQUENCE @extschema@.models_model_id_seq FROM PUBLIC;

CREATE TABLE @extschema@.models (
	model_id      pg_catalog.int8 PRIMARY KEY
	              DEFAULT pg_catalog.nextval('@extschema@.models_model_id_seq'),
	name          pg_catalog.text NOT NULL
	              CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
	version       pg_catalog.text NOT NULL
	              CHECK (pg_catalog.length(version) BETWEEN 1 AND 100),
	metadata      pg_catalog.jsonb NOT NULL DEFAULT '{}'
	              CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
	registered_by pg_catalog.name NOT NULL,
	registered_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (name, version)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.models', '');
REVOKE ALL ON @extschema@.models FROM PUBLIC;
COMMENT ON TABLE @extschema@.models IS
'registered models: name, version, free metadata (a model card), who registered them and when; written by register_model()';

CREATE TABLE @extschema@.model_pulls (
	model_id pg_catalog.int8 NOT NULL
	         REFERENCES @extschema@.models ON DELETE CASCADE,
	pull_id  pg_catalog.int8 NOT NULL,
	PRIMARY KEY (model_id, pull_id)
);
CREATE INDEX ON @extschema@.model_pulls (pull_id);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_pulls', '');
REVOKE ALL ON @extschema@.model_pulls FROM PUBLIC;
COMMENT ON TABLE @extschema@.model_pulls IS
'the pulls (ai_guard.pulls) each registered model was trained on';

/*---- internal helpers ----*/

-- may the session see every pull? (as ai_guard.pull() decides)
CREATE FUNCTION @extschema@._sees_all_pulls()
RETURNS pg_catalog.bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.has_table_privilege(SESSION_USER, '@extschema@.pulls', 'SELECT')
$$;
REVOKE ALL ON FUNCTION @extschema@._sees_all_pulls() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._sees_all_pulls() IS
'internal: true if the session role may read every pull record (SELECT on ai_guard.pulls, or superuser)';

/*
 * The ingest batches of the rows a pull read, per relation: exact where the
 * audit writer recorded membership, else every batch written into the
 * relation (its partitions and children included) before the pull ended.
 */
CREATE FUNCTION @extschema@._pull_batches(p_pull_id pg_catalog.int8,
	p_relations pg_catalog.text[], p_until pg_catalog.timestamptz,
	OUT relation pg_catalog.text, OUT batch_id pg_catalog.int8,
	OUT membership pg_catalog.text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pr.relation, b.batch_id, 'exact'::pg_catalog.text
	  FROM @extschema@.pull_relations pr
	 CROSS JOIN LATERAL pg_catalog.unnest(pr.batches) AS b(batch_id)
	 WHERE pr.pull_id OPERATOR(pg_catalog.=) p_pull_id
	   AND pr.membership OPERATOR(pg_catalog.=) 'exact'
	   AND b.batch_id IS NOT NULL
	UNION
	SELECT r.relation, rb.batch_id, 'possible'::pg_catalog.text
	  FROM pg_catalog.unnest(p_relations) AS r(relation)
	  JOIN @extschema@.tracked_relations t
	    ON t.root::pg_catalog.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(r.relation)::pg_catalog.oid
	    OR t.rel::pg_catalog.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(r.relation)::pg_catalog.oid
	  JOIN @extschema@.relation_batches rb
	    ON rb.rel::pg_catalog.oid OPERATOR(pg_catalog.=) t.rel::pg_catalog.oid
	  JOIN @extschema@.batches bb ON bb.batch_id OPERATOR(pg_catalog.=) rb.batch_id
	 WHERE bb.started_at OPERATOR(pg_catalog.<=) p_until
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.pull_relations pr
	                    WHERE pr.pull_id OPERATOR(pg_catalog.=) p_pull_id
	                      AND pr.relation OPERATOR(pg_catalog.=) r.relation
	                      AND pr.membership OPERATOR(pg_catalog.=) 'exact')
$$;
REVOKE ALL ON FUNCTION @extschema@._pull_batches(pg_catalog.int8, pg_catalog.text[], pg_catalog.timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._pull_batches(pg_catalog.int8, pg_catalog.text[], pg_catalog.timestamptz) IS
'internal: the ingest batches behind each tracked relation a pull read; membership exact (recorded row membership) or possible (batches written into the relation before the pull ended)';

/*---- registering models ----*/

CREATE FUNCTION @extschema@.register_model(name pg_catalog.text,
	version pg_catalog.text, pulls pg_catalog.int8[],
	metadata pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_ids      int8[];
	v_id       int8;
	v_model    int8;
	v_all      bool := @extschema@._sees_all_pulls();
	r          record;
	v_flushed  bool := false;
BEGIN
	IF name IS NULL OR version IS NULL THEN
		RAISE EXCEPTION 'model name and version must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF btrim(name) = '' OR btrim(version) = '' THEN
		RAISE EXCEPTION 'model name and version must not be empty'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(name) > 200 OR length(version) > 100 THEN
		RAISE EXCEPTION 'model name or version is too long'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'A name may have up to 200 characters, a version up to 100.';
	END IF;
	IF name ~ '[[:cntrl:]]' OR version ~ '[[:cntrl:]]' THEN
		RAISE EXCEPTION 'model name and version must not contain control characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF position(':' IN name) > 0 THEN
		RAISE EXCEPTION 'model name must not contain ":"'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'ai-guard lineage NAME:VERSION separates name and version with ":".';
	END IF;
	IF metadata IS NULL THEN
		metadata := '{}';
	ELSIF jsonb_typeof(metadata) <> 'object' THEN
		RAISE EXCEPTION 'model metadata must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	ELSIF pg_column_size(metadata) > 1048576 THEN
		RAISE EXCEPTION 'model metadata is too large'
			USING ERRCODE = 'program_limit_exceeded',
			      DETAIL = 'Metadata may take up to 1 MB; keep large artifacts outside the database and reference them.';
	END IF;
	IF pulls IS NULL THEN
		RAISE EXCEPTION 'pulls must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Give the ids of the pulls the model was trained on, as in ARRAY[12, 13].';
	END IF;
	IF array_position(pulls, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'pulls must not contain NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT array_agg(DISTINCT u ORDER BY u) INTO v_ids FROM unnest(pulls) AS u;
	IF v_ids IS NULL THEN
		RAISE EXCEPTION 'a model needs at least one pull'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF cardinality(v_ids) > 100000 THEN
		RAISE EXCEPTION 'a model can have at most 100000 pulls'
			USING ERRCODE = 'program_limit_exceeded';
	END IF;

	-- every pull exists, is the caller's (unless it may read every record)
	-- and completed; a completion may still be queued: flush once and look again
	<<check>>
	LOOP
		FOR r IN
			SELECT u.id, p.status, p.session_role
			  FROM unnest(v_ids) AS u(id)
			  LEFT JOIN @extschema@.pulls p ON p.pull_id = u.id
			 ORDER BY u.id
		LOOP
			IF r.status IS NULL THEN
				RAISE EXCEPTION 'pull % does not exist', r.id
					USING ERRCODE = 'undefined_object';
			END IF;
			IF NOT v_all AND r.session_role <> SESSION_USER THEN
				RAISE EXCEPTION 'permission denied for pull %', r.id
					USING ERRCODE = 'insufficient_privilege',
					      DETAIL = 'The pull was made by another role.',
					      HINT = 'A role may register only its own pulls, unless it may read ai_guard.pulls.';
			END IF;
			IF r.status <> 'completed' THEN
				IF r.status = 'started' AND NOT v_flushed THEN
					PERFORM @extschema@.audit_flush();
					v_flushed := true;
					CONTINUE check;
				END IF;
				RAISE EXCEPTION 'pull % is not completed', r.id
					USING ERRCODE = 'object_not_in_prerequisite_state',
					      DETAIL = format('Its status is "%s"; only completed pulls can train a model.', r.status);
			END IF;
		END LOOP;
		EXIT check;
	END LOOP;

	BEGIN
		INSERT INTO @extschema@.models (name, version, metadata, registered_by)
		VALUES (register_model.name, register_model.version,
		        register_model.metadata, SESSION_USER)
		RETURNING model_id INTO v_model;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" version "%" already exists',
			register_model.name, register_model.version
			USING ERRCODE = 'unique_violation',
			      HINT = 'Register the retrained model under a new version.';
	END;
	INSERT INTO @extschema@.model_pulls (model_id, pull_id)
	SELECT v_model, u FROM unnest(v_ids) AS u;
	RETURN v_model;
END;
$$;
GRANT EXECUTE ON FUNCTION @extschema@.register_model(pg_catalog.text, pg_catalog.text, pg_catalog.int8[], pg_catalog.jsonb) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.register_model(pg_catalog.text, pg_catalog.text, pg_catalog.int8[], pg_catalog.jsonb) IS
'registers model name/version as trained on the given completed pulls (the caller''s own, unless it may read ai_guard.pulls); returns the model id';

CREATE FUNCTION @extschema@.visible_models(
	OUT model_id pg_catalog.int8, OUT name pg_catalog.text, OUT version pg_catalog.text,
	OUT metadata pg_catalog.jsonb, OUT registered_by pg_catalog.name,
	OUT registered_at pg_catalog.timestamptz, OUT pulls pg_catalog.int8)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.model_id, m.name, m.version, m.metadata, m.registered_by, m.registered_at,
	       (SELECT pg_catalog.count(*) FROM @extschema@.model_pulls mp
	         WHERE mp.model_id OPERATOR(pg_catalog.=) m.model_id)
	  FROM @extschema@.models m
	 WHERE @extschema@._sees_all_pulls()
	    OR NOT EXISTS (SELECT 1 FROM @extschema@.model_pulls mp
	                     JOIN @extschema@.pulls p ON p.pull_id OPERATOR(pg_catalog.=) mp.pull_id
	                    WHERE mp.model_id OPERATOR(pg_catalog.=) m.model_id
	                      AND p.session_role OPERATOR(pg_catalog.<>) SESSION_USER)
$$;
GRANT EXECUTE ON FUNCTION @extschema@.visible_models() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.visible_models() IS
'the registered models the caller may see (every model for a role that may read ai_guard.pulls; otherwise those built from the caller''s own pulls), with their number of pulls';

/*---- lineage ----*/

/*
 * The model of that name and version (NULL: the latest registered) that the
 * session may see, or an error; a model the caller may not see is reported
 * as missing.
 */
CREATE FUNCTION @extschema@._visible_model(p_name pg_catalog.text,
	p_version pg_catalog.text)
RETURNS @extschema@.models
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m @extschema@.models;
BEGIN
	IF p_name IS NULL THEN
		RAISE EXCEPTION 'model name must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO m FROM @extschema@.models x
	 WHERE x.name = p_name
	   AND (p_version IS NULL OR x.version = p_version)
	   AND (@extschema@._sees_all_pulls()
	        OR NOT EXISTS (SELECT 1 FROM @extschema@.model_pulls mp
	                         JOIN @extschema@.pulls p ON p.pull_id = mp.pull_id
	                        WHERE mp.model_id = x.model_id
	                          AND p.session_role <> SESSION_USER))
	 ORDER BY x.registered_at DESC, x.model_id DESC
	 LIMIT 1;
	IF NOT FOUND THEN
		IF p_version IS NULL THEN
			RAISE EXCEPTION 'model "%" does not exist', p_name
				USING ERRCODE = 'undefined_object';
		END IF;
		RAISE EXCEPTION 'model "%" version "%" does not exist', p_name, p_version
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN m;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@._visible_model(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._visible_model(pg_catalog.text, pg_catalog.text) IS
'internal: the model a lineage question is about, if the session may see it';

CREATE FUNCTION @extschema@.lineage(name pg_catalog.text,
	version pg_catalog.text DEFAULT NULL,
	OUT node pg_catalog.text, OUT kind pg_catalog.text, OUT label pg_catalog.text,
	OUT parent pg_catalog.text, OUT detail pg_catalog.jsonb)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m @extschema@.models;
BEGIN
	m := @extschema@._visible_model(lineage.name, lineage.version);
	/*
	 * One set-based query for the whole graph, sorted depth first by a key:
	 * model [0]; pull [n]; relation [n, r, 0|1, ord] (a base table read
	 * through a masked view right after the view); batch relation || [batch];
	 * its source, license and consent batch || [1|2|3].
	 */
	RETURN QUERY
	WITH p AS (
		SELECT x.*, row_number() OVER (ORDER BY x.pull_id) AS pos
		  FROM @extschema@.model_pulls mp
		  JOIN @extschema@.pulls x ON x.pull_id = mp.pull_id
		 WHERE mp.model_id = m.model_id
	), r0 AS (
		SELECT p.pull_id, p.pos, coalesce(p.ended_at, p.started_at) AS until,
		       u.rel, u.ord, to_regclass(u.rel) AS oid,
		       (SELECT to_jsonb(array_agg(c)) FROM unnest(p.columns_returned || p.columns_filtered) c
		         WHERE left(c, length(u.rel) + 1) = u.rel || '.') AS columns
		  FROM p, unnest(p.relations) WITH ORDINALITY AS u(rel, ord)
	), r AS (
		SELECT r0.*,
		       pr.membership AS pr_membership, pr.reason AS pr_reason,
		       pr.row_count AS pr_row_count, pr.batches AS pr_batches,
		       EXISTS (SELECT 1 FROM @extschema@.tracked_relations t
		                WHERE t.rel::oid = r0.oid::oid) AS tracked,
		       EXISTS (SELECT 1 FROM @extschema@.masked_views mv
		                WHERE mv.view::oid = r0.oid::oid) AS is_view,
		       v.rel AS view_rel, v.ord AS view_ord
		  FROM r0
		  LEFT JOIN @extschema@.pull_relations pr
		    ON pr.pull_id = r0.pull_id AND pr.relation = r0.rel
		  LEFT JOIN LATERAL (
			-- a base table read through a masked view hangs below the view
			SELECT v0.rel, v0.ord FROM r0 v0
			  JOIN @extschema@.masked_views mv ON mv.view::oid = v0.oid::oid
			 WHERE v0.pull_id = r0.pull_id AND mv.base::oid = r0.oid::oid
			 ORDER BY v0.ord LIMIT 1) v ON true
	), rk AS (
		SELECT r.*, ARRAY[r.pos, coalesce(r.view_ord, r.ord),
		                  CASE WHEN r.view_rel IS NULL THEN 0 ELSE 1 END, r.ord] AS k
		  FROM r
	), b0 AS (
		-- exact: the batches recorded with the pull's row membership
		SELECT rk.pull_id, rk.rel, rk.k, e.batch_id, 'exact'::text AS membership
		  FROM rk, unnest(rk.pr_batches) AS e(batch_id)
		 WHERE rk.pr_membership = 'exact' AND e.batch_id IS NOT NULL
		UNION
		-- possible: every batch written into the relation before the pull ended
		SELECT rk.pull_id, rk.rel, rk.k, rb.batch_id, 'possible'::text
		  FROM rk
		  JOIN @extschema@.tracked_relations t
		    ON t.root::oid = rk.oid::oid OR t.rel::oid = rk.oid::oid
		  JOIN @extschema@.relation_batches rb ON rb.rel::oid = t.rel::oid
		  JOIN @extschema@.batches bb ON bb.batch_id = rb.batch_id
		 WHERE rk.pr_membership IS DISTINCT FROM 'exact'
		   AND bb.started_at <= rk.until
	), b AS (
		SELECT b0.*, bb.source, bb.license, bb.consent, bb.kind AS batch_kind,
		       bb.row_count, bb.started_at, bb.ingested_by,
		       EXISTS (SELECT 1 FROM @extschema@.quarantines q
		                WHERE q.released_at IS NULL
		                  AND (q.batch_id = bb.batch_id OR q.source = bb.source
		                       OR q.batch_id = ANY (bb.derived_from))) AS quarantined,
		       EXISTS (SELECT 1 FROM @extschema@.quarantines q
		                WHERE q.released_at IS NULL AND q.source = bb.source) AS source_quarantined
		  FROM b0 LEFT JOIN @extschema@.batches bb ON bb.batch_id = b0.batch_id
	), g AS (
		SELECT ARRAY[0::int8] AS k, 'model:' || m.model_id AS node, 'model'::text AS kind,
		       m.name || ':' || m.version AS label, NULL::text AS parent,
		       jsonb_build_object('model_id', m.model_id, 'name', m.name,
		           'version', m.version, 'metadata', m.metadata,
		           'registered_by', m.registered_by, 'registered_at', m.registered_at) AS detail
		UNION ALL
		SELECT ARRAY[p.pos], 'pull:' || p.pull_id, 'pull',
		       'pull ' || p.pull_id || coalesce(' (' || p.purpose || ')', ''),
		       'model:' || m.model_id,
		       jsonb_build_object('pull_id', p.pull_id, 'status', p.status,
		           'kind', p.kind, 'purpose', p.purpose, 'session_role', p.session_role,
		           'current_role', p."current_role", 'started_at', p.started_at,
		           'ended_at', p.ended_at, 'rows', p.rows, 'bytes', p.bytes,
		           'digest', p.digest, 'columns_returned', p.columns_returned,
		           'columns_pii', p.columns_pii, 'masks', p.masks)
		  FROM p
		UNION ALL
		SELECT rk.k, 'relation:' || rk.rel,
		       CASE WHEN rk.is_view THEN 'masked_view' ELSE 'relation' END,
		       rk.rel,
		       coalesce('relation:' || rk.view_rel, 'pull:' || rk.pull_id),
		       jsonb_build_object('relation', rk.rel,
		           'exists', rk.oid IS NOT NULL,
		           'tracked', rk.tracked OR rk.pr_membership IS NOT NULL,
		           'membership', CASE WHEN rk.pr_membership IS NOT NULL THEN rk.pr_membership
		                              WHEN rk.tracked THEN 'unknown' END,
		           'membership_reason', rk.pr_reason,
		           'row_count', rk.pr_row_count,
		           'columns', rk.columns)
		  FROM rk
		UNION ALL
		SELECT b.k || b.batch_id, 'batch:' || b.batch_id, 'batch', 'batch ' || b.batch_id,
		       'relation:' || b.rel,
		       jsonb_build_object('batch_id', b.batch_id,
		           'membership', b.membership, 'kind', b.batch_kind,
		           'source', b.source, 'license', b.license, 'consent', b.consent,
		           'ingested_by', b.ingested_by, 'started_at', b.started_at,
		           'rows', b.row_count, 'quarantined', b.quarantined)
		  FROM b
		UNION ALL
		SELECT b.k || ARRAY[b.batch_id, s.n], s.node, s.kind, s.label, 'batch:' || b.batch_id, s.detail
		  FROM b CROSS JOIN LATERAL (VALUES
		       (1::int8, 'source:' || b.source, 'source'::text, b.source,
		        jsonb_build_object('quarantined', b.source_quarantined)),
		       (2, 'license:' || b.license, 'license', b.license, '{}'::jsonb),
		       (3, 'consent:' || array_to_string(b.consent, ','), 'consent',
		        CASE WHEN cardinality(b.consent) = 0 THEN '(no consent)'
		             ELSE array_to_string(b.consent, ', ') END,
		        jsonb_build_object('consent', b.consent))) AS s(n, node, kind, label, detail)
		 WHERE b.source IS NOT NULL
	)
	SELECT g.node, g.kind, g.label, g.parent, g.detail FROM g ORDER BY g.k;
END;
$$;
GRANT EXECUTE ON FUNCTION @extschema@.lineage(pg_catalog.text, pg_catalog.text) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.lineage(pg_catalog.text, pg_catalog.text) IS
'the lineage graph of a model (version NULL: the latest registered) as edges node -> parent: model, pulls, relations, ingest batches (exact or possible), sources, licenses, consent; compliance sees every model, other roles the models built from their own pulls';

/*---- provenance of one pull (for manifests) ----*/

/*
 * The ingest batches behind a pull, with source, license and consent: for
 * the role that made the pull or a role that may read every record (as
 * ai_guard.pull()); other pulls return no rows.
 */
CREATE FUNCTION @extschema@.pull_provenance(pull_id pg_catalog.int8,
	OUT relation pg_catalog.text, OUT membership pg_catalog.text,
	OUT batch_id pg_catalog.int8, OUT source pg_catalog.text,
	OUT license pg_catalog.text, OUT consent pg_catalog.text[],
	OUT quarantined pg_catalog.bool)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pb.relation, pb.membership, pb.batch_id, b.source, b.license, b.consent,
	       EXISTS (SELECT 1 FROM @extschema@.quarantines q
	                WHERE q.released_at IS NULL
	                  AND (q.batch_id OPERATOR(pg_catalog.=) b.batch_id
	                       OR q.source OPERATOR(pg_catalog.=) b.source
	                       OR q.batch_id OPERATOR(pg_catalog.=) ANY (b.derived_from)))
	  FROM @extschema@.pulls p
	 CROSS JOIN LATERAL @extschema@._pull_batches(p.pull_id, p.relations,
	                    coalesce(p.ended_at, p.started_at)) pb
	  LEFT JOIN @extschema@.batches b ON b.batch_id OPERATOR(pg_catalog.=) pb.batch_id
	 WHERE p.pull_id OPERATOR(pg_catalog.=) $1
	   AND (p.session_role OPERATOR(pg_catalog.=) SESSION_USER
	        OR @extschema@._sees_all_pulls())
	 ORDER BY pb.relation, pb.batch_id
$$;
GRANT EXECUTE ON FUNCTION @extschema@.pull_provenance(pg_catalog.int8) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.pull_provenance(pg_catalog.int8) IS
'the ingest batches (source, license, consent, quarantine) behind the rows of one pull, exact or possible, if the caller made the pull or may read every record';

/*---- OpenLineage ----*/

/*
 * The OpenLineage namespace of this database's datasets and jobs, following
 * OpenLineage's naming for PostgreSQL (postgres://host:port).
 */
CREATE FUNCTION @extschema@._ol_namespace()
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT 'postgres://'
	       || coalesce(pg_catalog.host(pg_catalog.inet_server_addr()), 'localhost')
	       || ':' || pg_catalog.current_setting('port')
$$;
REVOKE ALL ON FUNCTION @extschema@._ol_namespace() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._ol_namespace() IS
'internal: the OpenLineage namespace of this server (postgres://host:port; localhost over a Unix socket)';

-- a run id for a pull: a version-8 UUID from SHA-256 over the hash of the
-- pull's first audit chain entry (unique to that pull in any cluster, kept
-- by pg_dump, the same for its START and COMPLETE), or without one over the
-- cluster's system identifier and the database
CREATE FUNCTION @extschema@._ol_run_id(p_database pg_catalog.text, p_pull_id pg_catalog.int8)
RETURNS pg_catalog.uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT (substr(h, 1, 12) || '8' || substr(h, 14, 3)
	        || substr('89ab', (strpos('0123456789abcdef', substr(h, 17, 1)) - 1) % 4 + 1, 1)
	        || substr(h, 18, 15))::uuid
	  FROM (SELECT encode(sha256(convert_to('ai_guard pull '
	                || coalesce((SELECT a.record_hash FROM @extschema@.audit_log a
	                              WHERE a.pull_id = p_pull_id ORDER BY a.seq LIMIT 1),
	                            (pg_control_system()).system_identifier || ' ' || p_database)
	                || ' ' || p_pull_id, 'UTF8')), 'hex') AS h) s
$$;
REVOKE ALL ON FUNCTION @extschema@._ol_run_id(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._ol_run_id(pg_catalog.text, pg_catalog.int8) IS
'internal: the OpenLineage run id of a pull, a UUID (version 8) derived from the hash of its first audit chain entry';

CREATE FUNCTION @extschema@._ol_time(t pg_catalog.timestamptz)
RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.to_char(pg_catalog.timezone('UTC', t), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
REVOKE ALL ON FUNCTION @extschema@._ol_time(pg_catalog.timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._ol_time(pg_catalog.timestamptz) IS
'internal: a timestamp as RFC 3339 in UTC';

CREATE FUNCTION @extschema@.openlineage_event(pull_id pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p           @extschema@.pulls;
	v_ns        text := @extschema@._ol_namespace();
	v_producer  text := 'urn:ai_guard:' || @extschema@.version();
	v_ol        text := 'https://openlineage.io/spec/';
	v_facets    text := 'https://openlineage.io/spec/facets/';
	v_custom    text := 'urn:ai_guard:openlineage:AiGuardRunFacet:1-0-0#/$defs/AiGuardRunFacet';
	v_type      text;
	v_inputs    jsonb := '[]';
	v_fields    jsonb := '{}';
	v_outfields jsonb := '[]';
	v_indirect  jsonb := '[]';
	v_batches   jsonb;
	v_output    jsonb;
	v_run       jsonb;
	v_job       jsonb;
	v_custom_f  jsonb;
	v_views     jsonb;
	v_quar      jsonb;
	v_models    jsonb;
	v_masked    text[] := '{}';
	r           record;
	c           record;
	v_cols      jsonb;
	v_tags      jsonb;
	v_in        jsonb;
	v_xfm       jsonb;
	v_label     text;
BEGIN
	IF openlineage_event.pull_id IS NULL THEN
		RAISE EXCEPTION 'pull id must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO p FROM @extschema@.pulls x
	 WHERE x.pull_id = openlineage_event.pull_id
	   AND (x.session_role = SESSION_USER OR @extschema@._sees_all_pulls());
	IF NOT FOUND THEN
		-- another role's pull is reported as missing: ids reveal nothing
		RAISE EXCEPTION 'pull % does not exist', openlineage_event.pull_id
			USING ERRCODE = 'undefined_object';
	END IF;

	v_type := CASE p.status
	          WHEN 'completed' THEN 'COMPLETE'
	          WHEN 'failed' THEN 'FAIL'
	          WHEN 'refused' THEN 'ABORT'
	          ELSE 'START' END;

	/* inputs: each governed relation read, with its schema and classification */
	FOR r IN
		SELECT u.rel, u.ord, to_regclass(u.rel) AS oid,
		       (SELECT mv.base FROM @extschema@.masked_views mv
		         WHERE mv.view::oid = to_regclass(u.rel)::oid) AS base
		  FROM unnest(p.relations) WITH ORDINALITY AS u(rel, ord)
		 ORDER BY u.ord
	LOOP
		IF r.oid IS NOT NULL THEN
			SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
			           'name', a.attname::text,
			           'type', format_type(a.atttypid, a.atttypmod),
			           'ordinal_position', a.pos,
			           'description', 'ai_guard: ' || s.label)) ORDER BY a.pos), '[]'),
			       coalesce(jsonb_agg(jsonb_build_object(
			           'key', 'ai_guard.classification', 'value', s.label,
			           'field', a.attname::text, 'source', 'ai_guard')
			           ORDER BY a.pos) FILTER (WHERE s.label IS NOT NULL), '[]')
			  INTO v_cols, v_tags
			  FROM (SELECT att.*, row_number() OVER (ORDER BY att.attnum) AS pos
			          FROM pg_attribute att
			         WHERE att.attrelid = r.oid AND att.attnum > 0
			           AND NOT att.attisdropped) a
			  LEFT JOIN pg_seclabel s
			    ON s.objoid = a.attrelid AND s.classoid = 'pg_class'::regclass
			   AND s.objsubid = a.attnum AND s.provider = 'ai_guard';
		ELSE
			-- dropped since: the columns the pull named
			SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
			           'name', substr(col, length(r.rel) + 2))), '[]')
			  INTO v_cols
			  FROM unnest(p.columns_returned || p.columns_filtered) col
			 WHERE left(col, length(r.rel) + 1) = r.rel || '.';
			v_tags := '[]';
		END IF;
		IF r.base IS NOT NULL THEN
			v_tags := v_tags || jsonb_build_array(jsonb_build_object(
				'key', 'ai_guard.masked_view_of', 'value', r.base::text, 'source', 'ai_guard'));
		END IF;
		v_in := jsonb_build_object(
			'namespace', v_ns,
			'name', p.database || '.' || r.rel,
			'facets', jsonb_build_object(
				'schema', jsonb_build_object(
					'_producer', v_producer,
					'_schemaURL', v_facets || '1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
					'fields', v_cols),
				'tags', jsonb_build_object(
					'_producer', v_producer,
					'_schemaURL', v_facets || '1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet',
					'tags', v_tags)));
		v_inputs := v_inputs || jsonb_build_array(v_in);
	END LOOP;

	/*
	 * column lineage: each returned column, from its relation; a column of a
	 * masked view also from its base table's column, marked masking when the
	 * base column's label masks it (any pii class, or a mask= rule)
	 */
	FOR c IN
		SELECT col, rel, substr(col, length(rel) + 2) AS field, ord
		  FROM (SELECT col, ord,
		               (SELECT u.rel FROM unnest(p.relations) u(rel)
		                 WHERE left(col, length(u.rel) + 1) = u.rel || '.'
		                 ORDER BY length(u.rel) DESC LIMIT 1) AS rel
		          FROM unnest(p.columns_returned) WITH ORDINALITY AS x(col, ord)) s
		 WHERE rel IS NOT NULL
		 ORDER BY ord
	LOOP
		v_in := jsonb_build_array(jsonb_build_object(
			'namespace', v_ns, 'name', p.database || '.' || c.rel, 'field', c.field,
			'transformations', jsonb_build_array(jsonb_build_object(
				'type', 'DIRECT', 'subtype', 'IDENTITY', 'masking', false))));
		-- through a masked view: the base column and its mask
		FOR r IN
			SELECT mv.base, u.rel AS base_name
			  FROM @extschema@.masked_views mv
			  LEFT JOIN unnest(p.relations) u(rel) ON to_regclass(u.rel)::oid = mv.base::oid
			 WHERE mv.view::oid = to_regclass(c.rel)::oid
		LOOP
			SELECT s.label INTO v_label
			  FROM pg_attribute a
			  JOIN pg_seclabel s ON s.objoid = a.attrelid AND s.objsubid = a.attnum
			   AND s.classoid = 'pg_class'::regclass AND s.provider = 'ai_guard'
			 WHERE a.attrelid = r.base AND a.attname = c.field;
			IF v_label LIKE 'pii:%' OR v_label LIKE '% mask=%' THEN
				v_xfm := jsonb_build_object('type', 'DIRECT', 'subtype', 'TRANSFORMATION',
					'masking', true,
					'description', 'ai_guard masked view: ' || v_label);
				v_masked := v_masked || c.col;
				-- the base column is accounted for here, not as an indirect use
				v_masked := v_masked || (coalesce(r.base_name, r.base::text) || '.' || c.field);
			ELSE
				v_xfm := jsonb_build_object('type', 'DIRECT', 'subtype', 'IDENTITY',
					'masking', false);
			END IF;
			v_in := v_in || jsonb_build_array(jsonb_build_object(
				'namespace', v_ns,
				'name', p.database || '.' || coalesce(r.base_name, r.base::text),
				'field', c.field,
				'transformations', jsonb_build_array(v_xfm)));
		END LOOP;
		IF v_fields ? c.field THEN
			-- the same column name from several relations (a join): one output field
			-- (a masked view's base column may also be listed on its own)
			v_fields := jsonb_set(v_fields, ARRAY[c.field, 'inputFields'],
				(SELECT jsonb_agg(d.e ORDER BY d.o)
				   FROM (SELECT DISTINCT ON (x.e ->> 'name', x.e ->> 'field') x.e, x.o
				           FROM jsonb_array_elements((v_fields -> c.field -> 'inputFields') || v_in)
				                WITH ORDINALITY AS x(e, o)
				          ORDER BY x.e ->> 'name', x.e ->> 'field', x.o) d));
		ELSE
			v_fields := v_fields || jsonb_build_object(c.field,
				jsonb_build_object('inputFields', v_in));
			v_outfields := v_outfields || jsonb_build_array(jsonb_build_object(
				'name', c.field, 'ordinal_position', jsonb_array_length(v_outfields) + 1));
		END IF;
		IF c.col = ANY (v_masked) THEN
			v_fields := jsonb_set(v_fields, ARRAY[c.field, 'masked'], 'true');
		END IF;
	END LOOP;
	-- columns used otherwise (predicates, joins, sorting, expressions)
	SELECT coalesce(jsonb_agg(jsonb_build_object(
	           'namespace', v_ns, 'name', p.database || '.' || rel,
	           'field', substr(col, length(rel) + 2),
	           'transformations', jsonb_build_array(jsonb_build_object(
	               'type', 'INDIRECT',
	               'description', 'referenced by the query (filter, join, sort or expression)')))
	           ORDER BY ord), '[]')
	  INTO v_indirect
	  FROM (SELECT col, ord,
	               (SELECT u.rel FROM unnest(p.relations) u(rel)
	                 WHERE left(col, length(u.rel) + 1) = u.rel || '.'
	                 ORDER BY length(u.rel) DESC LIMIT 1) AS rel
	          FROM unnest(p.columns_filtered) WITH ORDINALITY AS x(col, ord)) s
	 WHERE rel IS NOT NULL AND NOT (col = ANY (v_masked));

	/* output: the rows delivered (or the relation a derivation wrote) */
	v_output := jsonb_build_object(
		'namespace', v_ns,
		'name', CASE WHEN p.kind = 'derivation' AND p.target IS NOT NULL
		             THEN p.database || '.' || p.target
		             ELSE p.database || '.ai_guard.pull.' || p.pull_id END,
		'facets', jsonb_build_object(
			'schema', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
				'fields', v_outfields),
			'columnLineage', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet',
				'fields', v_fields,
				'dataset', v_indirect)),
		'outputFacets', jsonb_build_object(
			'outputStatistics', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet',
				'rowCount', coalesce(p.rows, 0),
				'size', coalesce(p.bytes, 0))));
	IF p.digest IS NOT NULL THEN
		v_output := jsonb_set(v_output, '{facets,version}', jsonb_build_object(
			'_producer', v_producer,
			'_schemaURL', v_facets || '1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
			'datasetVersion', 'sha256:' || p.digest));
	END IF;

	/* the custom facet: what ai_guard knows and enforced */
	SELECT coalesce(jsonb_agg(jsonb_build_object(
	           'relation', pb.relation, 'batch_id', pb.batch_id,
	           'membership', pb.membership, 'source', b.source,
	           'license', b.license, 'consent', to_jsonb(b.consent))
	           ORDER BY pb.relation, pb.batch_id), '[]')
	  INTO v_batches
	  FROM @extschema@._pull_batches(p.pull_id, p.relations,
	                                 coalesce(p.ended_at, p.started_at)) pb
	  LEFT JOIN @extschema@.batches b ON b.batch_id = pb.batch_id;
	SELECT coalesce(jsonb_agg(u.rel ORDER BY u.ord), '[]') INTO v_views
	  FROM unnest(p.relations) WITH ORDINALITY AS u(rel, ord)
	  JOIN @extschema@.masked_views mv ON mv.view::oid = to_regclass(u.rel)::oid;
	SELECT coalesce(jsonb_agg(DISTINCT jsonb_strip_nulls(jsonb_build_object(
	           'quarantine_id', q.quarantine_id, 'source', q.source,
	           'batch_id', q.batch_id))), '[]')
	  INTO v_quar
	  FROM @extschema@._pull_batches(p.pull_id, p.relations,
	                                 coalesce(p.ended_at, p.started_at)) pb
	  JOIN @extschema@.batches b ON b.batch_id = pb.batch_id
	  JOIN @extschema@.quarantines q
	    ON q.released_at IS NULL
	   AND (q.batch_id = b.batch_id OR q.source = b.source
	        OR q.batch_id = ANY (b.derived_from));
	SELECT coalesce(jsonb_agg(jsonb_build_object('name', m.name, 'version', m.version)
	           ORDER BY m.model_id), '[]')
	  INTO v_models
	  FROM @extschema@.model_pulls mp
	  JOIN @extschema@.models m ON m.model_id = mp.model_id
	 WHERE mp.pull_id = p.pull_id;

	v_custom_f := jsonb_build_object(
		'_producer', v_producer,
		'_schemaURL', v_custom,
		'pull_id', p.pull_id,
		'status', p.status,
		'kind', p.kind,
		'purpose', p.purpose,
		'session_role', p.session_role,
		'current_role', p."current_role",
		'database', p.database,
		'started_at', @extschema@._ol_time(p.started_at),
		'ended_at', @extschema@._ol_time(p.ended_at),
		'rows', p.rows,
		'bytes', p.bytes,
		'digest', CASE WHEN p.digest IS NULL THEN NULL ELSE jsonb_build_object(
			'algorithm', 'sha256', 'encoding', 'COPY text format, server encoding, delivery order',
			'value', p.digest) END,
		'snapshot', jsonb_build_object('xmin', p.snapshot_xmin, 'xmax', p.snapshot_xmax,
			'xip', to_jsonb(coalesce(p.snapshot_xip, '{}'))),
		'record_hash', p.record_hash,
		'detail', p.detail,
		'membership', CASE
			WHEN jsonb_array_length(v_batches) = 0 THEN 'none'
			WHEN NOT jsonb_path_exists(v_batches, '$[*] ? (@.membership == "possible")') THEN 'exact'
			WHEN NOT jsonb_path_exists(v_batches, '$[*] ? (@.membership == "exact")') THEN 'possible'
			ELSE 'partial' END,
		'batches', v_batches,
		'sources', (SELECT coalesce(jsonb_agg(DISTINCT e ->> 'source'), '[]')
		              FROM jsonb_array_elements(v_batches) e WHERE e ->> 'source' IS NOT NULL),
		'licenses', (SELECT coalesce(jsonb_agg(DISTINCT e ->> 'license'), '[]')
		               FROM jsonb_array_elements(v_batches) e WHERE e ->> 'license' IS NOT NULL),
		'consent', (SELECT coalesce(jsonb_agg(DISTINCT k), '[]')
		              FROM jsonb_array_elements(v_batches) e,
		                   jsonb_array_elements_text(coalesce(e -> 'consent', '[]')) k),
		'policies', jsonb_build_object(
			'purpose_class', split_part(p.purpose, ':', 1),
			'masked_views', v_views,
			'masks', to_jsonb(coalesce(p.masks, '{}')),
			'pii_columns', to_jsonb(coalesce(p.columns_pii, '{}')),
			'encrypted_columns', to_jsonb(coalesce(p.columns_encrypted, '{}')),
			'consent_filtered', (SELECT coalesce(jsonb_agg(u.rel ORDER BY u.rel), '[]')
			                       FROM unnest(p.relations) u(rel)
			                       JOIN @extschema@.tracked_relations t
			                         ON t.rel::oid = to_regclass(u.rel)::oid),
			'active_quarantines', v_quar),
		'models', v_models);
	v_custom_f := jsonb_strip_nulls(v_custom_f);

	v_run := jsonb_build_object(
		'runId', @extschema@._ol_run_id(p.database, p.pull_id)::text,
		'facets', jsonb_build_object(
			'processing_engine', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet',
				'name', 'PostgreSQL',
				'version', current_setting('server_version'),
				'openlineageAdapterVersion', @extschema@.version()),
			'ai_guard', v_custom_f));
	v_job := jsonb_build_object(
		'namespace', v_ns,
		'name', p.database || '.ai_guard.' || CASE p.kind WHEN 'copy' THEN 'copy'
		        WHEN 'derivation' THEN 'derivation' ELSE 'pull' END
		        || coalesce('.' || p.purpose, ''),
		'facets', jsonb_build_object(
			'jobType', jsonb_build_object(
				'_producer', v_producer,
				'_schemaURL', v_facets || '2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
				'processingType', 'BATCH',
				'integration', 'AI_GUARD',
				'jobType', 'QUERY')));
	IF p.query IS NOT NULL THEN
		v_job := jsonb_set(v_job, '{facets,sql}', jsonb_build_object(
			'_producer', v_producer,
			'_schemaURL', v_facets || '1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet',
			'query', p.query,
			'dialect', 'postgres'));
	END IF;

	RETURN jsonb_build_object(
		'eventType', v_type,
		'eventTime', @extschema@._ol_time(coalesce(p.ended_at, p.started_at)),
		'producer', v_producer,
		'schemaURL', v_ol || '2-0-2/OpenLineage.json#/$defs/RunEvent',
		'run', v_run,
		'job', v_job,
		'inputs', v_inputs,
		'outputs', CASE WHEN p.status = 'refused' THEN '[]'::jsonb
		                ELSE jsonb_build_array(v_output) END);
END;
$$;
GRANT EXECUTE ON FUNCTION @extschema@.openlineage_event(pg_catalog.int8) TO PUBLIC;
COMMENT ON FUNCTION @extschema@.openlineage_event(pg_catalog.int8) IS
'an OpenLineage RunEvent (spec 2-0-2) describing one pull: job, run, input datasets with schema and classification, output statistics and column lineage (masked columns marked), and an ai_guard facet with digest, purpose, batches, licenses, consent and policies; for the role that made the pull or may read every record';
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
