-- PostgreSQL identities never reuse an id; SQLite's tables get AUTOINCREMENT in the same
-- migration. Here:
--  * A delivery can be `cancelled` (its journey or webhook was deleted): kept in the log, never
--    sent.
--  * A claimed delivery records who holds it (`claimed_by`, one token per delivery worker), so
--    a worker whose lease was taken over cannot overwrite the new holder's result, and
--    heartbeats renew only its own claims.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'accepted', 'failed', 'cancelled'));
ALTER TABLE deliveries ADD COLUMN claimed_by BIGINT;
CREATE INDEX deliveries_claimed ON deliveries (claimed_by) WHERE claimed_by IS NOT NULL;
