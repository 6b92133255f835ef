"""GraphQL-aware live delivery over WebSockets: shared (execute-once) subscription groups
(`fanout`), strawberry's protocol handlers extended with them (`protocols`), and synchronous
frame writes to uvicorn's sansio connections (`direct`). The broker and channels they read
from are in subscriptions/."""
