// Help requests near me (live) and call-outs to answer (live).
import { gql, nodes, session } from "../api.js";
import { h, mount } from "../dom.js";
import { fmtDate, t } from "../i18n.js";
import { subscribe } from "../ws.js";

const HELP_FIELDS = "id title description district address urgency status createdAt skills";
const HELP = `query Help($near: GeoInput) { helpRequests(first: 30, status: OPEN, near: $near) { edges { node { ${HELP_FIELDS} } } } }`;
const HELP_LIVE = `subscription Live($near: GeoInput) { helpRequestCreated(near: $near) { ${HELP_FIELDS} } }`;
const CALL_FIELDS = "id message districts needed comingCount cannotCount filled createdAt myAnswer";
const CALLS = `{ callOuts(first: 20) { edges { node { ${CALL_FIELDS} } } } }`;
const CALLS_LIVE = `subscription { callOuts { ${CALL_FIELDS} } }`;
const ANSWER = `mutation Answer($id: ID!, $coming: Boolean!) { answerCallOut(id: $id, coming: $coming) { ${CALL_FIELDS} } }`;

function helpCard(request, fresh = false) {
  return h(`article.card${request.urgency === "URGENT" ? ".urgent" : ""}`, { dataset: { id: request.id } },
    h("h3", fresh ? h("span.badge", t("newHelp")) : null, " ", request.title),
    h("p.meta", `${fmtDate(request.createdAt)} · ${request.district}${request.address ? ` · ${request.address}` : ""}`),
    h("p", request.description));
}

function callCard(call) {
  const result = h("p.result", { role: "status" });
  const answer = (coming) => async () => {
    try {
      const { answerCallOut } = await gql(ANSWER, { id: call.id, coming });
      el.replaceWith(callCard(answerCallOut));
    } catch (error) { result.textContent = t("error", { msg: error.message }); }
  };
  const el = h("article.card.urgent", { dataset: { id: call.id } },
    h("h3", call.message),
    h("p.meta", `${call.districts.join("、")} · ${t("needed", { n: call.needed, c: call.comingCount })}`),
    call.myAnswer ? h("p", `${t("answered")}：${call.myAnswer === "COMING" ? t("coming") : t("cannot")}`)
      : h("div.actions", h("button.primary", { type: "button", onclick: answer(true) }, t("coming")),
        h("button", { type: "button", onclick: answer(false) }, t("cannot"))),
    result);
  return el;
}

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, radiusKm: 10 }),
      () => resolve(null), { timeout: 5000, maximumAge: 600000 });
  });
}

export async function render(main) {
  const helpList = h("div.list", h("p", t("loading")));
  const callList = h("div.list");
  mount(main, h("h1", t("navHelp")),
    h("section", { "aria-labelledby": "help-h" }, h("h2", { id: "help-h" }, t("helpRequests")), helpList),
    session.token ? h("section", { "aria-labelledby": "call-h" }, h("h2", { id: "call-h" }, t("callOuts")), callList) : null);
  const near = await position();
  const stops = [];
  try {
    const requests = nodes((await gql(HELP, { near })).helpRequests);
    mount(helpList, requests.length ? requests.map((r) => helpCard(r)) : h("p.empty", t("empty")));
  } catch (error) { mount(helpList, h("p.error", t("error", { msg: error.message }))); }
  stops.push(subscribe(HELP_LIVE, { near }, { next: ({ data }) => {
    if (!data) return;
    helpList.querySelector(".empty")?.remove();
    helpList.prepend(helpCard(data.helpRequestCreated, true));
  } }));
  if (session.token) {
    const calls = nodes((await gql(CALLS)).callOuts);
    mount(callList, calls.length ? calls.map(callCard) : h("p.empty", t("empty")));
    stops.push(subscribe(CALLS_LIVE, {}, { next: ({ data }) => {
      if (!data) return;
      const call = data.callOuts;
      const existing = callList.querySelector(`[data-id="${CSS.escape(call.id)}"]`);
      if (existing) existing.replaceWith(callCard(call));
      else { callList.querySelector(".empty")?.remove(); callList.prepend(callCard(call)); }
    } }));
  }
  return () => stops.forEach((stop) => stop());
}
