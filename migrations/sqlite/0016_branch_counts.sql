-- Which output of which node brought the contact to a visited node, so the canvas can count
-- each branch (a wait's 20 by `event` and 30 by `timeout`). NULL where a run starts (the
-- trigger) and on visits recorded before this column existed.
ALTER TABLE node_visits ADD COLUMN from_node TEXT;
ALTER TABLE node_visits ADD COLUMN from_branch TEXT;

-- One index serves both counts: contacts per node, and contacts per (node, output it came by).
DROP INDEX node_visits_stats;
CREATE INDEX node_visits_stats
    ON node_visits (journey_id, version, node_id, from_node, from_branch, contact_id);
