-- How a webhook's failures for good are told: 'immediate' (the first at once, then at most one
-- email every alert_every_minutes), or gathered into an 'hourly' or 'daily' digest sent just
-- after the hour or midnight (UTC) by the alert sweep.
ALTER TABLE webhooks ADD COLUMN alert_digest TEXT NOT NULL DEFAULT 'immediate';
-- Since when failures have been held back for the next email: a digest goes out once the hour
-- (or day) in which they began is over.
ALTER TABLE webhooks ADD COLUMN unreported_since BIGINT;
