-- The engine's state: where each contact is in each journey it entered, what it waits for,
-- and what it did on the way (node visits for statistics, messages sent, webhook requests
-- queued). A step and its records commit together, so a crash never loses or repeats one.

CREATE TABLE enrollments (
    id                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    error             TEXT
);

CREATE INDEX enrollments_due ON enrollments (due_at) WHERE state IN ('active', 'waiting');
CREATE INDEX enrollments_contact ON enrollments (contact_id, journey_id, state);
CREATE INDEX enrollments_journey ON enrollments (journey_id, version, node_id, state);

CREATE TABLE node_visits (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id BIGINT  NOT NULL,
    journey_id    BIGINT  NOT NULL,
    version       BIGINT  NOT NULL,
    node_id       TEXT    NOT NULL,
    contact_id    BIGINT  NOT NULL,
    visited_at    BIGINT  NOT NULL
);

CREATE INDEX node_visits_stats ON node_visits (journey_id, version, node_id, contact_id);

CREATE TABLE messages (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id BIGINT  NOT NULL,
    journey_id    BIGINT  NOT NULL,
    version       BIGINT  NOT NULL,
    node_id       TEXT    NOT NULL,
    contact_id    BIGINT  NOT NULL,
    channel       TEXT    NOT NULL,
    template      TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE INDEX messages_enrollment ON messages (enrollment_id, node_id);

CREATE TABLE deliveries (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id BIGINT  NOT NULL,
    journey_id    BIGINT  NOT NULL,
    version       BIGINT  NOT NULL,
    node_id       TEXT    NOT NULL,
    contact_id    BIGINT  NOT NULL,
    webhook       TEXT    NOT NULL,
    custom_data   TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'failed')),
    created_at    BIGINT  NOT NULL
);

CREATE INDEX deliveries_node ON deliveries (journey_id, version, node_id, status);
