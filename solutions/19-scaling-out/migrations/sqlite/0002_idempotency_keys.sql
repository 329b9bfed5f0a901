-- Lesson 19: CreateLink's idempotency keys, stored with the link they created.
--
-- A repeated key finds its link through this index instead of creating a second one. The
-- index is partial: links created without a key (most of them) take no room in it.
ALTER TABLE links ADD COLUMN idempotency_key TEXT;

CREATE UNIQUE INDEX links_idempotency_key ON links (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
