-- A delivery names its webhook by the webhook's integer id, as every other table names the rows
-- it refers to (the column held the id as text). A value that is not a number could only name a
-- webhook that never existed; it becomes 0, which no webhook has.
ALTER TABLE deliveries ALTER COLUMN webhook TYPE BIGINT
    USING (CASE WHEN webhook ~ '^[0-9]{1,18}$' THEN webhook::BIGINT ELSE 0 END);
ALTER TABLE deliveries RENAME COLUMN webhook TO webhook_id;
