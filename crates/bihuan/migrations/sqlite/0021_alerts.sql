-- 预警: a signal for a town. kind 'surge' (a township-day over its baseline,
-- figures kept as judged, ×1000) or 'febrile_red_yellow' (one buyer,
-- person_id set). State 待签收 'open' → 已签收 'acked' → 研判 'false_alarm' /
-- 'suspected'; region is the township, moved up to the city when 签收 is
-- late (escalated_at).
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    township TEXT NOT NULL,
    region TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    median_milli INTEGER NOT NULL,
    mad_milli INTEGER NOT NULL,
    p90_milli INTEGER NOT NULL,
    z_milli INTEGER NOT NULL,
    person_id INTEGER REFERENCES persons (id),
    purchase_id INTEGER,
    state TEXT NOT NULL,
    ack_due_at INTEGER NOT NULL,
    escalated_at INTEGER,
    acked_by TEXT,
    acked_at INTEGER,
    verdict TEXT,
    note TEXT,
    judged_by TEXT,
    judged_at INTEGER,
    created_at INTEGER NOT NULL
);
-- One surge alert per (source, township, day): the job may be run again.
CREATE UNIQUE INDEX alerts_surge_once ON alerts (kind, source, township, day) WHERE kind = 'surge';
CREATE INDEX alerts_region ON alerts (region, state);
CREATE INDEX alerts_ack_due ON alerts (state, ack_due_at);
