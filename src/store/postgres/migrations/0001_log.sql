-- The event log: one row per event, at a global position (seq) and a version of its stream.
-- Positions are given under the lock on glossa_head's row, held to commit, so they are
-- contiguous and in commit order.
CREATE TABLE glossa_events (
    seq        bigint      PRIMARY KEY,
    stream     text        NOT NULL,
    version    bigint      NOT NULL,
    event_id   uuid        NOT NULL UNIQUE,
    event_type text        NOT NULL,
    schema     smallint    NOT NULL,
    actor      text        NOT NULL,
    at         timestamptz NOT NULL,
    data       json        NOT NULL,
    change     bytea,
    UNIQUE (stream, version)
);

-- Each stream's version, for expected-version checks without reading the stream.
CREATE TABLE glossa_streams (
    stream  text   PRIMARY KEY,
    version bigint NOT NULL
);

-- The last position committed; its row lock orders commits.
CREATE TABLE glossa_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint  NOT NULL
);
INSERT INTO glossa_head (one, seq) VALUES (true, 0);

-- The desk's own settings: its id (which local copies are checked against), the storage id
-- sync peers see, whether the seeds were loaded.
CREATE TABLE glossa_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO glossa_meta (key, value) VALUES ('desk_id', gen_random_uuid()::text);
