-- Webhook delivery: when each pending request is next due, how its attempts went, and the
-- event that started the contact's run (its name and properties go into the payload).
ALTER TABLE enrollments ADD COLUMN trigger_event_id BIGINT;

ALTER TABLE deliveries ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE deliveries ADD COLUMN window_started_at BIGINT;
ALTER TABLE deliveries ADD COLUMN last_status_code BIGINT;
ALTER TABLE deliveries ADD COLUMN last_error TEXT;
ALTER TABLE deliveries ADD COLUMN updated_at BIGINT;

UPDATE deliveries SET next_attempt_at = created_at WHERE status = 'pending';

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE delivery_attempts (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   BIGINT  NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at  BIGINT  NOT NULL,
    latency_ms    BIGINT  NOT NULL,
    status_code   BIGINT,
    error         TEXT,
    response_body TEXT,
    -- Placeholders the contact or event lacked; they were sent empty or as their default.
    missing_placeholders TEXT,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('accepted', 'retry', 'failed'))
);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
