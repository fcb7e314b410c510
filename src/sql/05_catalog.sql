
/*
 * Every role may use the schema: masking functions run as the reader of a
 * masked view, and the privileged functions check their caller in C. Each
 * table and privileged function is closed to PUBLIC on its own.
 */
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

/*
 * governed_relations: the one list of relations whose reads are governed
 * (audited, purpose-checked). Each capability adds its relations with its own
 * reason: govern() with 'govern', track() with 'track', create_masked_view()
 * with 'masked_view', a copy of governed data with 'derived' (derived.c).
 * A relation stays governed while any reason remains.
 * regclass values are dumped by name, so the list survives pg_dump/restore.
 */
CREATE TABLE @extschema@.governed_relations (
	rel         pg_catalog.regclass NOT NULL,
	reason      pg_catalog.text NOT NULL
	            CHECK (reason IN ('govern', 'track', 'masked_view', 'derived')),
	added_by    pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	added_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (rel, reason)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.governed_relations', '');
REVOKE ALL ON @extschema@.governed_relations FROM PUBLIC;

COMMENT ON TABLE @extschema@.governed_relations IS
'relations whose reads ai_guard governs, and why';
