-- A correction names the instruction it corrects; the original's page
-- finds its corrections by this, and sweeps skip superseded instructions.
CREATE INDEX instructions_corrects ON instructions (corrects);
