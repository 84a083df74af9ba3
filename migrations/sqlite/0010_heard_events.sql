-- What a run has heard: the last event (its time and id) it took into account, starting with
-- the event that enrolled it. A wait for an event counts every event of that name that came
-- after this mark and before the wait's timeout, so an event that arrived in the same batch as
-- the trigger, during an earlier step or while the journey was paused still counts, and one
-- event never resumes two waits of a run. NULL in runs started before: their waits count from
-- `waiting_since`, as then.
ALTER TABLE enrollments ADD COLUMN heard_at BIGINT;
ALTER TABLE enrollments ADD COLUMN heard_event BIGINT;
