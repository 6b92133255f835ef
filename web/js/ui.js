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
