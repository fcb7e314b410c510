/*
 * The keyed audit chain (src/audit_keys.c, docs/audit.md "Evidence that
 * survives the DBA"): every chain entry carries an HMAC-SHA-256 under a
 * chain key derived from the master key, and audit_head() signs the head
 * with Ed25519, so a rewrite by SQL alone, a superuser's included, is
 * reported.  The chain key changes with the master key: each key is an
 * epoch, itself an entry of the chain.
 */

CREATE TABLE @extschema@.audit_epochs (
	epoch             pg_catalog.int8 PRIMARY KEY,
	database_id       pg_catalog.text NOT NULL,
	key_id            pg_catalog.text NOT NULL,
	public_key        pg_catalog.text NOT NULL,
	previous_key_id   pg_catalog.text,
	previous_verified pg_catalog.bool NOT NULL,
	unkeyed_before    pg_catalog.int8 NOT NULL,
	reason            pg_catalog.text NOT NULL,
	started_at        pg_catalog.timestamptz NOT NULL,
	started_seq       pg_catalog.int8 NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_epochs', '');
REVOKE ALL ON @extschema@.audit_epochs FROM PUBLIC;
-- key ids and public keys are public: anyone may keep them to check heads
GRANT SELECT ON @extschema@.audit_epochs TO PUBLIC;
COMMENT ON TABLE @extschema@.audit_epochs IS
'the chain key epochs: one per master key the chain was written under (key id, the public key that signs its heads), and whether the entries before were verified when it began; written only by the audit writer, each an entry of the chain';

CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.audit_epochs
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.audit_epochs
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
ALTER TABLE @extschema@.audit_epochs ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.audit_epochs ENABLE ALWAYS TRIGGER protect_truncate;

CREATE FUNCTION @extschema@._epoch_fields(e @extschema@.audit_epochs)
RETURNS pg_catalog.text[]
LANGUAGE sql STABLE
AS $$
SELECT ARRAY[e.epoch::text, e.database_id, e.key_id, e.public_key, e.previous_key_id,
	e.previous_verified::text, e.unkeyed_before::text, e.reason,
	pg_catalog.to_char(pg_catalog.timezone('UTC', e.started_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	e.started_seq::text]
$$;
REVOKE ALL ON FUNCTION @extschema@._epoch_fields(@extschema@.audit_epochs) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._epoch_fields(@extschema@.audit_epochs) IS
'internal: the canonical fields of a key epoch that the chain hashes';

CREATE FUNCTION @extschema@._chain_mac_ok(database_id pg_catalog.text,
	key_id pg_catalog.text, record_hash pg_catalog.text, mac pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_chain_mac_ok'
LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION @extschema@._chain_mac_ok(pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._chain_mac_ok(pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text) IS
'internal: whether a chain entry''s MAC verifies under the chain key with this id (NULL: this server does not hold that key)';

CREATE FUNCTION @extschema@._chain_key_held(database_id pg_catalog.text,
	key_id pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_chain_key_held'
LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION @extschema@._chain_key_held(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._chain_key_held(pg_catalog.text, pg_catalog.text) IS
'internal: whether this server holds the chain key with this id (from the current or the previous master key)';

CREATE FUNCTION @extschema@._signed_head(OUT seq pg_catalog.int8, OUT head pg_catalog.text,
	OUT updated_at pg_catalog.timestamptz, OUT database_id pg_catalog.text,
	OUT epoch pg_catalog.int8, OUT public_key pg_catalog.text,
	OUT signed_at pg_catalog.text, OUT signature pg_catalog.text)
AS 'MODULE_PATHNAME', 'ai_guard_signed_head'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@._signed_head() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._signed_head() IS
'internal: the chain head, signed once its own MAC verifies (audit_head() calls it)';

CREATE FUNCTION @extschema@.audit_head(OUT seq pg_catalog.int8, OUT head pg_catalog.text,
	OUT updated_at pg_catalog.timestamptz, OUT database_id pg_catalog.text,
	OUT epoch pg_catalog.int8, OUT public_key pg_catalog.text,
	OUT signed_at pg_catalog.text, OUT signature pg_catalog.text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@._signed_head()
$$;
GRANT EXECUTE ON FUNCTION @extschema@.audit_head() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_head() IS
'the current head of the audit chain (sequence number and hash), signed with Ed25519 over (database_id, seq, head, signed_at) by the current epoch''s key, to anchor outside the database (ai-guard anchor)';

CREATE FUNCTION @extschema@._audit_public_key()
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_audit_public_key'
LANGUAGE C STABLE;
REVOKE ALL ON FUNCTION @extschema@._audit_public_key() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._audit_public_key() IS
'internal: the public key of the current epoch, derived from the master key (audit_public_key() calls it)';

CREATE FUNCTION @extschema@.audit_public_key()
RETURNS pg_catalog.text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@._audit_public_key()
$$;
GRANT EXECUTE ON FUNCTION @extschema@.audit_public_key() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_public_key() IS
'the Ed25519 public key (hex) that signs this database''s audit heads in the current epoch; keep it to check anchors offline (NULL before anything is recorded)';

CREATE FUNCTION @extschema@.verify_audit(
	OUT intact pg_catalog.bool, OUT records pg_catalog.int8,
	OUT broken_seq pg_catalog.int8, OUT broken_pull_id pg_catalog.int8,
	OUT problem pg_catalog.text, OUT in_progress pg_catalog.int8,
	OUT cut_off pg_catalog.int8, OUT epoch pg_catalog.int8,
	OUT unkeyed pg_catalog.int8)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r      record;
	e      record;
	v_prev text := '';
	v_seq  int8 := 0;
	v_db   text;
	v_key  text;
	v_held bool := false;
	v_ok   bool;
	v_lost int8 := 0;		-- entries before here cannot be authenticated
	v_lost_epoch int8;
	st     record;
BEGIN
	intact := false;
	records := 0;
	unkeyed := 0;
	-- 0. pulls still "started": running now, or cut off and never to complete
	SELECT pg_catalog.count(*) FILTER (WHERE u.state = 'in progress'),
	       pg_catalog.count(*) FILTER (WHERE u.state = 'cut off')
	  INTO in_progress, cut_off
	  FROM @extschema@.unfinished_pulls() u;
	SELECT * INTO st FROM @extschema@.audit_state;
	v_db := st.database_id;
	-- 1. the chain itself: consecutive, linked, each hash recomputes, each
	--    MAC verifies under its epoch's chain key
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
		IF r.event = 'epoch' THEN
			SELECT * INTO e FROM @extschema@.audit_epochs x WHERE x.epoch = r.pull_id;
			IF NOT FOUND OR e.database_id IS DISTINCT FROM v_db THEN
				broken_seq := r.seq;
				problem := format('key epoch %s (chain entry %s) was deleted or belongs to another database', r.pull_id, r.seq);
				RETURN;
			END IF;
			IF v_key IS NULL AND e.unkeyed_before <> r.seq - 1 THEN
				broken_seq := r.seq;
				problem := format('chain entry %s begins the keyed chain but %s entries precede it, not %s',
				                  r.seq, r.seq - 1, e.unkeyed_before);
				RETURN;
			END IF;
			-- each epoch follows the key of the one before, with a new key
			IF e.previous_key_id IS DISTINCT FROM v_key OR e.key_id = v_key THEN
				broken_seq := r.seq;
				problem := format('key epoch %s does not follow the key of the epoch before it', r.pull_id);
				RETURN;
			END IF;
			-- the entries before are bound by this epoch's MACs only if the
			-- writer verified them when it began, or their own key is held
			IF v_key IS NOT NULL AND NOT v_held AND NOT e.previous_verified THEN
				v_lost := r.seq - 1;
				v_lost_epoch := r.pull_id;
			END IF;
			v_key := e.key_id;
			v_held := @extschema@._chain_key_held(v_db, v_key);
			epoch := r.pull_id;
		END IF;
		IF v_key IS NULL THEN
			-- written before the chain was keyed (before 0.3)
			IF r.mac IS NOT NULL THEN
				broken_seq := r.seq; broken_pull_id := r.pull_id;
				problem := format('chain entry %s carries a MAC but no key epoch precedes it', r.seq);
				RETURN;
			END IF;
			unkeyed := unkeyed + 1;
		ELSIF r.mac IS NULL THEN
			broken_seq := r.seq; broken_pull_id := r.pull_id;
			problem := format('chain entry %s is forged: it carries no MAC', r.seq);
			RETURN;
		ELSIF v_held THEN
			v_ok := @extschema@._chain_mac_ok(v_db, v_key, r.record_hash, r.mac);
			IF NOT v_ok THEN
				broken_seq := r.seq; broken_pull_id := r.pull_id;
				problem := format('chain entry %s is forged: its MAC does not verify under the chain key of epoch %s',
				                  r.seq, epoch);
				RETURN;
			END IF;
		END IF;
		v_prev := r.record_hash;
		v_seq := r.seq;
	END LOOP;
	records := v_seq;
	-- 2. the head: a truncated tail is noticed
	IF st.seq IS NOT NULL AND (st.seq <> v_seq OR st.head <> v_prev) THEN
		broken_seq := v_seq + 1;
		problem := format('the chain ends at entry %s but its recorded head is entry %s', v_seq, st.seq);
		RETURN;
	ELSIF st.seq IS NULL AND v_seq > 0 THEN
		problem := 'the chain head record is missing';
		RETURN;
	END IF;
	-- 3. the keys: the newest entries bind the rest, so their key must be held
	IF v_seq > 0 AND v_key IS NULL THEN
		problem := format('the chain carries no MAC: its %s entries were written before it was keyed, and the audit writer keys it with its next record', v_seq);
		RETURN;
	END IF;
	IF v_seq > 0 AND NOT v_held THEN
		problem := format('the chain''s current epoch %s is keyed by a master key this server does not hold', epoch);
		RETURN;
	END IF;
	-- entries without MACs come only from before 0.3, as many as the
	-- platform team recorded after its update (none on a newer database)
	IF unkeyed <> coalesce(pg_catalog.current_setting('ai_guard.audit_unkeyed_entries', true), '0')::int8 THEN
		problem := format('%s chain entries carry no MAC but ai_guard.audit_unkeyed_entries is %s: a database created at 0.3 has none; after an update from 0.2, set it to the number of entries the chain then had',
		                  unkeyed, coalesce(pg_catalog.current_setting('ai_guard.audit_unkeyed_entries', true), '0'));
		RETURN;
	END IF;
	IF v_lost > 0 THEN
		broken_seq := v_lost;
		problem := format('chain entries 1 to %s cannot be verified: epoch %s began without the previous chain key (a restore under another master key, or a master key changed without ai_guard.previous_master_key_file)',
		                  v_lost, v_lost_epoch);
		RETURN;
	END IF;
	-- 4. every record equals what its latest chain entry hashed
	FOR r IN
		SELECT p.pull_id, p.record_hash AS p_hash, l.seq, l.record_hash AS l_hash,
		       l.content_hash,
		       @extschema@._record_hash('', @extschema@._pull_fields(p)) AS now_hash
		  FROM @extschema@.pulls p
		  LEFT JOIN LATERAL (SELECT * FROM @extschema@.audit_log a
		                      WHERE a.pull_id = p.pull_id
		                        AND a.event NOT IN ('members', 'relation', 'governance', 'epoch')
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
	-- 4b. each pull is recorded once: started (or refused) first, then at
	--     most one outcome; a reused id would let a new record stand in
	SELECT x.pull_id INTO r FROM (
		SELECT a.pull_id, pg_catalog.array_agg(a.event ORDER BY a.seq) AS ev
		  FROM @extschema@.audit_log a
		 WHERE a.event NOT IN ('members', 'relation', 'governance', 'epoch')
		 GROUP BY a.pull_id) x
	 WHERE NOT (x.ev = ARRAY['started'] OR x.ev = ARRAY['refused']
	            OR (pg_catalog.cardinality(x.ev) = 2 AND x.ev[1] = 'started'
	                AND x.ev[2] IN ('completed', 'failed', 'refused')))
	 ORDER BY x.pull_id LIMIT 1;
	IF FOUND THEN
		broken_pull_id := r.pull_id;
		problem := format('pull %s was recorded more than once (its id was reused)', r.pull_id);
		RETURN;
	END IF;
	-- 4c. a finished pull, as it was when it started, equals its started entry
	SELECT p.pull_id, s.seq INTO r
	  FROM @extschema@.pulls p
	  JOIN LATERAL (SELECT a.seq, a.content_hash FROM @extschema@.audit_log a
	                 WHERE a.pull_id = p.pull_id AND a.event = 'started'
	                 ORDER BY a.seq LIMIT 1) s ON true
	  CROSS JOIN LATERAL (SELECT @extschema@._pull_fields(p) AS f) c
	 WHERE p.status <> 'started'
	   AND s.content_hash <> @extschema@._record_hash('',
	         c.f[1:1] || ARRAY['started'] || c.f[3:4] || ARRAY[NULL::text] || c.f[6:25]
	         || ARRAY[NULL::text, NULL, NULL] || c.f[29:31] || ARRAY[NULL::text])
	 ORDER BY p.pull_id LIMIT 1;
	IF FOUND THEN
		broken_seq := r.seq; broken_pull_id := r.pull_id;
		problem := format('pull %s was altered between its start (chain entry %s) and its outcome', r.pull_id, r.seq);
		RETURN;
	END IF;
	-- 5. no record was deleted
	SELECT a.seq, a.pull_id INTO r FROM @extschema@.audit_log a
	 WHERE a.event NOT IN ('governance', 'epoch')
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.pulls p WHERE p.pull_id = a.pull_id)
	 ORDER BY a.seq LIMIT 1;
	IF FOUND THEN
		broken_seq := r.seq; broken_pull_id := r.pull_id;
		problem := format('pull %s was deleted', r.pull_id);
		RETURN;
	END IF;
	-- 6. row membership equals what the chain hashed; none added or deleted
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
	-- 7. every change of governance equals what the chain hashed; none deleted
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
	SELECT a.pull_id INTO r FROM @extschema@.audit_log a
	 WHERE a.event = 'governance'
	 GROUP BY a.pull_id HAVING pg_catalog.count(*) > 1
	 ORDER BY a.pull_id LIMIT 1;
	IF FOUND THEN
		problem := format('governance change %s was recorded more than once (its id was reused)', r.pull_id);
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
	-- 8. every key epoch equals what the chain hashed; none added
	SELECT x.epoch INTO r FROM @extschema@.audit_epochs x
	 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.audit_log a
	                    WHERE a.pull_id = x.epoch AND a.event = 'epoch'
	                      AND a.content_hash = @extschema@._record_hash('',
	                                             @extschema@._epoch_fields(x)))
	 ORDER BY x.epoch LIMIT 1;
	IF FOUND THEN
		problem := format('key epoch %s was altered', r.epoch);
		RETURN;
	END IF;
	intact := true;
END;
$$;
-- anyone may check the chain: it tells whether and where it broke, not what
-- the records hold (a pulled file's verification needs it)
GRANT EXECUTE ON FUNCTION @extschema@.verify_audit() TO PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_audit() IS
'checks the audit chain (hashes, links and each entry''s MAC under its epoch''s chain key) and every record against it; returns intact, the number of chain entries, the first broken entry and problem, how many pulls are still in progress or were cut off, the current key epoch and how many entries were written before the chain was keyed';

CREATE FUNCTION @extschema@.audit_entry_hash(seq pg_catalog.int8)
RETURNS pg_catalog.text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.record_hash FROM @extschema@.audit_log a WHERE a.seq = $1
$$;
-- not to PUBLIC: with the hashes of every entry, anyone could test guesses
-- of what a row-membership entry holds (which rows someone's pull took)
REVOKE ALL ON FUNCTION @extschema@.audit_entry_hash(pg_catalog.int8) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_entry_hash(pg_catalog.int8) IS
'the hash of chain entry seq (NULL if there is none): what an anchor of that entry must still match (ai-guard verify-chain); revoked from PUBLIC, grant it to compliance roles';
