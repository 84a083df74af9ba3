-- How long the session may stay idle, as the process that started it was told
-- (--session-idle-minutes): the pruner, which may run in another process (--role worker) with
-- other flags, forgets a session by its own limit. NULL (sessions from before): by its absolute
-- expiry only.
ALTER TABLE sessions ADD COLUMN idle_ms BIGINT;
