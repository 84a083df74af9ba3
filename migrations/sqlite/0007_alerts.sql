-- Who is emailed when a webhook's requests fail for good, and when they last were (one alert
-- an hour at most per webhook).
ALTER TABLE webhooks ADD COLUMN alert_emails TEXT NOT NULL DEFAULT '[]';
ALTER TABLE webhooks ADD COLUMN alerted_at BIGINT;
