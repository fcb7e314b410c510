-- Keyed pseudonyms: ai_guard.pseudonymize(value, key_name).
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE ROLE regress_pseudo_scientist;
CREATE ROLE regress_pseudo_outsider;
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SELECT ai_guard.create_key('regress_pz', 'hmac-sha256') > 0 AS created;
SELECT ai_guard.create_key('regress_pz_linkable', 'hmac-sha256', true) > 0 AS created;
SELECT ai_guard.create_key('regress_pz_aes', 'aes-256-gcm') > 0 AS created;
SELECT ai_guard.grant_key('regress_pz', 'regress_pseudo_scientist', 'pseudonymize');
SELECT ai_guard.grant_key('regress_pz_linkable', 'regress_pseudo_scientist', 'pseudonymize');
SELECT ai_guard.grant_purpose('regress_pseudo_scientist', 'training');
SELECT ai_guard.grant_purpose('regress_pseudo_scientist', 'analytics:q3');

SET ROLE regress_pseudo_scientist;
SET ai_guard.purpose = 'training:churn-v3';
CREATE TEMP TABLE p AS
SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz') AS a1,
       ai_guard.pseudonymize('alice@example.com', 'regress_pz') AS a2,
       ai_guard.pseudonymize('bob@example.com', 'regress_pz') AS b1,
       ai_guard.pseudonymize('alice@example.com', 'regress_pz_linkable') AS l1;
-- a printable token: 32 lower-case hex digits
SELECT a1 ~ '^[0-9a-f]{32}$' AS printable, a1 = a2 AS stable, a1 <> b1 AS distinct_values,
       a1 <> l1 AS differs_from_other_key FROM p;
-- the detail after ":" does not matter: same purpose class, same pseudonym
SET ai_guard.purpose = 'training:fraud-v1';
SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz') = a1 AS same_class_same_pseudonym,
       ai_guard.pseudonymize('alice@example.com', 'regress_pz_linkable') = l1 AS linkable_same
  FROM p;
-- another purpose class: unlinkable, unless the key is linkable
SET ai_guard.purpose = 'analytics:q3';
SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz') <> a1 AS other_class_other_pseudonym,
       ai_guard.pseudonymize('alice@example.com', 'regress_pz_linkable') = l1 AS linkable_same
  FROM p;
-- the class is the pseudonym's domain: only under a purpose granted to the
-- caller (else pseudonyms could be linked across purposes), and not without one
SET ai_guard.purpose = 'marketing:q3';
SELECT pg_temp.try($$SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz')$$);
SET ai_guard.purpose = 'analytics:q4';
SELECT pg_temp.try($$SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz')$$);
RESET ai_guard.purpose;
SELECT pg_temp.try($$SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz')$$);
-- a linkable key has one domain: no purpose needed
SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz_linkable') = l1 AS linkable_no_purpose FROM p;
-- NULL in, NULL out; the empty string has a pseudonym too
SET ai_guard.purpose = 'training:churn-v3';
SELECT ai_guard.pseudonymize(NULL, 'regress_pz') IS NULL AS null_is_null,
       length(ai_guard.pseudonymize('', 'regress_pz')) AS empty_len;
RESET ai_guard.purpose;
-- an aes key cannot make pseudonyms
SELECT pg_temp.try($$SELECT ai_guard.pseudonymize('x', 'regress_pz_aes')$$);
SELECT pg_temp.try($$SELECT ai_guard.pseudonymize('x', 'regress_nosuch')$$);
RESET ROLE;

-- without the grant, no pseudonyms: candidates cannot be tried offline or online
SET ROLE regress_pseudo_outsider;
SELECT pg_temp.try($$SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz')$$);
RESET ROLE;

-- rotation changes the pseudonyms (documented)
SELECT ai_guard.rotate_key('regress_pz');
SET ROLE regress_pseudo_scientist;
SET ai_guard.purpose = 'training:churn-v3';
SELECT ai_guard.pseudonymize('alice@example.com', 'regress_pz') <> a1 AS rotated_differs FROM p;
RESET ai_guard.purpose;
DROP TABLE p;
RESET ROLE;

DELETE FROM ai_guard.key_grants WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name LIKE 'regress%');
DELETE FROM ai_guard.key_versions WHERE key_id IN (SELECT key_id FROM ai_guard.keys WHERE name LIKE 'regress%');
DELETE FROM ai_guard.keys WHERE name LIKE 'regress%';
SELECT ai_guard.revoke_purpose('regress_pseudo_scientist', 'training');
SELECT ai_guard.revoke_purpose('regress_pseudo_scientist', 'analytics:q3');
DROP ROLE regress_pseudo_scientist, regress_pseudo_outsider;
