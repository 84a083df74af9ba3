-- Events the customer's systems send about contacts. An event is stored before the API
-- answers; `processed_at` stays NULL until the engine has matched it against triggers and
-- waiting contacts, so a crash in between only delays matching.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    contact_id   BIGINT  NOT NULL REFERENCES contacts (id),
    name         TEXT    NOT NULL,
    properties   TEXT    NOT NULL DEFAULT '{}',
    message_id   BIGINT,
    occurred_at  BIGINT  NOT NULL,
    received_at  BIGINT  NOT NULL,
    processed_at BIGINT
);

CREATE INDEX events_unprocessed ON events (id) WHERE processed_at IS NULL;
CREATE INDEX events_history ON events (contact_id, name, occurred_at);
