CREATE TABLE functions (
    name TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    next_version INTEGER NOT NULL DEFAULT 1,
    tags TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE function_versions (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    version_num INTEGER NOT NULL,
    config TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (function_name, version)
);
CREATE TABLE aliases (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
);
CREATE TABLE code_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL
);
CREATE TABLE event_invocations (
    seq BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    function_name TEXT NOT NULL,
    qualifier TEXT,
    payload BYTEA NOT NULL,
    client_context TEXT,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at DOUBLE PRECISION NOT NULL,
    available_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION
);
CREATE INDEX event_invocations_pending ON event_invocations(available_at) WHERE state = 0;
