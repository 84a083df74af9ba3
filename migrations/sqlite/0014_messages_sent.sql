-- Action nodes send real messages. A template asset holds what a message says on one channel
-- (like a webhook, reusable across journeys); the engine queues a message in the step's
-- transaction, and the message worker claims it, renders it for its contact and sends it,
-- retrying transient failures inside a window, like webhook deliveries.
CREATE TABLE templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    channel     TEXT    NOT NULL
                        CHECK (channel IN ('email', 'sms', 'app_push', 'web_push', 'whatsapp', 'rcs')),
    -- The channel's fields as JSON (email: from, reply_to, subject, html, text).
    content     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- Messages recorded before they were sent were never meant to go out late: they stay skipped.
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'sent', 'failed', 'skipped'));
ALTER TABLE messages ADD COLUMN template_id BIGINT;
ALTER TABLE messages ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- Queued: when to try next (a claim moves it to the end of the claim's lease).
ALTER TABLE messages ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE messages ADD COLUMN claimed_by BIGINT;
-- Why it failed or was skipped, or the last transient error while queued.
ALTER TABLE messages ADD COLUMN reason TEXT;
ALTER TABLE messages ADD COLUMN sent_at BIGINT;
UPDATE messages SET status = 'skipped', reason = 'recorded before action nodes sent messages';

CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_node ON messages (journey_id, version, node_id, status);
-- Activity events name their message; statistics count them per action node.
CREATE INDEX events_message ON events (message_id) WHERE message_id IS NOT NULL;
