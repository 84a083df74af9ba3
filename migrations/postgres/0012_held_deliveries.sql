-- A disabled webhook holds its deliveries instead of failing them unsent: `held` deliveries are
-- neither attempted nor failed, and their retry window does not run; enabling the webhook
-- releases them, oldest first, each with a fresh window. A webhook every request of which has
-- failed for `disable_after_failing_hours` (0: never) is disabled by itself; `failing_since`
-- is when its receiver last began to fail (NULL while it accepts).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'held', 'accepted', 'failed', 'cancelled'));
CREATE INDEX deliveries_held ON deliveries (webhook_id, id) WHERE status = 'held';

ALTER TABLE webhooks ADD COLUMN disable_after_failing_hours BIGINT NOT NULL DEFAULT 24;
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
