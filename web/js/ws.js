// Live updates over graphql-transport-ws with the graphql-ws client (vendored, web/vendor): one
// socket for all of a page's subscriptions, opened on the first and closed after the last;
// reconnects with backoff and resubscribes; the token and the language go in connection_init. This
// module adds only the connection state the banner shows and the reconnect on a new identity or
// language. The library is
// imported on the first subscription, not with the shell: the list's first paint does not wait
// for it (its subscriptions start after the cards are drawn).
import { session, onSession } from "./api.js";
import { lang, onLang } from "./i18n.js";

let socket = null; // the current WebSocket (graphql-ws's "opened" event hands it over)
let live = 0; // subscriptions a page holds now
// The socket is being closed on purpose, which is no outage: to reconnect with a new token or
// language (graphql-ws resubscribes), or because no page needs it (graphql-ws closes it when the
// last subscription stops), even if a page subscribes again before the close completes (a page
// re-rendered by the language toggle, a move between two live pages).
let closingOnPurpose = false;
const stateListeners = new Set();
// "idle": no page needs live updates (the socket is closed on purpose, nothing to report);
// "up": subscribed and connected; "down": a page needs live updates and has lost them.
export let state = "idle";

function setState(value) {
  if (state === value) return;
  state = value;
  stateListeners.forEach((fn) => fn(value));
}

export function onConnection(fn) { stateListeners.add(fn); return () => stateListeners.delete(fn); }

let client = null;
const connect = () => (client ??= import("graphql-ws").then(({ createClient }) => createClient({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
  // Read at every (re)connection, so a new token is used by the next socket. A browser sets
  // no header on a WebSocket: the page's language goes here, for the server's messages.
  connectionParams: () => ({ "Accept-Language": lang === "en" ? "en" : "zh-CN",
    ...(session.token ? { Authorization: `Bearer ${session.token}` } : {}) }),
  retryAttempts: Infinity,
  // 125 ms to 10 s with jitter (the library's default starts at 1.3 s: a dropped socket on a
  // phone should come back before the person notices).
  retryWait: (retries) => new Promise((resolve) => setTimeout(resolve,
    Math.min(10000, 250 * 2 ** retries) * (0.5 + Math.random() / 2))),
  // Retry on any loss (the default retries on close events only, not on a failed connect).
  shouldRetry: () => true,
  on: {
    opened: (ws) => { socket = ws; },
    connected: () => setState("up"),
    // A close on purpose is no outage: the state stays as it was until reconnected.
    closed: () => { socket = null; if (closingOnPurpose) closingOnPurpose = false; else setState(live ? "down" : "idle"); },
  },
})));

// Returns an unsubscribe function. sink: {next(payload), error(errors), complete()}.
export function subscribe(query, variables, sink) {
  live++;
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    if (--live > 0) return;
    setState("idle");
    if (socket) closingOnPurpose = true; // graphql-ws closes it now
  };
  // Only what the server sends reaches the page: graphql-ws also completes a subscription the
  // page itself stopped, which the old client never reported.
  let stop = null;
  connect().then((ws) => {
    if (!held) return;
    stop = ws.subscribe({ query, variables }, {
      next: (payload) => held && sink.next?.(payload),
      error: (error) => { if (held) { release(); sink.error?.(error); } },
      complete: () => { if (held) { release(); sink.complete?.(); } },
    });
  });
  return () => { release(); stop?.(); };
}

// Closes the socket the way a network failure would (the page then reconnects and
// resubscribes): the browser tests use it to check the banner appears and clears.
export function dropConnection() { socket?.close(4000, "dropped"); }

// A new token (a new identity) or a new language: close the socket with a code graphql-ws
// retries, so it reconnects with the new connection_init and resubscribes what is open.
const restart = (why) => { if (socket) { closingOnPurpose = true; socket.close(4205, why); } };
onSession(() => restart("identity changed"));
onLang(() => restart("language changed"));
