-- Some work belongs to a grid rather than one person (a round's 未检 list):
-- a task's person becomes optional. SQLite cannot drop NOT NULL in place, so
-- the table is rebuilt; foreign keys are checked at commit.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE tasks_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    person_id INTEGER REFERENCES persons (id),
    region TEXT NOT NULL,
    escalated_to TEXT,
    escalated_at INTEGER,
    due_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    outcome TEXT,
    note TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO tasks_new SELECT id, kind, state, person_id, region, escalated_to, escalated_at,
    due_at, reason, outcome, note, created_at, updated_at FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_region_state ON tasks (region, state);
CREATE INDEX tasks_person ON tasks (person_id, kind, state);
CREATE INDEX tasks_due ON tasks (state, due_at)
