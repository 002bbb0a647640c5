-- 应急演练: a drill the command started. Its synthetic people are persons
-- with drill_id set before anything is injected, so every record the real
-- intake paths make for them is the drill's from its first moment. Tasks and
-- alerts carry the flag too (the dashboards count them without persons).
-- The after-action report is kept in report when the drill ends or is
-- purged; purged_at marks a drill whose records are gone.
CREATE TABLE drills (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    announced INTEGER NOT NULL,
    region TEXT NOT NULL,
    script TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    purged_at INTEGER,
    report TEXT
);

-- The threads of a drill: one injected signal each, the person it is about
-- and the records it made that hang on no person (a passage, a venue).
CREATE TABLE drill_threads (
    id INTEGER PRIMARY KEY,
    drill_id INTEGER NOT NULL REFERENCES drills (id),
    thread TEXT NOT NULL,
    person_id INTEGER,
    injected_at INTEGER
);
CREATE INDEX drill_threads_drill ON drill_threads (drill_id);

CREATE TABLE drill_roots (
    drill_id INTEGER NOT NULL REFERENCES drills (id),
    tbl TEXT NOT NULL,
    row_id INTEGER NOT NULL
);
CREATE INDEX drill_roots_drill ON drill_roots (drill_id);

ALTER TABLE persons ADD COLUMN drill_id INTEGER;
CREATE INDEX persons_drill ON persons (drill_id) WHERE drill_id IS NOT NULL;
ALTER TABLE tasks ADD COLUMN drill_id INTEGER;
CREATE INDEX tasks_drill ON tasks (drill_id) WHERE drill_id IS NOT NULL;
ALTER TABLE alerts ADD COLUMN drill_id INTEGER;
