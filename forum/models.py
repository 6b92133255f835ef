"""Forum models (filled in by the forum work)."""
