-- A client's own id of a purchase, a visit or a passage is its venue's:
-- stored as "venue:id", so two pharmacies (clinics, checkpoints) whose
-- systems count alike never collide.
UPDATE pharmacy_purchases SET client_id = CAST(venue_id AS TEXT) || ':' || client_id
WHERE client_id IS NOT NULL;
UPDATE fever_clinic_visits SET client_id = CAST(venue_id AS TEXT) || ':' || client_id;
UPDATE checkpoint_passages SET client_id = CAST(venue_id AS TEXT) || ':' || client_id;

-- One trace-back per positive batch, whatever races.
CREATE UNIQUE INDEX trace_backs_one_per_batch ON trace_backs (batch_id) WHERE batch_id IS NOT NULL;

-- A drill's record with no person names the thread it belongs to (a
-- cold-chain thread's holders, whose seal tasks are that thread's).
ALTER TABLE drill_roots ADD COLUMN thread TEXT NOT NULL DEFAULT '';
CREATE INDEX drill_threads_thread ON drill_threads (drill_id, thread);
CREATE INDEX drill_roots_thread ON drill_roots (drill_id, thread);
CREATE INDEX trace_back_seals_holder ON trace_back_seals (holder_id);
