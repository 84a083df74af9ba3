-- Alert pacing per webhook: at most one email every `alert_every_minutes`. Failures for good
-- that come within the pause are added up here instead of dropped, and go out in the next
-- email: with the next failure after the pause, or from the alert sweep once it is over.
ALTER TABLE webhooks ADD COLUMN alert_every_minutes BIGINT NOT NULL DEFAULT 60;
ALTER TABLE webhooks ADD COLUMN unreported_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN unreported_error TEXT;
