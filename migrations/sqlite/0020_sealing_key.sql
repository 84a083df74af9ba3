-- The key that seals this database's secrets (and signs its links): its id in
-- --secret-key-file. Every process checks at start that its key file holds it, so a process
-- given another key file (or none, so that it made one) refuses to start instead of sealing
-- secrets and signing links the other processes cannot open.
CREATE TABLE sealing_key (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    key_id TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
