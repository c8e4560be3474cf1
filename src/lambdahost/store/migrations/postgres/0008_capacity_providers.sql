-- Capacity providers (Lambda Managed Instances): a named compute budget functions attach to.
CREATE TABLE capacity_providers (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    last_modified TEXT NOT NULL
);
