-- 常住人口 and 全员核酸: the resident roll per grid, testing rounds, and
-- their coverage counters, kept incrementally as people are sampled.
CREATE TABLE residents (
    person_id INTEGER PRIMARY KEY REFERENCES persons (id),
    grid TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX residents_grid ON residents (grid);

CREATE TABLE rounds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    regions TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE round_grids (
    round_id INTEGER NOT NULL REFERENCES rounds (id),
    grid TEXT NOT NULL,
    residents INTEGER NOT NULL,
    sampled INTEGER NOT NULL,
    results_in INTEGER NOT NULL,
    positives INTEGER NOT NULL,
    PRIMARY KEY (round_id, grid)
);

CREATE TABLE round_people (
    round_id INTEGER NOT NULL REFERENCES rounds (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    grid TEXT NOT NULL,
    sampled_at INTEGER NOT NULL,
    result TEXT,
    PRIMARY KEY (round_id, person_id)
)
