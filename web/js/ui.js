// Views with preact + htm (vendored in web/vendor, mapped by the import map in index.html):
// `html` tagged templates instead of hand-built DOM; text is always escaped by preact.
import { h, render } from "preact";
import htm from "htm";

export { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
export const html = htm.bind(h);

// Mount a component as a route's page; the returned function unmounts it (the router calls it).
export function page(main, vnode) {
  main.replaceChildren();
  render(vnode, main);
  return () => render(null, main);
}
