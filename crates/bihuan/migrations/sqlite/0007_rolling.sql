-- 重点行业滚动检测: employers and their rosters of workers.
CREATE TABLE employers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    grid TEXT NOT NULL,
    industry TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (name, grid)
);

CREATE TABLE workers (
    employer_id INTEGER NOT NULL REFERENCES employers (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (employer_id, person_id)
);
CREATE INDEX workers_person ON workers (person_id)
