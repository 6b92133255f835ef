// Views with preact + htm (vendored in web/vendor, mapped by the import map in index.html):
// `html` tagged templates instead of hand-built DOM; text is always escaped by preact.
import { h, render } from "preact";
import htm from "htm";
import { useRef, useState } from "preact/hooks";
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

// A labelled control, its error tied to it (aria-describedby, aria-invalid, data-error-for), id
// `${id}-${name}`; a select with `options`, a textarea for type "textarea". Uncontrolled (read on
// submit, initial value `defaultValue`): preact puts a `value` prop back on every render where it
// differs from the control's, so a re-render (an error shown, a reload) would undo what was typed.
export function Field({ id, name, label, error, type = "text", options, defaultValue, ...rest }) {
  const fid = `${id}-${name}`;
  const control = { id: fid, name, "aria-describedby": `${fid}-error`, "aria-invalid": error ? "true" : null, ...rest };
  return html`<div class="field"><label for=${fid}>${label}</label>
    ${options ? html`<select ...${control}>${options.map((o) => {
      const [value, text] = Array.isArray(o) ? o : [o, o]; // a value, or [value, label]
      return html`<option value=${value} selected=${value === defaultValue}>${text}</option>`;
    })}</select>`
      : type === "textarea" ? html`<textarea rows="3" defaultValue=${defaultValue} ...${control}></textarea>`
        : html`<input type=${type} defaultValue=${defaultValue} ...${control} />`}
    <p class="error" id=${`${fid}-error`} data-error-for=${name} aria-live="polite">${error || ""}</p></div>`;
}

// One write at a time from a control: once(fn) runs fn(event); a second click (or submit) while
// the first is out does nothing. `busy` is for disabling the control meanwhile.
export function useOnce() {
  const running = useRef(false);
  const [busy, setBusy] = useState(false);
  const once = (fn) => async (event) => {
    event?.preventDefault?.();
    if (running.current) return;
    running.current = true;
    setBusy(true);
    try { await fn(event); } finally { running.current = false; setBusy(false); }
  };
  return [busy, once];
}

// A form's state: an error per field, the outcome, and whether it is being sent. submit(fn)
// checks the required fields, then runs fn(form), whose text is the outcome; a refusal naming a
// field of the form is shown at that field (in the UI language, errorText), any other above the button.
// While one is being sent, another submit (a double-click, before the button is disabled) sends nothing.
export function useForm() {
  const [errors, setErrors] = useState({});
  const [said, setSaid] = useState({ ok: "", error: "" });
  const [busy, once] = useOnce();
  const submit = (fn) => once(async (event) => {
    const form = event.target;
    const missing = [...form.querySelectorAll("[required]")].filter((input) => !input.value.trim());
    setErrors(Object.fromEntries(missing.map((input) => [input.name, t("errRequired")])));
    setSaid({ ok: "", error: "" });
    if (missing.length) { missing[0].focus(); return; }
    try {
      setSaid({ ok: await fn(form), error: "" });
    } catch (e) {
      const name = (e.field || "").split(".").pop();
      const input = name ? form.elements[name] : null;
      if (input) {
        setErrors({ [name]: errorText(e) });
        (input.focus ? input : input[0])?.focus();
      } else setSaid({ ok: "", error: errorText(e) });
    }
  });
  const outcome = html`<p class="error" role="alert">${said.error}</p><p class="ok" role="status" data-outcome>${said.ok}</p>`;
  return { errors, busy, submit, outcome };
}
