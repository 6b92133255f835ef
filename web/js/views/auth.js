// Log-in and real-name registration, validated inline with the server's rules.
import { gql, setToken } from "../api.js";
import { errorText, t } from "../i18n.js";
import { html, page, useState } from "../ui.js";
import { go, toast } from "../app.js";

const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { token volunteer { id displayName } } }`;
const LOGIN = `mutation Login($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token volunteer { id displayName } } }`;
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

// As resolvers/validation.py's normalise_phone: the server stores and looks up the 11 digits
// of a number typed with full-width digits, spaces, hyphens or a +86 / 0086 / 86 prefix.
export function normalisePhone(raw) {
  let v = raw.normalize("NFKC").replace(/[\s\-\u2010-\u2015]/g, "");
  for (const prefix of ["+86", "0086", "86"]) {
    if (v.startsWith(prefix) && v.length === prefix.length + 11) {
      v = v.slice(prefix.length);
      break;
    }
  }
  return /^1[3-9][0-9]{9}$/.test(v) ? v : null;
}

// The same checks as resolvers/validation.py, so most mistakes show before the round trip.
export const rules = {
  phone: (v) => (normalisePhone(v) ? "" : t("errPhone")),
  password: (v) => (v.length >= 8 && v.length <= 128 ? "" : t("errPassword")),
  realName: (v) => (v.trim() ? "" : t("errRequired")),
  district: (v) => (v.trim() ? "" : t("errRequired")),
  idNumber: (raw) => {
    const v = raw.trim().toUpperCase();
    if (!/^\d{17}[\dX]$/.test(v)) return t("errIdFormat");
    const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(v[i]), 0);
    if ("10X98765432"[sum % 11] !== v[17]) return t("errIdCheck");
    const y = Number(v.slice(6, 10)), m = Number(v.slice(10, 12)), d = Number(v.slice(12, 14));
    const birth = new Date(Date.UTC(y, m - 1, d));
    if (birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d || y < 1900 || birth > new Date()) {
      return t("errIdBirth");
    }
    return "";
  },
};

// A labelled input with its hint and its error tied to it by aria-describedby; the inputs are
// uncontrolled (read from the form when needed), so nothing re-renders while typing.
function Field({ name, label, error, hint = "", type = "text", ...rest }) {
  const id = `f-${name}`;
  return html`<div class="field"><label for=${id}>${label}</label>
    <input id=${id} name=${name} type=${type} aria-describedby=${`${id}-hint ${id}-error`}
      aria-invalid=${error ? "true" : null} ...${rest} />
    ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
    <p class="error" id=${`${id}-error`} data-error-for=${name} aria-live="polite">${error || ""}</p></div>`;
}

// The form's state: an error per field and one for the form. check() validates the named
// fields and focuses the first wrong one; fail() words a server refusal in the UI language:
// the client's own rule for the field when it has one, else the server's message if it is in
// that language, else the text for its extensions.code.
function useChecks(kind) {
  const [errors, setErrors] = useState({});
  const [general, setGeneral] = useState("");
  const set = (name, message) => setErrors((old) => ({ ...old, [name]: message }));
  const check = (form, names) => {
    const found = {};
    for (const name of names) {
      const input = form.elements[name];
      found[name] = input.type === "checkbox" ? (input.checked ? "" : t("errConsent")) : rules[name](input.value);
    }
    setErrors((old) => ({ ...old, ...found }));
    const first = names.find((name) => found[name]);
    if (first) form.elements[first].focus();
    return !first;
  };
  const fail = (form, error) => {
    const input = error.field && form.elements[error.field];
    if (input) {
      const known = error.code === "CONFLICT" ? t("errTaken") : rules[error.field] ? rules[error.field](input.value) : "";
      set(error.field, known || errorText(error));
      input.focus();
      setGeneral("");
    } else setGeneral(kind === "login" && error.code === "UNAUTHENTICATED" ? t("codeLOGIN") : errorText(error));
  };
  // Errors appear when leaving a field and clear while typing the fix, so the layout does not
  // shift under a pointer on its way to the submit button.
  const live = (name) => ({
    onBlur: (event) => { if (event.target.value) set(name, rules[name](event.target.value)); },
    onInput: (event) => { if (errors[name] && !rules[name](event.target.value)) set(name, ""); },
  });
  return { errors, general, check, fail, live };
}

function LoginForm() {
  const { errors, general, check, fail } = useChecks("login");
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!check(form, ["phone", "password"])) return;
    try {
      const { login } = await gql(LOGIN, { phone: form.elements.phone.value.trim(), password: form.elements.password.value });
      setToken(login.token);
      toast(t("loggedIn"));
      go("#/activities");
    } catch (error) { fail(form, error); }
  };
  return html`<form class="panel" novalidate aria-labelledby="login-h" data-form="login" onSubmit=${submit}>
    <h1 id="login-h">${t("login")}</h1>
    <${Field} name="phone" label=${t("phone")} type="tel" autocomplete="username" inputmode="numeric" required error=${errors.phone} />
    <${Field} name="password" label=${t("password")} type="password" autocomplete="current-password" required error=${errors.password} />
    <p class="error form-error" role="alert">${general}</p>
    <button class="primary" type="submit">${t("login")}</button>
    <p><a href="#/register">${t("noAccount")}</a></p></form>`;
}

const NAMES = ["phone", "password", "realName", "idNumber", "district"];

function RegisterForm() {
  const { errors, general, check, fail, live } = useChecks("register");
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!check(form, [...NAMES, "consent"])) return;
    const value = (name) => form.elements[name].value.trim();
    const input = { phone: value("phone"), password: form.elements.password.value, realName: value("realName"),
      idNumber: value("idNumber").toUpperCase(), district: value("district"), consent: true,
      displayName: value("displayName") || null,
      skills: value("skills") ? value("skills").split(/[,，]/).map((s) => s.trim()).filter(Boolean) : null };
    try {
      const { register } = await gql(REGISTER, { input });
      setToken(register.token);
      toast(t("registeredToast"));
      go("#/me");
    } catch (error) { fail(form, error); }
  };
  const ruled = (name, label, props) => html`<${Field} name=${name} label=${label} required error=${errors[name]} ...${live(name)} ...${props} />`;
  return html`<form class="panel" novalidate aria-labelledby="reg-h" onSubmit=${submit}>
    <h1 id="reg-h">${t("register")}</h1>
    ${ruled("phone", t("phone"), { type: "tel", hint: t("hintPhone"), autocomplete: "tel", inputmode: "numeric" })}
    ${ruled("password", t("password"), { type: "password", hint: t("hintPassword"), autocomplete: "new-password" })}
    ${ruled("realName", t("realName"), { autocomplete: "name" })}
    ${ruled("idNumber", t("idNumber"), { hint: t("hintId") })}
    ${ruled("district", t("district"), { list: "districts" })}
    <datalist id="districts">${["朝阳区", "海淀区", "东城区", "西城区", "丰台区"].map((d) => html`<option value=${d} />`)}</datalist>
    <${Field} name="displayName" label=${t("displayName")} error=${errors.displayName} />
    <${Field} name="skills" label=${t("skills")} error=${errors.skills} />
    <div class="check"><input type="checkbox" id="reg-consent" name="consent" /><label for="reg-consent">${t("consent")}</label></div>
    <details class="terms"><summary>${t("readTerms")}</summary><h2>${t("terms")}</h2><p>${t("termsText")}</p></details>
    <p class="error" data-error-for="consent" aria-live="polite">${errors.consent || ""}</p>
    <p class="error form-error" role="alert">${general}</p>
    <button class="primary" type="submit">${t("register")}</button></form>`;
}

export function render(main, { name }) {
  const stop = page(main, name === "register" ? html`<${RegisterForm} />` : html`<${LoginForm} />`);
  main.querySelector("input")?.focus();
  return stop;
}
