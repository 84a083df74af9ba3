-- Alert emails go through the database: the turn that decides an email is due and the email
-- itself are written in one transaction, and a sender claims it (with a lease, so one process
-- sends it), sends it and deletes it, or retries it with backoff while the SMTP server cannot
-- take it (4xx, no connection) for up to a day. A crash or an SMTP outage no longer loses one.
CREATE TABLE alert_emails (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      BIGINT,
    -- A JSON array of addresses.
    recipients      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    -- 'queued', or 'failed' once refused for good or out of time.
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      BIGINT,
    last_error      TEXT,
    queued_at       BIGINT NOT NULL
);
CREATE INDEX alert_emails_due ON alert_emails (next_attempt_at) WHERE status = 'queued';

-- A webhook's latest failed requests, read for its alert emails (their causes, grouped).
CREATE INDEX deliveries_failed ON deliveries (webhook_id, id) WHERE status = 'failed';

-- A webhook disabled by its receiver (410 Gone) or its failing period, whose stakeholders have
-- not been told yet: set by the disabling, cleared by the transaction that queues the email.
-- The alert sweep tells those a process left untold (it stopped in between).
ALTER TABLE webhooks ADD COLUMN disable_untold BIGINT NOT NULL DEFAULT 0;
