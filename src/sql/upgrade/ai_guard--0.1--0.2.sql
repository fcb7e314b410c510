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
