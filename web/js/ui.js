// Views with preact + htm (vendored in web/vendor, mapped by the import map in index.html):
// `html` tagged templates instead of hand-built DOM; text is always escaped by preact.
import { h, render } from "preact";
import htm from "htm";
import { errorText, t } from "./i18n.js";

export { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
export const html = htm.bind(h);

// A list's states: the error, loading, the items (list()) or "empty".
export const shown = (error, items, list) => (error ? html`<p class="error">${errorText(error)}</p>` : !items ? html`<p>${t("loading")}</p>`
  : items.length ? list() : html`<p class="empty">${t("empty")}</p>`);

// Mount a component as a route's page; the returned function unmounts it (the router calls it).
export function page(main, vnode) {
  main.replaceChildren();
  render(vnode, main);
  return () => render(null, main);
}

// An organiser message form's submit (activity or team): title and body required, then
// `send(title, body, form)` resolves to the message sent; `say` shows the outcome, `then` reloads.
export const sendTitled = (send, say, then) => async (event) => {
  event.preventDefault();
  const form = event.target;
  const [title, body] = ["title", "body"].map((k) => form.elements[k].value.trim());
  if (!title || !body) { say(t("errRequired")); return; }
  try {
    const m = await send(title, body, form);
    form.reset();
    say(t("messageSent", { n: m.recipientCount }));
    await then();
  } catch (e) { say(errorText(e)); }
};
