// HTTP GraphQL over fetch, the session token, and typed errors.
import { lang } from "./i18n.js";
const TOKEN_KEY = "tx.token";
const listeners = new Set();

export const session = {
  token: localStorage.getItem(TOKEN_KEY),
  me: null,
};

export function onSession(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function setToken(token) {
  session.token = token;
  session.me = null;
  if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY);
  listeners.forEach((fn) => fn(session));
}

export class GqlError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    const ext = errors[0]?.extensions || {};
    this.code = ext.code || "INTERNAL";
    this.field = ext.field || null;
    this.reason = ext.reason || null;
    this.extensions = ext;
  }
}

// sent: a fetch of this document already under way (index.html starts the list's).
export async function gql(query, variables = {}, sent = null) {
  // The server picks its messages' language from Accept-Language (zh-CN unless told en).
  const headers = { "Content-Type": "application/json", "Accept-Language": lang === "en" ? "en" : "zh-CN" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await (sent || fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) }));
  } catch {
    throw new GqlError([{ message: "network", extensions: { code: "NETWORK" } }]);
  }
  const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  if (body.errors?.length) {
    const error = new GqlError(body.errors);
    if (error.code === "UNAUTHENTICATED" && session.token) setToken(null);
    throw error;
  }
  return body.data;
}

export const nodes = (connection) => (connection?.edges || []).map((edge) => edge.node);
