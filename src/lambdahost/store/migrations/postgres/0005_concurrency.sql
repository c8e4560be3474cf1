-- Reserved concurrency per function (NULL: none, shares the unreserved pool).
ALTER TABLE functions ADD COLUMN reserved_concurrency INTEGER;
