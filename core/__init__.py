"""Below every layer: deployment settings and geo helpers, used by models/, subscriptions/
and resolvers/ alike."""
