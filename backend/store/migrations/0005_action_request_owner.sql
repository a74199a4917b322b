-- Which API process holds a pending reservation (host:pid:incarnation), so a reservation
-- left by a process that died is taken over at once instead of after the stale timeout.
ALTER TABLE action_requests ADD COLUMN owner TEXT;
