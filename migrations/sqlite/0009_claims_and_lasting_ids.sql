-- Three changes that each need SQLite's table rebuild, done together:
--  * Ids are never reused. Without AUTOINCREMENT, SQLite gives a new row the largest id + 1, so
--    the id of the newest deleted journey or webhook went to the next one created, and with it
--    the deleted one's cached graph, statistics and pending deliveries. Rebuilt: the tables whose
--    ids the API shows or other rows name (contacts, journeys, webhooks, events, enrollments,
--    messages, deliveries). node_visits and delivery_attempts keep theirs: nothing names them
--    and they are deleted only with what owns them.
--  * A delivery can be `cancelled` (its journey or webhook was deleted): kept in the log, never
--    sent.
--  * A claimed delivery records who holds it (`claimed_by`, one token per delivery worker), so
--    a worker whose lease was taken over cannot overwrite the new holder's result, heartbeats
--    renew only its own claims, and a restart takes over what the dead process held.
-- The rebuild follows SQLite's procedure for schema changes: new table, rows copied, old
-- table dropped, new one renamed. It needs foreign keys off (dropping `journeys` or
-- `deliveries` would otherwise delete their versions and attempts by cascade): `Store::migrate`
-- runs SQLite's migrations on a connection with them off and checks them afterwards.

CREATE TABLE contacts_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id TEXT    NOT NULL UNIQUE,
    attributes  TEXT    NOT NULL DEFAULT '{}',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
INSERT INTO contacts_new (id, external_id, attributes, created_at, updated_at)
SELECT id, external_id, attributes, created_at, updated_at FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;

CREATE TABLE journeys_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'live', 'paused')),
    reentry      TEXT    NOT NULL DEFAULT 'once' CHECK (reentry IN ('once', 'after_exit', 'always')),
    draft        TEXT    NOT NULL,
    live_version BIGINT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
INSERT INTO journeys_new (id, name, status, reentry, draft, live_version, created_at, updated_at)
SELECT id, name, status, reentry, draft, live_version, created_at, updated_at FROM journeys;
DROP TABLE journeys;
ALTER TABLE journeys_new RENAME TO journeys;

CREATE TABLE webhooks_new (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    name                        TEXT    NOT NULL,
    url                         TEXT    NOT NULL,
    method                      TEXT    NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH')),
    body_format                 TEXT    NOT NULL CHECK (body_format IN ('json', 'form', 'query')),
    contact_fields              TEXT    NOT NULL DEFAULT '[]',
    custom_data                 TEXT    NOT NULL DEFAULT '[]',
    headers                     TEXT    NOT NULL DEFAULT '[]',
    auth_type                   TEXT    NOT NULL DEFAULT 'none'
                                        CHECK (auth_type IN ('none', 'basic', 'bearer', 'api_key')),
    auth_name                   TEXT,
    auth_secret                 TEXT,
    signing_secret              TEXT    NOT NULL,
    previous_signing_secret     TEXT,
    previous_secret_expires_at  BIGINT,
    retry_window_hours          BIGINT  NOT NULL DEFAULT 12,
    enabled                     BIGINT  NOT NULL DEFAULT 1,
    disabled_reason             TEXT,
    created_at                  BIGINT  NOT NULL,
    updated_at                  BIGINT  NOT NULL,
    alert_emails                TEXT    NOT NULL DEFAULT '[]',
    alerted_at                  BIGINT
);
INSERT INTO webhooks_new (id, name, url, method, body_format, contact_fields, custom_data,
                          headers, auth_type, auth_name, auth_secret, signing_secret,
                          previous_signing_secret, previous_secret_expires_at,
                          retry_window_hours, enabled, disabled_reason, created_at, updated_at,
                          alert_emails, alerted_at)
SELECT id, name, url, method, body_format, contact_fields, custom_data, headers, auth_type,
       auth_name, auth_secret, signing_secret, previous_signing_secret,
       previous_secret_expires_at, retry_window_hours, enabled, disabled_reason, created_at,
       updated_at, alert_emails, alerted_at
FROM webhooks;
DROP TABLE webhooks;
ALTER TABLE webhooks_new RENAME TO webhooks;

CREATE TABLE events_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id   BIGINT  NOT NULL REFERENCES contacts (id),
    name         TEXT    NOT NULL,
    properties   TEXT    NOT NULL DEFAULT '{}',
    message_id   BIGINT,
    occurred_at  BIGINT  NOT NULL,
    received_at  BIGINT  NOT NULL,
    processed_at BIGINT
);
INSERT INTO events_new (id, contact_id, name, properties, message_id, occurred_at, received_at,
                        processed_at)
SELECT id, contact_id, name, properties, message_id, occurred_at, received_at, processed_at
FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_unprocessed ON events (id) WHERE processed_at IS NULL;
CREATE INDEX events_history ON events (contact_id, name, occurred_at);

CREATE TABLE enrollments_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    journey_id        BIGINT  NOT NULL,
    version           BIGINT  NOT NULL,
    contact_id        BIGINT  NOT NULL REFERENCES contacts (id),
    -- The node the contact is at: to enter now (active), waits at (waiting) or left at.
    node_id           TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('active', 'waiting', 'exited', 'failed')),
    -- active: enter node_id (resumed IS NULL) or leave it by `resumed`; waiting: the timer.
    due_at            BIGINT,
    resumed           TEXT    CHECK (resumed IN ('event', 'timer')),
    -- waiting for an event of this name, or for this activity of the message the action
    -- node awaiting_node sent in this enrollment.
    awaiting_event    TEXT,
    awaiting_node     TEXT,
    awaiting_activity TEXT,
    waiting_since     BIGINT,
    entered_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    error             TEXT,
    trigger_event_id  BIGINT
);
INSERT INTO enrollments_new (id, journey_id, version, contact_id, node_id, state, due_at,
                             resumed, awaiting_event, awaiting_node, awaiting_activity,
                             waiting_since, entered_at, updated_at, error, trigger_event_id)
SELECT id, journey_id, version, contact_id, node_id, state, due_at, resumed, awaiting_event,
       awaiting_node, awaiting_activity, waiting_since, entered_at, updated_at, error,
       trigger_event_id
FROM enrollments;
DROP TABLE enrollments;
ALTER TABLE enrollments_new RENAME TO enrollments;
CREATE INDEX enrollments_due ON enrollments (due_at) WHERE state IN ('active', 'waiting');
CREATE INDEX enrollments_contact ON enrollments (contact_id, journey_id, state);
CREATE INDEX enrollments_journey ON enrollments (journey_id, version, node_id, state);

CREATE TABLE messages_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    enrollment_id BIGINT  NOT NULL,
    journey_id    BIGINT  NOT NULL,
    version       BIGINT  NOT NULL,
    node_id       TEXT    NOT NULL,
    contact_id    BIGINT  NOT NULL,
    channel       TEXT    NOT NULL,
    template      TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
INSERT INTO messages_new (id, enrollment_id, journey_id, version, node_id, contact_id, channel,
                          template, created_at)
SELECT id, enrollment_id, journey_id, version, node_id, contact_id, channel, template,
       created_at
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_enrollment ON messages (enrollment_id, node_id);

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
                              CHECK (status IN ('pending', 'accepted', 'failed', 'cancelled')),
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
                            window_started_at, last_status_code, last_error, created_at,
                            updated_at)
SELECT id, enrollment_id, journey_id, version, node_id, contact_id, webhook_id, custom_data,
       status, attempts, next_attempt_at, window_started_at, last_status_code, last_error,
       created_at, updated_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_node ON deliveries (journey_id, version, node_id, status);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_claimed ON deliveries (claimed_by) WHERE claimed_by IS NOT NULL;
