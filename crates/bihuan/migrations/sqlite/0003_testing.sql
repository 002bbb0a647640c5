-- 核酸检测: pooled tubes, their members, and the lab results as received.
CREATE TABLE tubes (
    id INTEGER PRIMARY KEY,
    barcode TEXT NOT NULL UNIQUE,
    pool_size INTEGER NOT NULL,
    members INTEGER NOT NULL DEFAULT 0,
    site TEXT NOT NULL,
    sampler TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    sampled_on TEXT NOT NULL,
    sealed_at INTEGER,
    result TEXT,
    ct TEXT,
    tested_at INTEGER
);

CREATE TABLE tube_members (
    tube_id INTEGER NOT NULL REFERENCES tubes (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (tube_id, person_id)
);
CREATE INDEX tube_members_person ON tube_members (person_id);

CREATE TABLE lab_results (
    id INTEGER PRIMARY KEY,
    barcode TEXT NOT NULL,
    result TEXT NOT NULL,
    ct TEXT,
    tested_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (barcode, result, tested_at)
)
;

-- A positive pool can put someone who never declared under control: a
-- control no longer needs a declaration. (SQLite cannot drop NOT NULL in
-- place, so the table is rebuilt.)
CREATE TABLE controls_new (
    person_id INTEGER PRIMARY KEY REFERENCES persons (id),
    declaration_id INTEGER REFERENCES declarations (id),
    category TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    release_on TEXT,
    status TEXT NOT NULL,
    assessment TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO controls_new SELECT person_id, declaration_id, category, policy_version, release_on,
    status, assessment, updated_at FROM controls;
DROP TABLE controls;
ALTER TABLE controls_new RENAME TO controls;
CREATE INDEX controls_status ON controls (status, release_on)
