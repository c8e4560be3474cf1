-- Asynchronous invocation: per-qualifier retry/destination settings, and what
-- each queued event needs to remember between attempts.
CREATE TABLE event_invoke_configs (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    config TEXT NOT NULL,
    last_modified DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (function_name, qualifier)
);
ALTER TABLE event_invocations ADD COLUMN function_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_invocations ADD COLUMN system_retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_invocations ADD COLUMN last_response BYTEA;
ALTER TABLE event_invocations ADD COLUMN last_function_error TEXT;
ALTER TABLE event_invocations ADD COLUMN last_version TEXT;
