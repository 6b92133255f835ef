// Server exports (schema/exports_http.py): fetched with the session's bearer token, saved as a
// file. Throws a GqlError on refusal, so errorText() shows it like any other coded error.
import { GqlError, session } from "./api.js";

export async function download(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  const headers = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  let response;
  try {
    response = await fetch(query ? `${path}?${query}` : path, { headers });
  } catch {
    throw new GqlError([{ message: "network", extensions: { code: "NETWORK" } }]);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new GqlError(body.errors?.length ? body.errors : [{ message: `HTTP ${response.status}` }]);
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1]
    || path.split("/").pop();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
