// Server drafts with a local copy: every keystroke lands in localStorage at once, the server copy
// follows after a pause, and an unsynced local copy is pushed again when the connection returns.
import { gql } from "./api.js";
import { t } from "./i18n.js";
import { onConnection } from "./ws.js";
import { useEffect, useRef } from "./ui.js";

const GET = `query Draft($key: String!) { draft(key: $key) }`;
const SAVE = `mutation Save($key: String!, $body: String!) { saveDraft(key: $key, body: $body) }`;
const local = (key) => { try { return JSON.parse(localStorage.getItem(`tx.draft.${key}`)); } catch { return null; } };
const keep = (key, body, synced) => localStorage.setItem(`tx.draft.${key}`, JSON.stringify({ body, synced }));

export async function attachDraft(input, key, status) {
  let timer = null;
  const push = async () => {
    const body = input.value;
    try {
      await gql(SAVE, { key, body });
      if (input.value === body) keep(key, body, true);
      status.textContent = body ? t("draftSaved") : "";
      status.dataset.state = "saved";
    } catch {
      status.textContent = t("draftLocal");
      status.dataset.state = "local";
    }
  };
  // Listen before asking the server for its copy: what is typed while that request is out
  // must be kept too (the form is already on the page).
  input.addEventListener("input", () => {
    keep(key, input.value, false);
    clearTimeout(timer);
    timer = setTimeout(push, 500);
  });
  const stored = local(key);
  let server = null;
  try { server = (await gql(GET, { key })).draft; } catch { /* offline: the local copy is all we have */ }
  const restored = stored && !stored.synced ? stored.body : (server ?? stored?.body ?? "");
  if (restored && !input.value) {
    input.value = restored;
    status.textContent = t("draftRestored");
    status.dataset.state = "restored";
    if (stored && !stored.synced) push();
  }
  const retry = () => { const s = local(key); if (s && !s.synced) push(); };
  window.addEventListener("online", retry);
  const off = onConnection((state) => state === "up" && retry());
  return {
    clear() { clearTimeout(timer); localStorage.removeItem(`tx.draft.${key}`); status.textContent = ""; },
    // For a draft that publishing does not delete (a new thread's title): drop the server copy too.
    discard() { this.clear(); gql(SAVE, { key, body: "" }).catch(() => {}); },
    stop() { clearTimeout(timer); off(); window.removeEventListener("online", retry); },
  };
}

// The hook for a preact form: the field behind the returned `input` ref keeps a server draft under
// `key` (restored on return; `draft.current` clears or discards it once sent). Fields of one form
// may share one `status` line by passing its ref.
export function useDraft(key, status) {
  const input = useRef(null);
  const own = useRef(null);
  const draft = useRef(null);
  const line = status || own;
  useEffect(() => {
    let gone = false;
    attachDraft(input.current, key, line.current).then((d) => { if (gone) d.stop(); else draft.current = d; });
    return () => { gone = true; draft.current?.stop(); draft.current = null; };
  }, [key]);
  return { input, status: line, draft };
}
