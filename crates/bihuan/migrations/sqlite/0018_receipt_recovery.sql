-- 找回回执: one row per code request, matched or not, so the limits count
-- both alike. The ticket (what the browser holds) and the code are kept only
-- as hashes; a request that matched no one has no code and no person.
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    ticket_hash TEXT NOT NULL UNIQUE,
    doc_lookup TEXT NOT NULL,
    client TEXT NOT NULL,
    person_id INTEGER REFERENCES persons (id),
    code_hash TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
CREATE INDEX recovery_codes_doc ON recovery_codes (doc_lookup, created_at);
CREATE INDEX recovery_codes_client ON recovery_codes (client, created_at);
