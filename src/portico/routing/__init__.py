"""Planning and executing upstream attempts: planner, executor, retry (the one backoff), breaker."""
