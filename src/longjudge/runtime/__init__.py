"""Run machinery: the retry policy, the concurrency limiter, the cache, the judge client,
usage accounting and the run directory."""
