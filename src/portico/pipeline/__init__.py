"""The hook pipeline around the executor: auth, limits, budget, PII, policy, audit, finalize."""
