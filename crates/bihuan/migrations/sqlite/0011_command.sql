-- 指挥部: the duty roster (值班值守) and instructions (指令) with their
-- recipients, receipts and answers. Instructions and answers are never
-- edited: a correction is a new row naming the one it corrects.
CREATE TABLE duty_roster (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    on_date TEXT NOT NULL,
    shift TEXT NOT NULL,
    name TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (region, on_date, shift, name)
);
CREATE INDEX duty_roster_date ON duty_roster (on_date, region);

ALTER TABLE tasks ADD COLUMN escalated_duty TEXT;

CREATE TABLE instructions (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    sender TEXT NOT NULL,
    sender_region TEXT NOT NULL,
    regions TEXT NOT NULL,
    roles TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    corrects INTEGER REFERENCES instructions (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX instructions_sender_region ON instructions (sender_region);

CREATE TABLE instruction_attachments (
    id INTEGER PRIMARY KEY,
    instruction_id INTEGER NOT NULL REFERENCES instructions (id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX instruction_attachments_instruction ON instruction_attachments (instruction_id);

CREATE TABLE instruction_recipients (
    instruction_id INTEGER NOT NULL REFERENCES instructions (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    username TEXT NOT NULL,
    region TEXT NOT NULL,
    role TEXT NOT NULL,
    acked_at INTEGER,
    answered_at INTEGER,
    escalated_to TEXT,
    escalated_at INTEGER,
    escalated_duty TEXT,
    PRIMARY KEY (instruction_id, user_id)
);
CREATE INDEX instruction_recipients_user ON instruction_recipients (user_id);
CREATE INDEX instruction_recipients_open ON instruction_recipients (acked_at, escalated_at);

CREATE TABLE instruction_answers (
    id INTEGER PRIMARY KEY,
    instruction_id INTEGER NOT NULL REFERENCES instructions (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    username TEXT NOT NULL,
    body TEXT NOT NULL,
    photo BLOB,
    photo_type TEXT,
    corrects INTEGER REFERENCES instruction_answers (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX instruction_answers_instruction ON instruction_answers (instruction_id)
