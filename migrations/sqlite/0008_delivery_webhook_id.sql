-- A delivery names its webhook by the webhook's integer id, as every other table names the rows
-- it refers to (the column held the id as text). A value that is not a number could only name a
-- webhook that never existed; it becomes 0, which no webhook has.
ALTER TABLE deliveries ADD COLUMN webhook_id BIGINT NOT NULL DEFAULT 0;
UPDATE deliveries SET webhook_id = CAST(webhook AS INTEGER)
WHERE webhook <> '' AND webhook NOT GLOB '*[^0-9]*';
ALTER TABLE deliveries DROP COLUMN webhook;
