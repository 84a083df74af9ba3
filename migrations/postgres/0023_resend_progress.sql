-- When a delivery was last resent: every delivery of one resend has the same time, so the
-- resend's progress (accepted, pending, failed) is a count by it. Only resent rows are indexed.
ALTER TABLE deliveries ADD COLUMN resent_at BIGINT;
CREATE INDEX deliveries_resent ON deliveries (journey_id, node_id, resent_at)
    WHERE resent_at IS NOT NULL;
