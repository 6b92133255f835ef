from tests.leaderboard.conftest import boards

__all__ = ["boards"]
