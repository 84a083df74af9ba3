-- A disabled webhook holds its deliveries instead of failing them unsent: `held` deliveries are
-- neither attempted nor failed, and their retry window does not run; enabling the webhook
-- releases them, oldest first, each with a fresh window. A webhook every request of which has
-- failed for `disable_after_failing_hours` (0: never) is disabled by itself; `failing_since`
-- is when its receiver last began to fail (NULL while it accepts).
-- The status check changes, which on SQLite takes the table rebuild (foreign keys are off
-- during migrations, see 0009).
CREATE TABLE deliveries_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    enrollment_id     BIGINT  NOT NULL,
    journey_id        BIGINT  NOT NULL,
    version           BIGINT  NOT NULL,
    node_id           TEXT    NOT NULL,
    contact_id        BIGINT  NOT NULL,
    webhook_id        BIGINT  NOT NULL,
    custom_data       TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'held', 'accepted', 'failed', 'cancelled')),
    attempts          BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT,
    window_started_at BIGINT,
    last_status_code  BIGINT,
    last_error        TEXT,
    -- The delivery worker that holds this pending delivery's claim, while it sends.
    claimed_by        BIGINT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT
);
INSERT INTO deliveries_new (id, enrollment_id, journey_id, version, node_id, contact_id,
                            webhook_id, custom_data, status, attempts, next_attempt_at,
                            window_started_at, last_status_code, last_error, claimed_by,
                            created_at, updated_at)
SELECT id, enrollment_id, journey_id, version, node_id, contact_id, webhook_id, custom_data,
       status, attempts, next_attempt_at, window_started_at, last_status_code, last_error,
       claimed_by, created_at, updated_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_node ON deliveries (journey_id, version, node_id, status);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_claimed ON deliveries (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX deliveries_held ON deliveries (webhook_id, id) WHERE status = 'held';

ALTER TABLE webhooks ADD COLUMN disable_after_failing_hours BIGINT NOT NULL DEFAULT 24;
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
