-- Lesson 19: the shortener's links on PostgreSQL, the twin of migrations/sqlite/.
--
-- One row for every short code ever handed out: deleting a link keeps its row (url NULL, clicks
-- 0), so the UNIQUE constraint on code holds live and retired codes alike, across replicas.
--
-- Ids come from the identity column's sequence: unique, and never handed out twice, even by a
-- transaction that rolls back (the value is burned; ids have gaps, which nothing promises
-- against). GENERATED ALWAYS: an INSERT cannot choose its own id by mistake.
CREATE TABLE links (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text   NOT NULL UNIQUE,
    url             text,
    clicks          bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    idempotency_key text
);

-- CreateLink's idempotency keys: a repeated key finds its first link through this index. Partial,
-- so links created without a key take no room in it.
CREATE UNIQUE INDEX links_idempotency_key ON links (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
