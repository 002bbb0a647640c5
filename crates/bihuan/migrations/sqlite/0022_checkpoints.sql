-- 卡口: a checkpoint is a venue of kind 'checkpoint' (registered, approved
-- and region-scoped like any venue). A passage is one stop at it under the
-- client's passage id: a walker, or a vehicle (plate) with its occupants,
-- each a checkpoint_travellers row with their own facts and decision.
CREATE TABLE checkpoint_passages (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    venue_id INTEGER NOT NULL REFERENCES venues (id),
    region TEXT NOT NULL,
    plate TEXT,
    recorded_by TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX checkpoint_passages_region ON checkpoint_passages (region, at);
-- The traveller's document and phone are kept encrypted as persons' are;
-- declaration_id is the 返永通 declaration matched (on_behalf = 0) or made
-- at the checkpoint for them (on_behalf = 1); NULL when turned back.
CREATE TABLE checkpoint_travellers (
    id INTEGER PRIMARY KEY,
    passage_id INTEGER NOT NULL REFERENCES checkpoint_passages (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    doc_enc TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    origin TEXT NOT NULL,
    health_code TEXT NOT NULL,
    trip_star INTEGER NOT NULL,
    negative_48h INTEGER NOT NULL,
    village TEXT NOT NULL,
    address TEXT NOT NULL,
    decision TEXT NOT NULL,
    declaration_id INTEGER REFERENCES declarations (id),
    on_behalf INTEGER NOT NULL
);
CREATE INDEX checkpoint_travellers_passage ON checkpoint_travellers (passage_id);
-- 转运: the hand-over of a traveller to the destination grid, with the
-- pickup deadline (also the due time of its pickup task, which escalates).
CREATE TABLE checkpoint_transfers (
    id INTEGER PRIMARY KEY,
    traveller_id INTEGER NOT NULL UNIQUE REFERENCES checkpoint_travellers (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    grid TEXT NOT NULL,
    state TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX checkpoint_transfers_grid ON checkpoint_transfers (grid, state);
