-- A webhook's health at a glance: its requests accepted and failed per hour, counted as the
-- delivery worker records its attempts, so the webhooks page reads 24 rows per webhook
-- instead of a day of the attempt log (which retention prunes). `failed` counts every attempt
-- that was not accepted (retried later or given up), and deliveries that could not be sent.
CREATE TABLE webhook_hours (
    webhook_id BIGINT NOT NULL,
    -- The hour's start, in milliseconds since the epoch (a multiple of 3,600,000).
    hour       BIGINT NOT NULL,
    accepted   BIGINT NOT NULL DEFAULT 0,
    failed     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (webhook_id, hour)
);

INSERT INTO webhook_hours (webhook_id, hour, accepted, failed)
SELECT deliveries.webhook_id,
       delivery_attempts.attempted_at - delivery_attempts.attempted_at % 3600000,
       SUM(CASE WHEN delivery_attempts.outcome = 'accepted' THEN 1 ELSE 0 END),
       SUM(CASE WHEN delivery_attempts.outcome = 'accepted' THEN 0 ELSE 1 END)
FROM delivery_attempts JOIN deliveries ON deliveries.id = delivery_attempts.delivery_id
GROUP BY 1, 2;

-- Since when a webhook is disabled (NULL while enabled); webhooks disabled before this column
-- existed take their last change's time.
ALTER TABLE webhooks ADD COLUMN disabled_at BIGINT;
UPDATE webhooks SET disabled_at = updated_at WHERE enabled = 0;
