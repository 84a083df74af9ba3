-- Alerts can be turned off without forgetting who receives them: 1 (on) or 0.
ALTER TABLE webhooks ADD COLUMN alerts_enabled BIGINT NOT NULL DEFAULT 1;
