// A slot-count subscription over graphql-sse (distinct connections mode) with the npm
// graphql-sse client: prints the first event, signs the volunteer up over HTTP, prints the
// event that follows. Usage: node sse.mjs URL ACTIVITY_ID TOKEN
import { createClient } from 'graphql-sse';

const [url, activityId, token] = process.argv.slice(2);
const SLOTS = 'subscription Slots($id: ID!) { slotCount(activityId: $id) { confirmed remaining version } }';
const SIGN_UP = 'mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }';

const client = createClient({ url, singleConnection: false, retryAttempts: 0 });
const events = client.iterate({ query: SLOTS, variables: { id: activityId } });
let seen = 0;
for await (const event of events) {
  console.log(JSON.stringify(event));
  seen += 1;
  if (seen === 1) {
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: SIGN_UP, variables: { id: activityId } }),
    });
  } else {
    break;
  }
}
client.dispose();
