-- 发热门诊: each visit a fever clinic reports, with its test. The person's
-- document and phone are kept encrypted as persons' are; result is pending
-- until the clinic posts it; test_id the test_results row once known.
CREATE TABLE fever_clinic_visits (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    venue_id INTEGER NOT NULL REFERENCES venues (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    doc_enc TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    temperature_tenths INTEGER NOT NULL,
    symptoms TEXT NOT NULL,
    barcode TEXT NOT NULL,
    sampled_at INTEGER NOT NULL,
    result TEXT NOT NULL,
    test_id INTEGER REFERENCES test_results (id),
    transfers_closed INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX fever_clinic_visits_person ON fever_clinic_visits (person_id, at);
CREATE INDEX fever_clinic_visits_venue ON fever_clinic_visits (venue_id, at);
-- The fever-clinic visit that answered a purchase's 发热就诊转运.
ALTER TABLE pharmacy_purchases ADD COLUMN matched_visit INTEGER REFERENCES fever_clinic_visits (id);
