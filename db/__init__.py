"""Database plumbing: Tortoise settings from DATABASE_URL, the PostgreSQL and SQLite clients,
and read-replica routing. The models themselves live in models/."""
