-- 采样点: where people are sampled.
CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    address TEXT NOT NULL,
    hours TEXT NOT NULL,
    kind TEXT NOT NULL,
    serves TEXT NOT NULL,
    paid INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sites_region ON sites (region)
