-- 人、物、环境同防. holders: places that hold goods (each also a cold_chain
-- employer, so its workers are a rolling-testing cohort). venue_id links a
-- check-in venue when there is one.
CREATE TABLE goods_holders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    employer_id INTEGER NOT NULL REFERENCES employers (id),
    venue_id INTEGER REFERENCES venues (id),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (name, region)
);
CREATE INDEX goods_holders_region ON goods_holders (region);

-- A batch: its certificates (1 held, 0 missing), where it was first held,
-- and its test result (NULL until tested).
CREATE TABLE goods_batches (
    id INTEGER PRIMARY KEY,
    trace_code TEXT NOT NULL UNIQUE,
    product TEXT NOT NULL,
    origin TEXT NOT NULL,
    holder_id INTEGER NOT NULL REFERENCES goods_holders (id),
    region TEXT NOT NULL,
    inspection INTEGER NOT NULL,
    nucleic_acid INTEGER NOT NULL,
    disinfection INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    result TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX goods_batches_region ON goods_batches (region, id);

CREATE TABLE goods_movements (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES goods_batches (id),
    from_holder INTEGER NOT NULL REFERENCES goods_holders (id),
    to_holder INTEGER NOT NULL REFERENCES goods_holders (id),
    quantity INTEGER NOT NULL,
    at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX goods_movements_batch ON goods_movements (batch_id);
CREATE INDEX goods_movements_from ON goods_movements (from_holder);

-- 监管仓: one job per batch that must go through it.
CREATE TABLE warehouse_jobs (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL UNIQUE REFERENCES goods_batches (id),
    region TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX warehouse_jobs_region ON warehouse_jobs (region, state);

-- Environment sampling sites (a holder, or another place) and their samples.
CREATE TABLE env_sites (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    holder_id INTEGER REFERENCES goods_holders (id),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX env_sites_region ON env_sites (region);

CREATE TABLE env_samples (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES env_sites (id),
    sampled_on TEXT NOT NULL,
    result TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX env_samples_site ON env_samples (site_id, sampled_on);

-- A trace-back: what started it (a batch or a sample), its deadline, the
-- 协查 list of the exposed, and one seal task per downstream holder.
CREATE TABLE trace_backs (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    batch_id INTEGER REFERENCES goods_batches (id),
    sample_id INTEGER REFERENCES env_samples (id),
    due_at INTEGER NOT NULL,
    assist_list_id INTEGER REFERENCES assist_lists (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX trace_backs_region ON trace_backs (region, id);

CREATE TABLE trace_back_seals (
    trace_back_id INTEGER NOT NULL REFERENCES trace_backs (id),
    holder_id INTEGER NOT NULL REFERENCES goods_holders (id),
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (trace_back_id, holder_id)
);
