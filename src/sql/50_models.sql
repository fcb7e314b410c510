
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
