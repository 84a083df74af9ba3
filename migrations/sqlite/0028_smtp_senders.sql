-- Worker processes with an SMTP server (`--smtp-url`) check in here every minute, so that a
-- web process without one can tell whether alert and email messages go out.
CREATE TABLE smtp_senders (
    claimant BIGINT NOT NULL PRIMARY KEY,
    seen_at  BIGINT NOT NULL
);
