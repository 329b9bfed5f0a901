-- Lesson 18: the shortener's links.
--
-- One row for every short code ever handed out. Deleting a link keeps its row as a tombstone
-- (url NULL, clicks 0): the UNIQUE index on code then holds live and retired codes alike, so a
-- retired code is never drawn again, and the id is never used again.
--
-- AUTOINCREMENT: ids never go back, even after the link with the highest id is deleted (a plain
-- INTEGER PRIMARY KEY may reuse the largest rowid; with tombstones no row is ever removed, but
-- the guarantee should not rest on that). The highest id ever given is kept in sqlite_sequence.
--
-- STRICT: a value of the wrong type is refused, not stored. (SQLite turns an integer overflow
-- into a REAL; the store's UPDATE refuses an overflow before it happens, and STRICT makes sure
-- a REAL never lands in clicks anyway.)

-- The shortener's mark in the file's header ("SHOR"): another program's database is refused.
PRAGMA application_id = 1397247826;

CREATE TABLE links (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    code   TEXT    NOT NULL UNIQUE,
    url    TEXT,
    clicks INTEGER NOT NULL DEFAULT 0 CHECK (clicks >= 0)
) STRICT;
