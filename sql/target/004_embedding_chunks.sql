-- Embedding chunks cover one kind of entity (patient, case or project) over
-- a range of its target ids: the part says which.
ALTER TABLE mdw.chunks ADD COLUMN IF NOT EXISTS part text
    CHECK (part IN ('patient', 'case', 'project'));
-- Validation and status read the embedding links by content type.
CREATE INDEX IF NOT EXISTS ai_embedding_sources_hash ON public.ai_embedding_sources (sha256_hash);
