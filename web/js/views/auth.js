// Log-in and real-name registration, validated inline with the server's rules.
import { gql, setToken } from "../api.js";
import { field, h, mount, setFieldError } from "../dom.js";
import { errorText, t } from "../i18n.js";
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

function validate(form, names) {
  let first = null;
  for (const name of names) {
    const input = form.elements[name];
    const message = input.type === "checkbox" ? (input.checked ? "" : t("errConsent")) : rules[name](input.value);
    setFieldError(form, name, message);
    if (message && !first) first = input;
  }
  first?.focus();
  return !first;
}

function showServerError(form, error) {
  const general = form.querySelector(".form-error");
  // Said in the UI language: the client's own rule for the field when it has one, else the
  // server's message if it is in that language, else the text for its extensions.code.
  const known = error.code === "CONFLICT" && error.field ? t("errTaken") : error.field && rules[error.field]
    ? rules[error.field](form.elements[error.field].value) : "";
  if (error.field && setFieldError(form, error.field, known || errorText(error))) {
    form.elements[error.field]?.focus();
    general.textContent = "";
  } else if (form.dataset.form === "login" && error.code === "UNAUTHENTICATED") {
    general.textContent = t("codeLOGIN");
  } else {
    general.textContent = errorText(error);
  }
}

// Errors appear when leaving a field and clear while typing the fix, so the layout does not
// shift under a pointer on its way to the submit button.
function live(form, names) {
  for (const name of names) {
    const input = form.elements[name];
    input.addEventListener("blur", () => {
      if (input.value) setFieldError(form, name, rules[name](input.value));
    });
    input.addEventListener("input", () => {
      if (input.getAttribute("aria-invalid") === "true" && !rules[name](input.value)) setFieldError(form, name, "");
    });
  }
}

function loginForm() {
  const form = h("form.panel", { novalidate: true, "aria-labelledby": "login-h", dataset: { form: "login" } },
    h("h1", { id: "login-h" }, t("login")),
    field("phone", t("phone"), { type: "tel", autocomplete: "username", inputmode: "numeric", required: true }),
    field("password", t("password"), { type: "password", autocomplete: "current-password", required: true }),
    h("p.error.form-error", { role: "alert" }),
    h("button.primary", { type: "submit" }, t("login")),
    h("p", h("a", { href: "#/register" }, t("noAccount"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!validate(form, ["phone", "password"])) return;
    try {
      const { login } = await gql(LOGIN, { phone: form.elements.phone.value.trim(), password: form.elements.password.value });
      setToken(login.token);
      toast(t("loggedIn"));
      go("#/activities");
    } catch (error) { showServerError(form, error); }
  });
  return form;
}

function registerForm() {
  const names = ["phone", "password", "realName", "idNumber", "district"];
  const form = h("form.panel", { novalidate: true, "aria-labelledby": "reg-h" },
    h("h1", { id: "reg-h" }, t("register")),
    field("phone", t("phone"), { type: "tel", hint: t("hintPhone"), autocomplete: "tel", inputmode: "numeric", required: true }),
    field("password", t("password"), { type: "password", hint: t("hintPassword"), autocomplete: "new-password", required: true }),
    field("realName", t("realName"), { autocomplete: "name", required: true }),
    field("idNumber", t("idNumber"), { hint: t("hintId"), required: true }),
    field("district", t("district"), { required: true, list: "districts" }),
    h("datalist", { id: "districts" }, ["朝阳区", "海淀区", "东城区", "西城区", "丰台区"].map((d) => h("option", { value: d }))),
    field("displayName", t("displayName")),
    field("skills", t("skills")),
    h("div.check", h("input", { type: "checkbox", id: "reg-consent", name: "consent" }),
      h("label", { for: "reg-consent" }, t("consent"))),
    // The terms one accepts can be read here, without leaving the half-filled form.
    h("details.terms", h("summary", t("readTerms")), h("h2", t("terms")), h("p", t("termsText"))),
    h("p.error", { "data-error-for": "consent", "aria-live": "polite" }),
    h("p.error.form-error", { role: "alert" }),
    h("button.primary", { type: "submit" }, t("register")));
  live(form, names);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!validate(form, [...names, "consent"])) return;
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
    } catch (error) { showServerError(form, error); }
  });
  return form;
}

export async function render(main, { name }) {
  mount(main, name === "register" ? registerForm() : loginForm());
  main.querySelector("input")?.focus();
}
