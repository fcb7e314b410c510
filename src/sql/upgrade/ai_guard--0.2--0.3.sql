-- ai_guard 0.2 -> 0.3 upgrade: changes to the objects that 0.2 created
--
-- The Makefile builds ai_guard--0.2--0.3.sql from this file followed by
-- every fragment of src/sql that 0.2 did not have (the names 0.2 had are
-- listed in src/sql/upgrade/0.2.fragments). So:
--   - a NEW fragment (src/sql/NN_*.sql) needs nothing here;
--   - a CHANGE to a fragment listed in 0.2.fragments needs its statement
--     here too (CREATE OR REPLACE FUNCTION, ALTER TABLE ... ADD COLUMN at the
--     end of the table, new GRANT/REVOKE/COMMENT, pg_extension_config_dump
--     of a new table ...), written so that the result equals a fresh install;
--   - test/scripts/upgrade_path.sh (in the test command) installs 0.1,
--     updates it through 0.2 to 0.3 and compares every object of the
--     extension, with its definition, with a fresh install.
-- See docs/UPGRADING.md.

\echo Use "ALTER EXTENSION ai_guard UPDATE TO '0.3'" to load this file. \quit

/* (first: the sql_drop trigger below needs derived_relations, made later) */
/* 40_audit.sql: ungovern() takes a reason (needed once the data was pulled) */
DROP FUNCTION @extschema@.ungovern(pg_catalog.regclass);
CREATE FUNCTION @extschema@.ungovern(rel pg_catalog.regclass,
	reason pg_catalog.text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ai_guard_ungovern'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ungovern(pg_catalog.regclass, pg_catalog.text) IS
'removes the govern() mark of a relation (other reasons such as tracking stay); a relation whose data was pulled needs a reason, recorded in the governance log; returns false if it had none';
COMMENT ON TABLE @extschema@.audit_log IS
'hash chain over every write of ai_guard.pulls, their row membership and the governance log, in order; checked by verify_audit() (pull_id is the change_id of a governance entry)';


/* 05_catalog.sql: copies of governed data are governed with reason 'derived' */
ALTER TABLE @extschema@.governed_relations
	DROP CONSTRAINT governed_relations_reason_check,
	ADD CONSTRAINT governed_relations_reason_check
		CHECK (reason IN ('govern', 'track', 'masked_view', 'derived'));
COMMENT ON TABLE @extschema@.governed_relations IS
'relations whose reads ai_guard governs, and why';

/* 40_audit.sql: a dropped relation leaves derived_relations too */
CREATE OR REPLACE FUNCTION @extschema@._on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.governed_relations g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid = 0
	   AND g.rel::pg_catalog.oid = d.objid;
	DELETE FROM @extschema@.derived_relations g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid = 0
	   AND g.rel::pg_catalog.oid = d.objid;
END;
$$;

/* 40_audit.sql: verify_audit() checks the governance log (60_governance.sql) too */
CREATE OR REPLACE FUNCTION @extschema@.verify_audit(
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
		                        AND a.event NOT IN ('members', 'relation', 'governance')
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
	 WHERE a.event <> 'governance'
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.pulls p WHERE p.pull_id = a.pull_id)
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
	-- 6. every change of governance equals what the chain hashed; none deleted
	SELECT g.change_id INTO r FROM @extschema@.governance_log g
	 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.audit_log a
	                    WHERE a.pull_id = g.change_id AND a.event = 'governance'
	                      AND a.content_hash = @extschema@._record_hash('',
	                                             @extschema@._governance_fields(g)))
	 ORDER BY g.change_id LIMIT 1;
	IF FOUND THEN
		problem := format('governance change %s was altered', r.change_id);
		RETURN;
	END IF;
	SELECT a.seq, a.pull_id INTO r FROM @extschema@.audit_log a
	 WHERE a.event = 'governance'
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.governance_log g WHERE g.change_id = a.pull_id)
	 ORDER BY a.seq LIMIT 1;
	IF FOUND THEN
		broken_seq := r.seq;
		problem := format('governance change %s was deleted', r.pull_id);
		RETURN;
	END IF;
	intact := true;
END;
$$;

/* 20_masking.sql: masked views are changed by ai_guard only; this drops one */
CREATE FUNCTION @extschema@.drop_masked_view(view pg_catalog.regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_drop_masked_view'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.drop_masked_view(pg_catalog.regclass) IS
'drops a masked view (its owner); masked views cannot be dropped, replaced or altered by hand';
