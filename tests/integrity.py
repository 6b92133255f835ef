"""Database integrity after hostile traffic: the check itself is resolvers/integrity.py (also
`server.py check-integrity`), shared with the restore drill and the soak run."""

from resolvers.integrity import integrity_problems

__all__ = ["integrity_problems"]
