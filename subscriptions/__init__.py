"""Live updates: the broker (in-process or Redis) and channel names."""
