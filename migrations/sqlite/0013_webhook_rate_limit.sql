-- At most this many requests a second to the webhook, from each process (0: no limit): a
-- receiver that rate-limits is not flooded, and a slow one does not take the others' turns.
ALTER TABLE webhooks ADD COLUMN max_requests_per_second BIGINT NOT NULL DEFAULT 0;
