-- A declaration whose name, phone or destination differs from the identity on
-- file changes nothing on the person: the proposed change waits on the
-- declaration until the grid's 反馈 confirms it (信息变更待核实).
-- identity: new (created the person), same, moved (name and phone match, the
-- region differs), pending (name or phone differ), confirmed, rejected.
ALTER TABLE declarations ADD COLUMN identity TEXT NOT NULL DEFAULT 'same';
ALTER TABLE declarations ADD COLUMN proposed_name TEXT;
ALTER TABLE declarations ADD COLUMN proposed_phone_enc TEXT;
ALTER TABLE declarations ADD COLUMN proposed_phone_masked TEXT;
ALTER TABLE declarations ADD COLUMN proposed_region TEXT;
CREATE INDEX declarations_identity ON declarations (person_id, identity);
-- Accounts can be disabled; API tokens expire and can be revoked.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER;
-- Tokens made before expiry existed live a year from the upgrade, so no
-- feed stops at once.
UPDATE api_tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 31536000;
