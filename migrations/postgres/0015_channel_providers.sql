-- Every channel but email sends through an HTTP provider configured like a webhook. One row
-- per channel that was set up; `settings` is JSON (the provider's request template, its
-- credentials and how its receipts are read), sealed with the server's secret key.
CREATE TABLE channels (
    channel     TEXT    PRIMARY KEY
                        CHECK (channel IN ('email', 'sms', 'app_push', 'web_push', 'whatsapp', 'rcs')),
    settings    TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- The provider's own id for a sent message, from its answer: its receipts name the message
-- by it.
ALTER TABLE messages ADD COLUMN provider_ref TEXT;
CREATE INDEX messages_provider_ref ON messages (channel, provider_ref)
    WHERE provider_ref IS NOT NULL;

-- Where a queued message's retry window starts when not at its creation: a message held for
-- the contact's quiet hours gets its full window from when they end.
ALTER TABLE messages ADD COLUMN window_from BIGINT;
-- Frequency caps count each contact's recent messages on a channel.
CREATE INDEX messages_contact_sent ON messages (contact_id, channel, sent_at)
    WHERE status = 'sent';
