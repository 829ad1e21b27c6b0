//! The partner API's exchange endpoints: signed quotes and executions.
