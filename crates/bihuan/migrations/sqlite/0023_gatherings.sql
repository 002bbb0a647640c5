-- 集聚性活动报备: the host's report (phones encrypted, shown masked), its
-- guest list (documents and phones encrypted, found by the persons' HMAC
-- lookup key), the city's 宴会缓办 switch (one row per change, the newest
-- in force) and towns' tightened rules awaiting or holding the city's
-- approval (不得层层加码).
CREATE TABLE gatherings (
    id INTEGER PRIMARY KEY,
    receipt TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    tier TEXT NOT NULL,
    state TEXT NOT NULL,
    event_date TEXT NOT NULL,
    village TEXT NOT NULL,
    address TEXT NOT NULL,
    tables_count INTEGER NOT NULL,
    headcount INTEGER NOT NULL,
    out_of_town INTEGER NOT NULL,
    host_name TEXT NOT NULL,
    host_phone_enc TEXT NOT NULL,
    host_phone_masked TEXT NOT NULL,
    cook_name TEXT NOT NULL,
    cook_phone_enc TEXT NOT NULL,
    cook_phone_masked TEXT NOT NULL,
    cook_health_cert INTEGER NOT NULL,
    venue_id INTEGER REFERENCES venues (id),
    assist_list_id INTEGER REFERENCES assist_lists (id),
    decided_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX gatherings_village ON gatherings (village, id);

CREATE TABLE gathering_guests (
    id INTEGER PRIMARY KEY,
    gathering_id INTEGER NOT NULL REFERENCES gatherings (id),
    row_no INTEGER NOT NULL,
    name TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    doc_lookup TEXT NOT NULL,
    doc_enc TEXT NOT NULL,
    doc_masked TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    out_of_town INTEGER NOT NULL,
    UNIQUE (gathering_id, row_no)
);
CREATE INDEX gathering_guests_lookup ON gathering_guests (doc_lookup);

CREATE TABLE gathering_pauses (
    id INTEGER PRIMARY KEY,
    city TEXT NOT NULL,
    paused INTEGER NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at INTEGER NOT NULL
);
CREATE INDEX gathering_pauses_city ON gathering_pauses (city, id);

-- state: pending, approved, rejected.
CREATE TABLE policy_overrides (
    id INTEGER PRIMARY KEY,
    town TEXT NOT NULL,
    rule_key TEXT NOT NULL,
    value INTEGER NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
);
CREATE INDEX policy_overrides_town ON policy_overrides (town, rule_key, state);
