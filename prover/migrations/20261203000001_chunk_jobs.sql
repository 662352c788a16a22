-- The proving pipeline of a sequencer started with --postgres: one row per chunk to prove.
-- The sequencer's log (sled) is the truth; everything here can be dropped and is rebuilt
-- from the log (sealed, unproven batches are enqueued again at start).

-- Which deployment (genesis hash, hex) this database serves: one city per database.
CREATE TABLE pipeline (
    only_row   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    deployment TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE chunk_jobs (
    id               BIGSERIAL PRIMARY KEY,
    batch            BIGINT NOT NULL CHECK (batch > 0),
    chunk            INTEGER NOT NULL CHECK (chunk >= 0),
    -- Chunks in the batch: the batch is assembled when all of them are done.
    chunks           INTEGER NOT NULL CHECK (chunks > chunk),
    family           TEXT NOT NULL,
    slots            INTEGER NOT NULL CHECK (slots > 0),
    k                INTEGER NOT NULL,
    transactions     INTEGER NOT NULL,
    -- The expected public inputs (hex field elements), for people and for the check that a
    -- job enqueued again is the same job.
    root_old         TEXT NOT NULL,
    root_new         TEXT NOT NULL,
    data_hash        TEXT NOT NULL,
    -- The job itself: prover::fleet::JobPayload as JSON, `format` its version.
    format           INTEGER NOT NULL,
    payload          BYTEA NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'leased', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts > 0),
    -- A job put back after a failure waits until then (a back-off).
    available_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The current lease: who holds it, its fencing token, and until when.
    lease_token      TEXT,
    lease_expires_at TIMESTAMPTZ,
    worker           TEXT,
    last_error       TEXT,
    proof            BYTEA,
    prove_ms         BIGINT,
    -- Whether the proof arrived under the lease that made it (false: after it expired).
    on_time          BOOLEAN,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    leased_at        TIMESTAMPTZ,
    completed_at     TIMESTAMPTZ,
    UNIQUE (batch, chunk),
    CHECK ((status = 'leased') = (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK ((status = 'done') = (proof IS NOT NULL))
);

-- Leasing takes the oldest available queued job.
CREATE INDEX chunk_jobs_queued ON chunk_jobs (batch, chunk) WHERE status = 'queued';
-- Expired leases are found by their deadline.
CREATE INDEX chunk_jobs_leased ON chunk_jobs (lease_expires_at) WHERE status = 'leased';
