-- Lambda layers: one row per layer (its next version number), one per published version.
-- Version numbers are never reused, even after a version is deleted. The zip itself is a
-- content-addressed code blob (code_blobs), shared with functions. A deleted version is only
-- hidden: functions that use it keep working, as on Lambda.
CREATE TABLE layers (
    name TEXT PRIMARY KEY,
    next_version BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE layer_versions (
    layer_name TEXT NOT NULL REFERENCES layers(name) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    config TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    code_size BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    policy TEXT,
    policy_revision TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (layer_name, version)
);
