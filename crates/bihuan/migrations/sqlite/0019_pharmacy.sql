-- 药店哨点: each reported purchase of a listed drug class. The buyer's
-- document and phone are kept encrypted as persons' are; test_due_at is the
-- test owed (NULL when a recent negative excused it), matched_test the test
-- that met it, followed_up_at when the grid was sent instead.
CREATE TABLE pharmacy_purchases (
    id INTEGER PRIMARY KEY,
    client_id TEXT UNIQUE,
    venue_id INTEGER NOT NULL REFERENCES venues (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    doc_enc TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    health_code TEXT NOT NULL,
    symptoms TEXT NOT NULL,
    temperature_tenths INTEGER,
    drugs TEXT NOT NULL,
    for_someone_else INTEGER NOT NULL,
    fever_transfer INTEGER NOT NULL,
    test_due_at INTEGER,
    matched_test INTEGER REFERENCES test_results (id),
    followed_up_at INTEGER,
    recorded_by TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX pharmacy_purchases_person ON pharmacy_purchases (person_id, at);
CREATE INDEX pharmacy_purchases_due ON pharmacy_purchases (test_due_at);
