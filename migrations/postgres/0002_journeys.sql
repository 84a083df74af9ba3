-- Journeys: the editable draft, and the immutable versions publishing creates. Contacts in
-- flight stay on the version they entered, so versions are never updated or deleted while a
-- journey exists.
CREATE TABLE journeys (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'live', 'paused')),
    reentry      TEXT    NOT NULL DEFAULT 'once' CHECK (reentry IN ('once', 'after_exit', 'always')),
    draft        TEXT    NOT NULL,
    live_version BIGINT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

CREATE TABLE journey_versions (
    journey_id   BIGINT NOT NULL REFERENCES journeys (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    document     TEXT   NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (journey_id, version)
);
