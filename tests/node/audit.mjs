// The GraphQL-over-HTTP audit (graphql-http's serverAudits) against a running server.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql — prints one JSON line per audit.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  console.log(JSON.stringify({ id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? null }));
}
