-- A receiver that answers 429 or 503, or does not answer in time, pauses its webhook: no
-- process sends it anything before `paused_until` (as long as the receiver asked with
-- Retry-After, else a few seconds). Kept here rather than in each process's memory, so every
-- process backs off together.
ALTER TABLE webhooks ADD COLUMN paused_until BIGINT;
