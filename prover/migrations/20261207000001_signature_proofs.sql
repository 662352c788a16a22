-- Each chunk job's signature proof, handed in with its chunk proof: the proof of the chunk's
-- signed slots' signatures (circuits::signatures), at size k, covering `signature_count`
-- signatures. All three are null for a chunk with no signed slot, and until the job is done.
ALTER TABLE chunk_jobs
    ADD COLUMN signature_k     INTEGER,
    ADD COLUMN signature_count INTEGER,
    ADD COLUMN signature_proof BYTEA,
    ADD CHECK ((signature_k IS NULL) = (signature_proof IS NULL)
               AND (signature_k IS NULL) = (signature_count IS NULL));
