"""The forum vertical: boards, threads, posts, moderation, search, experience posts."""
