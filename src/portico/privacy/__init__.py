"""PII detection and reversible masking, provider data policies, leak scanning."""
