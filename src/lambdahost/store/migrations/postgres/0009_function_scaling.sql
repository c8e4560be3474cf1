-- Lambda Managed Instances: PutFunctionScalingConfig, per published function version.
-- NULL bounds were not requested. Rows go with their version (and function).
CREATE TABLE function_scaling_configs (
    function_name TEXT NOT NULL,
    version TEXT NOT NULL,
    min_envs INTEGER,
    max_envs INTEGER,
    PRIMARY KEY (function_name, version),
    FOREIGN KEY (function_name, version)
        REFERENCES function_versions(function_name, version) ON DELETE CASCADE
);
