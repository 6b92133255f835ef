// Help requests: post one, watch new ones arrive live, claim one ("我来帮忙"); call-outs to
// answer, live. Signed out, the page says what signing in unlocks instead of an error.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { subscribe } from "../ws.js";
import { html, page, useEffect, useState } from "../ui.js";
import { loadMe } from "../app.js";

const HELP_FIELDS = "id title description district address urgency status createdAt skills author { id displayName } claimedBy { displayName }";
const HELP = `query Help($near: GeoInput) { helpRequests(first: 30, status: OPEN, near: $near) { edges { node { ${HELP_FIELDS} } } } }`;
const HELP_LIVE = `subscription Live($near: GeoInput) { helpRequestCreated(near: $near) { ${HELP_FIELDS} } }`;
const CREATE_HELP = `mutation PostHelp($input: HelpRequestInput!) { createHelpRequest(input: $input) { ${HELP_FIELDS} } }`;
const CLAIM_HELP = `mutation ClaimHelp($id: ID!) { claimHelpRequest(id: $id) { ${HELP_FIELDS} } }`;
const CALL_FIELDS = "id message districts needed comingCount cannotCount filled createdAt myAnswer";
const CALLS = `{ callOuts(first: 20) { edges { node { ${CALL_FIELDS} } } } }`;
const CALLS_LIVE = `subscription { callOuts { ${CALL_FIELDS} } }`;
const ANSWER = `mutation Answer($id: ID!, $coming: Boolean!) { answerCallOut(id: $id, coming: $coming) { ${CALL_FIELDS} } }`;
const DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区", "大兴区"];

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, radiusKm: 10 }),
      () => resolve(null), { timeout: 5000, maximumAge: 600000 });
  });
}

function HelpCard({ request, meId, onClaimed }) {
  const [result, setResult] = useState("");
  const [busy, setBusy] = useState(false);
  const claim = async () => {
    setBusy(true);
    try {
      const { claimHelpRequest } = await gql(CLAIM_HELP, { id: request.id });
      setResult(t("claimed"));
      onClaimed(claimHelpRequest);
    } catch (error) { setResult(errorText(error)); setBusy(false); }
  };
  const own = request.author?.id === meId;
  return html`<article class=${`card${request.urgency === "URGENT" ? " urgent" : ""}`} data-id=${request.id} data-status=${request.status}>
    <h3>${request.fresh ? html`<span class="badge">${t("newHelp")}</span> ` : null}${request.title}
      ${request.urgency !== "NORMAL" ? html` <span class="badge">${t(request.urgency)}</span>` : null}</h3>
    <p class="meta">${fmtDate(request.createdAt)} · ${request.district}${request.address ? ` · ${request.address}` : ""}${own ? ` · ${t("mine")}` : ""}</p>
    <p class="prose">${request.description}</p>
    ${request.claimedBy ? html`<p class="ok">${t("claimedBy", { name: request.claimedBy.displayName })}</p>`
      : !own && request.status === "OPEN" ? html`<div class="actions"><button class="primary" type="button" data-action="claim"
          disabled=${busy} onClick=${claim}>${t("claim")}</button></div>` : null}
    <p class="result" role="status" aria-live="polite">${result}</p></article>`;
}

function PostForm({ onPosted }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const value = (name) => form.elements[name].value.trim();
    if (!value("title") || !value("description")) { setError(t("errRequired")); return; }
    setBusy(true);
    try {
      const { createHelpRequest } = await gql(CREATE_HELP, { input: { title: value("title"), description: value("description"),
        district: value("district"), address: value("address") || null, urgency: value("urgency") } });
      form.reset();
      setError("");
      onPosted(createHelpRequest);
    } catch (e) { setError(errorText(e)); }
    setBusy(false);
  };
  return html`<details class="panel post-help"><summary>${t("postHelp")}</summary>
    <form novalidate onSubmit=${submit}>
      <div class="field"><label for="help-title">${t("helpTitle")}</label><input id="help-title" name="title" maxlength="200" required /></div>
      <div class="field"><label for="help-desc">${t("helpDescription")}</label><textarea id="help-desc" name="description" rows="3" required></textarea></div>
      <div class="field"><label for="help-district">${t("district")}</label>
        <select id="help-district" name="district">${DISTRICTS.map((d) => html`<option value=${d}>${d}</option>`)}</select></div>
      <div class="field"><label for="help-address">${t("address")}</label><input id="help-address" name="address" maxlength="200" /></div>
      <div class="field"><label for="help-urgency">${t("urgency")}</label>
        <select id="help-urgency" name="urgency">${["NORMAL", "URGENT", "LOW"].map((u) => html`<option value=${u}>${t(u)}</option>`)}</select></div>
      <p class="error" role="alert">${error}</p>
      <button class="primary" type="submit" disabled=${busy}>${t("postHelp")}</button>
    </form></details>`;
}

function CallCard({ call, onAnswered }) {
  const [result, setResult] = useState("");
  const answer = (coming) => async () => {
    try { onAnswered((await gql(ANSWER, { id: call.id, coming })).answerCallOut); }
    catch (error) { setResult(errorText(error)); }
  };
  return html`<article class="card urgent" data-id=${call.id}><h3>${call.message}</h3>
    <p class="meta">${call.districts.join("、")} · ${t("needed", { n: call.needed, c: call.comingCount })}</p>
    ${call.myAnswer ? html`<p>${t("answered")}：${call.myAnswer === "COMING" ? t("coming") : t("cannot")}</p>`
      : html`<div class="actions"><button class="primary" type="button" onClick=${answer(true)}>${t("coming")}</button>
        <button type="button" onClick=${answer(false)}>${t("cannot")}</button></div>`}
    <p class="result" role="status">${result}</p></article>`;
}

const upsert = (list, item, fresh = false) => {
  const rest = list.filter((x) => x.id !== item.id);
  return list.length === rest.length ? [{ ...item, fresh }, ...rest] : list.map((x) => (x.id === item.id ? { ...x, ...item } : x));
};

function HelpPage() {
  const [requests, setRequests] = useState(null);
  const [calls, setCalls] = useState(null);
  const [error, setError] = useState(null);
  const [meId, setMeId] = useState(null);
  const [posted, setPosted] = useState("");
  useEffect(() => {
    let stops = [];
    let gone = false;
    (async () => {
      loadMe().then((me) => !gone && setMeId(me?.id || null));
      const near = await position();
      if (gone) return;
      try { setRequests(nodes((await gql(HELP, { near })).helpRequests)); } catch (e) { setError(e); }
      stops.push(subscribe(HELP_LIVE, { near }, { next: ({ data }) => data && setRequests((list) => upsert(list || [], data.helpRequestCreated, true)) }));
      try { setCalls(nodes((await gql(CALLS)).callOuts)); } catch { setCalls([]); }
      stops.push(subscribe(CALLS_LIVE, {}, { next: ({ data }) => data && setCalls((list) => upsert(list || [], data.callOuts)) }));
      if (gone) { stops.forEach((s) => s()); stops = []; }
    })();
    return () => { gone = true; stops.forEach((s) => s()); };
  }, []);
  const onPosted = (request) => { setRequests((list) => upsert(list || [], request, true)); setPosted(t("helpPosted")); };
  const replace = (request) => setRequests((list) => list.map((x) => (x.id === request.id ? { ...x, ...request } : x)));
  return html`<h1>${t("navHelp")}</h1>
    <${PostForm} onPosted=${onPosted} /><p class="ok" role="status">${posted}</p>
    <section aria-labelledby="help-h"><h2 id="help-h">${t("helpRequests")}</h2>
      <div class="list help-list">${error ? html`<p class="error">${errorText(error)}</p>` : !requests ? html`<p>${t("loading")}</p>`
        : requests.length ? requests.map((r) => html`<${HelpCard} key=${r.id} request=${r} meId=${meId} onClaimed=${replace} />`)
          : html`<p class="empty">${t("empty")}</p>`}</div></section>
    <section aria-labelledby="call-h"><h2 id="call-h">${t("callOuts")}</h2>
      <div class="list">${!calls ? null : calls.length ? calls.map((c) => html`<${CallCard} key=${c.id} call=${c}
        onAnswered=${(n) => setCalls((list) => upsert(list, n))} />`) : html`<p class="empty">${t("empty")}</p>`}</div></section>`;
}

function SignedOut() {
  return html`<h1>${t("navHelp")}</h1><p>${t("helpLogin")}</p>
    <p><a class="button primary" href="#/login">${t("login")}</a> <a class="button" href="#/register">${t("register")}</a></p>`;
}

export function render(main) {
  return page(main, session.token ? html`<${HelpPage} />` : html`<${SignedOut} />`);
}
