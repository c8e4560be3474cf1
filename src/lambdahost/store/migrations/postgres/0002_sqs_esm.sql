-- SQS-compatible queues, their messages and FIFO deduplication records; event source mappings.
CREATE TABLE sqs_queues (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    fifo INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    created_at DOUBLE PRECISION NOT NULL,
    modified_at DOUBLE PRECISION NOT NULL,
    next_sequence BIGINT NOT NULL DEFAULT 0,
    purged_at DOUBLE PRECISION
);
CREATE TABLE sqs_messages (
    seq BIGSERIAL PRIMARY KEY,
    queue_id BIGINT NOT NULL REFERENCES sqs_queues(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    md5_body TEXT NOT NULL,
    message_attributes TEXT,
    system_attributes TEXT,
    sender_id TEXT NOT NULL,
    sent_at DOUBLE PRECISION NOT NULL,
    visible_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_received_at DOUBLE PRECISION,
    receipt TEXT,
    group_id TEXT,
    dedup_id TEXT,
    sequence_number TEXT
);
-- Receive scans a queue's messages by the time they become visible.
CREATE INDEX sqs_messages_visible ON sqs_messages(queue_id, visible_at, seq);
-- FIFO receive checks whether a message group has a message in flight.
CREATE INDEX sqs_messages_group ON sqs_messages(queue_id, group_id, visible_at) WHERE group_id IS NOT NULL;
CREATE INDEX sqs_messages_expiry ON sqs_messages(expires_at);
CREATE TABLE sqs_dedup (
    queue_id BIGINT NOT NULL REFERENCES sqs_queues(id) ON DELETE CASCADE,
    dedup_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence_number TEXT,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (queue_id, dedup_key)
);
CREATE INDEX sqs_dedup_expiry ON sqs_dedup(expires_at);
CREATE TABLE esm_mappings (
    uuid TEXT PRIMARY KEY,
    function_arn TEXT NOT NULL,
    event_source_arn TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    state_reason TEXT NOT NULL,
    last_modified DOUBLE PRECISION NOT NULL,
    last_result TEXT NOT NULL
);
CREATE INDEX esm_mappings_source ON esm_mappings(event_source_arn);
