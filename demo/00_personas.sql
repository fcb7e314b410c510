-- the people who use ai_guard
-- The platform team installs ai_guard (this session, a superuser). The others
-- are ordinary roles; later parts of the demo act as them with SET ROLE.
CREATE ROLE data_engineer LOGIN;
CREATE ROLE data_scientist LOGIN;
CREATE ROLE compliance_officer LOGIN;
GRANT USAGE ON SCHEMA demo TO data_engineer;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA demo TO data_engineer;
SELECT rolname, rolsuper FROM pg_roles
 WHERE rolname IN ('data_engineer', 'data_scientist', 'compliance_officer')
 ORDER BY 1;
