-- Every attempt to send a message, as the delivery log keeps every webhook request's: when,
-- what came of it ('sent', 'retry': a transient failure, 'failed'), and the answer or error.
-- Written in the transaction that records the outcome; pruned with the delivery attempts.
CREATE TABLE message_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    attempted_at BIGINT  NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
    detail       TEXT
);

CREATE INDEX message_attempts_message ON message_attempts (message_id, id);
