// A small graphql-transport-ws client: one socket, many subscriptions, reconnect with backoff,
// resubscribe after reconnect, ping/pong, auth in connection_init.
import { session, onSession } from "./api.js";

const PROTOCOL = "graphql-transport-ws";
let socket = null;
let acked = false;
let nextId = 1;
let retry = 0;
let timer = null;
const active = new Map(); // id -> {query, variables, sink}
const stateListeners = new Set();
// "idle": no page needs live updates (the socket is closed on purpose, nothing to report);
// "up": subscribed and connected; "down": a page needs live updates and has lost them.
export let state = "idle";

function url() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
}

function setState(value) {
  if (state === value) return;
  state = value;
  stateListeners.forEach((fn) => fn(value));
}

export function onConnection(fn) { stateListeners.add(fn); return () => stateListeners.delete(fn); }

function send(message) { socket?.readyState === 1 && socket.send(JSON.stringify(message)); }

function sendSubscribe(id, sub) {
  send({ id, type: "subscribe", payload: { query: sub.query, variables: sub.variables } });
}

function connect() {
  if (socket || active.size === 0) return;
  acked = false;
  const ws = new WebSocket(url(), PROTOCOL);
  socket = ws;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "connection_init",
      payload: session.token ? { Authorization: `Bearer ${session.token}` } : {} }));
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "connection_ack":
        acked = true; retry = 0; setState("up");
        active.forEach((sub, id) => sendSubscribe(id, sub));
        break;
      case "ping": send({ type: "pong" }); break;
      case "next": active.get(message.id)?.sink.next?.(message.payload); break;
      case "error": active.get(message.id)?.sink.error?.(message.payload); active.delete(message.id); break;
      case "complete": active.get(message.id)?.sink.complete?.(); active.delete(message.id); break;
    }
  };
  ws.onclose = () => {
    if (socket !== ws) return; // closed on purpose (no subscriptions left, or a new identity)
    socket = null;
    setState(active.size ? "down" : "idle");
    if (active.size && !timer) {
      const delay = Math.min(10000, 250 * 2 ** retry++) * (0.5 + Math.random() / 2);
      timer = setTimeout(() => { timer = null; connect(); }, delay);
    }
  };
}

// Returns an unsubscribe function. sink: {next(payload), error(errors), complete()}.
export function subscribe(query, variables, sink) {
  const id = String(nextId++);
  const sub = { query, variables, sink };
  active.set(id, sub);
  if (!socket) connect();
  else if (acked) sendSubscribe(id, sub);
  return () => {
    if (active.delete(id) && acked) send({ id, type: "complete" });
    if (active.size === 0 && socket) { const ws = socket; socket = null; ws.close(1000); setState("idle"); }
  };
}

// Closes the socket the way a network failure would (the page then reconnects and
// resubscribes): the browser tests use it to check the banner appears and clears.
export function dropConnection() { socket?.close(4000, "dropped"); }

// A new token means a new identity on the socket: reconnect with it.
onSession(() => { if (socket) { const ws = socket; socket = null; ws.close(1000); connect(); } });
