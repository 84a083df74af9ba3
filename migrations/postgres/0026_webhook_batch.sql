-- How a webhook sends its deliveries together, as JSON: {"max_size", "max_wait_seconds",
-- "key"}; NULL sends one request per delivery.
ALTER TABLE webhooks ADD COLUMN batch TEXT;
