-- 管控执行: daily check-ins, test results, reminders, help requests,
-- hand-overs, the derived health-code feed, API tokens and job claims.
CREATE TABLE check_ins (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    on_date TEXT NOT NULL,
    temperature INTEGER NOT NULL,
    symptoms TEXT NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX check_ins_person ON check_ins (person_id, on_date);

CREATE TABLE test_results (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    sampled_on TEXT NOT NULL,
    sampled_at INTEGER NOT NULL,
    result TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX test_results_person ON test_results (person_id, sampled_on);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    dedup_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);

CREATE TABLE help_requests (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    rating INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX help_requests_person ON help_requests (person_id);

CREATE TABLE handovers (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    to_county TEXT NOT NULL,
    to_township TEXT,
    address TEXT NOT NULL,
    reason TEXT NOT NULL,
    control TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL
);

CREATE TABLE health_codes (
    person_id INTEGER PRIMARY KEY REFERENCES persons (id),
    colour TEXT NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX health_codes_changed ON health_codes (changed_at);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE job_runs (
    job TEXT NOT NULL,
    period TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (job, period)
)
