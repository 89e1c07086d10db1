"""Rate limits and concurrency: token buckets, windows, reserve-then-settle; memory and Redis
backends.
"""
