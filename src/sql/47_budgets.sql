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
