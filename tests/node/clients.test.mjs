// Real GraphQL clients against a live server (node --test): Apollo Client core with
// PersistedQueryLink and graphql-ws, urql core with persistedExchange. tests/e2e/
// test_graphql_over_http.py starts the server, seeds the data and passes it in the environment:
// URL, WS_URL, PHONE, PASSWORD (a volunteer), OTHER_TOKEN (another volunteer), ACTIVITIES.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client as UrqlClient, fetchExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

const { URL: url, WS_URL: wsUrl, PHONE: phone, PASSWORD: password, OTHER_TOKEN: otherToken } = process.env;
const activityCount = Number(process.env.ACTIVITIES);
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

const LOGIN = gql`mutation Login($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token } }`;
const PAGE = gql`query Page($after: String) { activities(first: 2, after: $after) {
  edges { cursor node { id title confirmedCount } } pageInfo { endCursor hasNextPage } } }`;
const SLOTS = gql`subscription Slots($id: ID!) { slotCount(activityId: $id) { activityId confirmed remaining version } }`;
const SIGN_UP = 'mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }';

/** fetch that records what each request carried, to see persisted queries at work. */
function recordingFetch(log) {
  return async (input, init = {}) => {
    const target = new globalThis.URL(typeof input === 'string' ? input : input.url);
    const body = init.body ? JSON.parse(init.body) : Object.fromEntries(target.searchParams);
    const response = await fetch(input, init);
    log.push({ method: init.method || 'GET', hashOnly: !body.query, status: response.status });
    return response;
  };
}

async function pages(run) {
  const ids = [];
  let after = null;
  for (;;) {
    const { activities } = await run(after);
    ids.push(...activities.edges.map((edge) => edge.node.id));
    if (!activities.pageInfo.hasNextPage) return ids;
    after = activities.pageInfo.endCursor;
  }
}

test('Apollo Client: persisted queries, Relay pages, live slot counts in the normalised cache', async () => {
  const requests = [];
  let token = null;
  const auth = new ApolloLink((operation, forward) => {
    if (token) operation.setContext(({ headers = {} }) => ({ headers: { ...headers, authorization: `Bearer ${token}` } }));
    return forward(operation);
  });
  const http = new PersistedQueryLink({ sha256 }).concat(
    new HttpLink({ uri: url, fetch: recordingFetch(requests) }));
  const ws = createWsClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: () => ({ Authorization: `Bearer ${token}` }) });
  const link = ApolloLink.split(({ query }) => getMainDefinition(query).operation === 'subscription',
    new GraphQLWsLink(ws), auth.concat(http));
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache({ typePolicies: { SlotCount: { keyFields: ['activityId'] } } }),
  });
  try {
    // logs in: the hash first, PERSISTED_QUERY_NOT_FOUND, then the text
    const { data: login } = await client.mutate({ mutation: LOGIN, variables: { phone, password } });
    token = login.login.token;
    assert.deepEqual(requests.slice(0, 2).map((r) => r.hashOnly), [true, false]);

    // pages the list with Relay cursors: after the first page, the hash alone is enough
    const ids = await pages(async (after) => (await client.query({ query: PAGE, variables: { after } })).data);
    assert.equal(ids.length, activityCount);
    assert.equal(new Set(ids).size, activityCount);
    assert.ok(requests.slice(-2).every((r) => r.hashOnly && r.status === 200));

    // watches slotCount while another client signs up
    const id = ids[0];
    const seen = [];
    await new Promise((resolve, reject) => {
      const subscription = client.subscribe({ query: SLOTS, variables: { id } }).subscribe({
        next: ({ data }) => {
          seen.push(data.slotCount.confirmed);
          if (seen.length === 1) {
            fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${otherToken}` },
              body: JSON.stringify({ query: SIGN_UP, variables: { id } }) }).catch(reject);
          } else {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    assert.deepEqual(seen, [seen[0], seen[0] + 1]);
    const cached = client.cache.readFragment({
      id: client.cache.identify({ __typename: 'SlotCount', activityId: id }),
      fragment: gql`fragment Held on SlotCount { confirmed }`,
    });
    assert.equal(cached.confirmed, seen[0] + 1);
  } finally {
    await ws.dispose();
    client.stop();
  }
});

test('urql: persisted queries over GET page the same list', async () => {
  const requests = [];
  const client = new UrqlClient({
    url,
    fetch: recordingFetch(requests),
    exchanges: [persistedExchange({ preferGetForPersistedQueries: true, generateHash: async (query) => sha256(query) }), fetchExchange],
  });
  const ids = await pages(async (after) => {
    const result = await client.query(PAGE, { after }).toPromise();
    assert.equal(result.error, undefined);
    return result.data;
  });
  assert.equal(ids.length, activityCount);
  assert.equal(requests[0].method, 'GET');
  assert.ok(requests[0].hashOnly);
  assert.ok(requests.at(-1).method === 'GET' && requests.at(-1).hashOnly && requests.at(-1).status === 200);
});
