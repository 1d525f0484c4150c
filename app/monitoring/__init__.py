"""What the operations team watches: readiness checks and Prometheus metrics."""
