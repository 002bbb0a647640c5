-- The health-code feed's cursor: every colour change takes the next value
-- of one counter in its own transaction, so changes stamped in the same
-- second are still ordered and a reader that passes the last seq it saw
-- misses none (the counter row is locked until commit, so seqs commit in
-- order). Existing rows are numbered in their old feed order.
ALTER TABLE health_codes ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE health_codes SET seq = r.n FROM (
    SELECT person_id, ROW_NUMBER() OVER (ORDER BY changed_at, person_id) AS n FROM health_codes
) AS r WHERE r.person_id = health_codes.person_id;
CREATE INDEX health_codes_seq ON health_codes (seq);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) SELECT 'health_codes', COALESCE(MAX(seq), 0) FROM health_codes;
-- The plans a temporary control (a positive pool, a zone) runs on top of:
-- a JSON array of assessments, restored when it ends.
ALTER TABLE controls ADD COLUMN underlying TEXT
