-- Contacts: the people journeys run for, identified by the id the customer's systems use.
-- Times are epoch milliseconds and documents JSON text, so the same SQL reads both backends.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    external_id TEXT    NOT NULL UNIQUE,
    attributes  TEXT    NOT NULL DEFAULT '{}',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
