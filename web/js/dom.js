// h("tag.class", {attrs, onclick}, ...children): tiny DOM builder, text is always escaped.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function mount(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

let fieldSeq = 0;
// A labelled input with a hint and an error slot tied to it by aria-describedby.
export function field(name, label, { type = "text", hint = "", value = "", required = false, ...rest } = {}) {
  const id = `f-${name}-${++fieldSeq}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const input = type === "textarea"
    ? h("textarea", { id, name, required, "aria-describedby": `${hintId} ${errorId}`, ...rest }, value)
    : h("input", { id, name, type, value, required, "aria-describedby": `${hintId} ${errorId}`, ...rest });
  const error = h("p.error", { id: errorId, "data-error-for": name, "aria-live": "polite" });
  return h("div.field", h("label", { for: id }, label), input,
    hint ? h("p.hint", { id: hintId }, hint) : null, error);
}

export function setFieldError(form, name, message) {
  const slot = form.querySelector(`[data-error-for="${name}"]`);
  const input = form.elements[name];
  if (slot) slot.textContent = message || "";
  if (input && input.setAttribute) {
    if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }
  return !!slot;
}
