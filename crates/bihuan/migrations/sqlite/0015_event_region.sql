-- The region an event is about when no person names it: an export of a
-- town's list, an instruction escalated to a village. Audit search uses it
-- before the person's and the actor's region.
ALTER TABLE events ADD COLUMN region TEXT;
