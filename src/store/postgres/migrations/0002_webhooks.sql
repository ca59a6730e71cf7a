-- Where each webhook subscription's delivery has got to in the log, and which process delivers
-- it: a process holds a subscription while its lease runs, and moves the cursor only while it
-- holds it.
CREATE TABLE glossa_webhook_cursors (
    subscription uuid        PRIMARY KEY,
    seq          bigint      NOT NULL,
    holder       uuid,
    lease_until  timestamptz
);

-- The latest delivery attempts of each subscription (older ones are trimmed).
CREATE TABLE glossa_webhook_attempts (
    subscription uuid        NOT NULL,
    n            bigserial,
    seq          bigint      NOT NULL,
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    attempt      integer     NOT NULL,
    at           timestamptz NOT NULL,
    status       integer,
    error        text,
    millis       integer     NOT NULL,
    PRIMARY KEY (subscription, n)
);
