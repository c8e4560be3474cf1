-- Durable executions: one row per execution, its operation log, history, timers and callback ids.
-- The EXECUTION operation is not stored as an operation row: it is rebuilt from the execution row.
CREATE TABLE durable_executions (
    arn TEXT PRIMARY KEY,
    function_name TEXT NOT NULL,
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    exec_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_ts DOUBLE PRECISION NOT NULL,
    end_ts DOUBLE PRECISION,
    expire_at DOUBLE PRECISION,
    invoke_wanted INTEGER NOT NULL DEFAULT 0,
    input_payload TEXT NOT NULL,
    doc TEXT NOT NULL
);
-- A durable-execution name is an idempotency key per function.
CREATE UNIQUE INDEX durable_executions_name ON durable_executions(function_name, name);
CREATE INDEX durable_executions_started ON durable_executions(function_name, start_ts);
CREATE INDEX durable_executions_expiry ON durable_executions(expire_at) WHERE expire_at IS NOT NULL;
CREATE INDEX durable_executions_wanted ON durable_executions(invoke_wanted) WHERE invoke_wanted = 1;
CREATE TABLE durable_operations (
    arn TEXT NOT NULL REFERENCES durable_executions(arn) ON DELETE CASCADE,
    op_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (arn, op_id)
);
CREATE TABLE durable_events (
    arn TEXT NOT NULL REFERENCES durable_executions(arn) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (arn, event_id)
);
-- Every due-time the engine owes an execution (wait ends, step retries, callback and
-- execution timeouts, re-invocation backoff, plain chained invokes to run); re-armed at start.
CREATE TABLE durable_timers (
    arn TEXT NOT NULL REFERENCES durable_executions(arn) ON DELETE CASCADE,
    op_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (arn, op_id, kind)
);
CREATE INDEX durable_timers_due ON durable_timers(due_at);
CREATE TABLE durable_callbacks (
    callback_id TEXT PRIMARY KEY,
    arn TEXT NOT NULL REFERENCES durable_executions(arn) ON DELETE CASCADE,
    op_id TEXT NOT NULL
);
CREATE INDEX durable_callbacks_arn ON durable_callbacks(arn);
