-- 流调溯源: venues with their signed codes, check-ins (stays), tracing cases
-- and their candidate contacts. Times are unix seconds.
CREATE TABLE venues (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
);
CREATE INDEX venues_region ON venues (region);

-- One row per stay. t_out is the leaving time given, or t_in plus the venue
-- type's typical stay (left_given = 0).
CREATE TABLE checkins (
    id INTEGER PRIMARY KEY,
    venue_id INTEGER NOT NULL REFERENCES venues (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    t_in INTEGER NOT NULL,
    t_out INTEGER NOT NULL,
    left_given INTEGER NOT NULL,
    helper_id INTEGER,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX checkins_venue_time ON checkins (venue_id, t_in, t_out, person_id);
CREATE INDEX checkins_person_time ON checkins (person_id, t_in);

CREATE TABLE trace_cases (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    origin TEXT NOT NULL,
    window_from INTEGER NOT NULL,
    window_to INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (person_id)
);

-- degree 1 = 密接, 2 = 次密接; evidence is JSON (venue stays, household, tube).
CREATE TABLE trace_candidates (
    case_id INTEGER NOT NULL REFERENCES trace_cases (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    degree INTEGER NOT NULL,
    via_person_id INTEGER,
    exposure_at INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    PRIMARY KEY (case_id, person_id)
);
CREATE INDEX trace_candidates_person ON trace_candidates (person_id);

-- Household contacts: the address a resident lives at.
ALTER TABLE residents ADD COLUMN address TEXT
