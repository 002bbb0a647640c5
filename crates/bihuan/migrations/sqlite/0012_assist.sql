-- 协查 lists: saved column mappings, uploads waiting for a mapping, the
-- lists as received and one row per line of a list. Cells are kept as
-- received, encrypted (they hold identity numbers and phones).
CREATE TABLE assist_mappings (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (region, name)
);

CREATE TABLE assist_uploads (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    filename TEXT NOT NULL,
    format TEXT NOT NULL,
    headers TEXT NOT NULL,
    cells_enc TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE assist_lists (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    filename TEXT NOT NULL,
    format TEXT NOT NULL,
    headers TEXT NOT NULL,
    mapping_name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX assist_lists_region ON assist_lists (region, id);

-- state: invalid, duplicate, earlier, not_in_city, tasked, verified.
-- same_as: the row this one repeats (in this list, or an earlier one).
CREATE TABLE assist_rows (
    id INTEGER PRIMARY KEY,
    list_id INTEGER NOT NULL REFERENCES assist_lists (id),
    row_no INTEGER NOT NULL,
    cells_enc TEXT NOT NULL,
    name TEXT NOT NULL,
    doc_masked TEXT NOT NULL,
    person_id INTEGER REFERENCES persons (id),
    category TEXT,
    state TEXT NOT NULL,
    errors TEXT,
    same_as INTEGER,
    grid TEXT,
    answer TEXT,
    task_id INTEGER REFERENCES tasks (id),
    outcome TEXT,
    measure TEXT,
    verified_at INTEGER,
    UNIQUE (list_id, row_no)
);
CREATE INDEX assist_rows_person ON assist_rows (person_id, state);
CREATE INDEX assist_rows_task ON assist_rows (task_id);
