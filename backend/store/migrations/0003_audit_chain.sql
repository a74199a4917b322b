-- Every audit entry is sealed: `hash` is an HMAC (key: DATA_DIR/audit-key) over the entry and
-- the previous entry's hash, so a changed, deleted or inserted row breaks the chain
-- (`flightdeck audit verify`). Entries are sealed once, right after they are written; entries
-- from before this migration are sealed when the store opens.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.hash IS NOT NULL
    OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor
    OR NEW.action IS NOT OLD.action OR NEW.target_kind IS NOT OLD.target_kind
    OR NEW.target_id IS NOT OLD.target_id OR NEW.reason IS NOT OLD.reason
    OR NEW.outcome IS NOT OLD.outcome OR NEW.message IS NOT OLD.message
    OR NEW.idempotency_key IS NOT OLD.idempotency_key OR NEW.source IS NOT OLD.source
    OR NEW.decision_key IS NOT OLD.decision_key OR NEW.details IS NOT OLD.details
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
