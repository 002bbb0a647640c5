-- Some work belongs to a grid rather than one person (a round's 未检 list):
-- a task's person becomes optional.
ALTER TABLE tasks ALTER COLUMN person_id DROP NOT NULL
