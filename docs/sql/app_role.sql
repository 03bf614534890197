-- The application's own PostgreSQL role: reads and writes rows, never owns a table.
-- Run as the owner role that runs `manage.py migrate` (here: the current user), after
-- migrating, and again after any migration that adds tables. `remediation_app` is the role
-- the web server and the qcluster workers log in as (DATABASE_URL); give it a password
-- with ALTER ROLE remediation_app LOGIN PASSWORD '...'.
CREATE ROLE remediation_app NOLOGIN;
GRANT USAGE ON SCHEMA public TO remediation_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO remediation_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO remediation_app;
-- The audit trail is append-only: read and add, nothing else. Not being the owner, the
-- role can neither ALTER the table (DISABLE TRIGGER, DROP) nor TRUNCATE it.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON remediation_auditevent FROM remediation_app;
-- Its anchors and seals (see docs/execution.md, "Audit trail you can verify"): anchors are
-- moved with each append, never deleted; seals are only added.
REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON remediation_auditanchor FROM remediation_app;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON remediation_auditseal FROM remediation_app;
