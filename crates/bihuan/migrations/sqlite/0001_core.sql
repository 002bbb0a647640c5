-- Times are unix seconds (UTC); civil dates are TEXT 'YYYY-MM-DD' in Asia/Shanghai.
CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent TEXT
);
CREATE INDEX regions_parent ON regions (parent);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    region TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    doc_type TEXT NOT NULL,
    doc_lookup TEXT NOT NULL UNIQUE,
    doc_enc TEXT NOT NULL,
    doc_masked TEXT NOT NULL,
    name TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX persons_region ON persons (region);

CREATE TABLE declarations (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    receipt TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    arrival_date TEXT NOT NULL,
    village TEXT NOT NULL,
    address TEXT NOT NULL,
    counties TEXT NOT NULL,
    payload TEXT NOT NULL,
    facts TEXT NOT NULL,
    category TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    assessment TEXT NOT NULL
);
CREATE INDEX declarations_person ON declarations (person_id);
CREATE INDEX declarations_arrival ON declarations (arrival_date);
CREATE INDEX declarations_received ON declarations (received_at);

CREATE TABLE controls (
    person_id INTEGER PRIMARY KEY REFERENCES persons (id),
    declaration_id INTEGER NOT NULL REFERENCES declarations (id),
    category TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    release_on TEXT,
    status TEXT NOT NULL,
    assessment TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX controls_status ON controls (status, release_on);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    region TEXT NOT NULL,
    escalated_to TEXT,
    escalated_at INTEGER,
    due_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    outcome TEXT,
    note TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tasks_region_state ON tasks (region, state);
CREATE INDEX tasks_person ON tasks (person_id, kind, state);
CREATE INDEX tasks_due ON tasks (state, due_at);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    person_id INTEGER,
    task_id INTEGER,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_person ON events (person_id, id);
CREATE INDEX events_task ON events (task_id, id);

CREATE TABLE risk_areas (
    id INTEGER PRIMARY KEY,
    county TEXT NOT NULL,
    township TEXT,
    subarea TEXT,
    level TEXT NOT NULL,
    since TEXT NOT NULL,
    until TEXT,
    listed_on TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX risk_areas_county ON risk_areas (county);
