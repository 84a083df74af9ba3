-- Pacing a receiver across every process that sends to it.
--
-- A receiver that answers 429 or 503, or does not answer in time, pauses its webhook: no
-- process sends it anything before `paused_until` (as long as the receiver asked with
-- Retry-After, else a few seconds).
--
-- A webhook with `max_requests_per_second` hands out send times 1/rate apart: each process
-- reserves the next ones for the requests of a batch, from `rate_next_at` on, and moves it past
-- them. Several processes together stay within the rate.
ALTER TABLE webhooks ADD COLUMN paused_until BIGINT;
ALTER TABLE webhooks ADD COLUMN rate_next_at BIGINT;
