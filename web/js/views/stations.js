// #/stations: stations' hours, operating now, the operating rate (platform admins). For #/manage:
// upcoming shifts no policy covers, and platform admins' insurer roster downloads (名单).
import { gql, nodes } from "../api.js";
import { download } from "../download.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { html, page, shown, useEffect, useState } from "../ui.js";
import { loadMe } from "../app.js";

const STATIONS = `query Stations { servicePoints(first: 100, kind: STATION) {
  edges { node { id name district address operatingNow openingSchedule { weekday opens closes } team { name } } } } }`;
const RATES = `query OperatingRates($from: Date!, $to: Date!, $by: StationGrouping!) { stationOperatingRates(from: $from, to: $to, groupBy: $by) {
  target rows { key scheduledSlots staffedSlots rate belowTarget week servicePoint { name } team { name } } } }`;
const UNCOVERED = `query UncoveredShifts { uncoveredShifts { id activity { id title startsAt } volunteer { displayName } } }`;
const POLICIES = `query InsurancePolicies { insurancePolicies(first: 50) { edges { node { id insurer policyNumber coversFrom coversUntil rosterPath } } } }`;
const BY = ["WEEK", "DISTRICT", "TEAM", "STATION", "CITY"];

const pct = (x) => `${Math.round(x * 1000) / 10}%`;
const day = (n = 0) => new Date(Date.now() + 288e5 + n * 864e5).toISOString().slice(0, 10); // Beijing date
// Uncontrolled (defaultValue): a `value` prop would put the first dates back over the ones picked
// whenever the panel re-renders (an answer, a refused download).
const dates = (from, to) => html`<div class="field"><label for="d-from">${t("periodFrom")}</label><input id="d-from" name="from" type="date" defaultValue=${from} /></div>
  <div class="field"><label for="d-to">${t("periodTo")}</label><input id="d-to" name="to" type="date" defaultValue=${to} /></div>`;

function Rates() {
  const [q, setQ] = useState({ from: day(-28), to: day(), by: "WEEK" });
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { setReport(null); gql(RATES, { ...q, to: new Date(Date.parse(q.to) + 864e5).toISOString().slice(0, 10) }).then((d) => { setError(null); setReport(d.stationOperatingRates); }, setError); }, [q]);
  const submit = (event) => {
    event.preventDefault();
    const f = event.target.elements;
    setQ({ from: f.from.value, to: f.to.value, by: f.by.value });
  };
  const label = (r) => ({ WEEK: r.week, STATION: r.servicePoint?.name, TEAM: r.team?.name || "—", CITY: t("stByCITY") }[q.by] || r.key);
  return html`<section class="panel"><h2>${t("stRate")}</h2>
    <form class="filters" onSubmit=${submit}>${dates(q.from, q.to)}
      <div class="field"><label for="rate-by">${t("stBy")}</label><select id="rate-by" name="by">
        ${BY.map((g) => html`<option value=${g} selected=${g === q.by}>${t(`stBy${g}`)}</option>`)}</select></div>
      <button type="submit">${t("apply")}</button></form>
    ${report ? html`<p>${t("stTarget", { p: pct(report.target) })}</p>` : null}
    ${shown(error, report?.rows, () => html`<table class="rates"><thead><tr><th scope="col">${t(`stBy${q.by}`)}</th>
      <th scope="col">${t("stScheduled")}</th><th scope="col">${t("stStaffed")}</th><th scope="col">${t("stRate")}</th></tr></thead>
      <tbody>${report.rows.map((r) => html`<tr key=${r.key} class=${r.belowTarget ? "below" : ""} data-below=${String(r.belowTarget)}>
        <th scope="row">${label(r)}</th><td>${r.scheduledSlots}</td><td>${r.staffedSlots}</td>
        <td>${pct(r.rate)}${r.belowTarget ? html` <span class="badge urgent">${t("stBelow")}</span>` : null}</td></tr>`)}</tbody></table>`)}</section>`;
}

function Stations() {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [admin, setAdmin] = useState(false);
  useEffect(() => { gql(STATIONS).then((d) => setList(nodes(d.servicePoints)), setError); loadMe().then((me) => setAdmin(!!me?.isPlatformAdmin)); }, []);
  const days = t("stWeekdays").split(",");
  return html`<h1>${t("navStations")}</h1>${admin ? html`<${Rates} />` : null}
    ${shown(error, list, () => html`<ul class="plain stations">${list.map((s) => html`<li class="card" key=${s.id} data-id=${s.id} data-operating=${String(s.operatingNow)}>
      <h2>${s.name} <span class=${`badge${s.operatingNow ? " ok" : ""}`}>${t(s.operatingNow ? "stOperating" : "stClosed")}</span></h2>
      <p class="meta">${s.district}${s.address ? ` · ${s.address}` : ""}${s.team ? ` · ${s.team.name}` : ""}</p>
      <p class="meta">${s.openingSchedule.map((h) => `${days[h.weekday]} ${h.opens}–${h.closes}`).join("；") || "—"}</p></li>`)}</ul>`)}`;
}

export function UncoveredShifts() {
  const [shifts, setShifts] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { gql(UNCOVERED).then((d) => setShifts(d.uncoveredShifts), setError); }, []);
  return html`<section class="panel"><h2>${t("insUncovered")}</h2>
    ${shown(error, shifts, () => html`<ul class="plain">${shifts.map((s) => html`<li key=${s.id} data-uncovered=${s.id}>
      <span class="badge urgent">${t("insNo")}</span> ${s.volunteer.displayName} · <a href=${`#/manage/${encodeURIComponent(s.activity.id)}`}>${s.activity.title}</a> · ${fmtDate(s.activity.startsAt)}</li>`)}</ul>`)}</section>`;
}

export function Policies() {
  const [policies, setPolicies] = useState(null);
  const [error, setError] = useState(null);
  const [note, setNote] = useState("");
  const [today] = useState(day);
  useEffect(() => { gql(POLICIES).then((d) => setPolicies(nodes(d.insurancePolicies)), setError); }, []);
  const save = (p, format) => (event) => {
    const f = event.target.form.elements;
    download(p.rosterPath.replace(/csv$/, format), { from: f.from.value, to: f.to.value }).catch((e) => setNote(errorText(e)));
  };
  return html`<section class="panel"><h2>${t("insRoster")}</h2>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>${dates(today, today)}
    ${shown(error, policies, () => html`<ul class="plain">${policies.map((p) => html`<li key=${p.id} data-policy=${p.id}>
      ${p.insurer} · ${p.policyNumber} · ${p.coversFrom}–${p.coversUntil}
      <button type="button" data-roster="csv" onClick=${save(p, "csv")}>CSV</button> <button type="button" data-roster="xlsx" onClick=${save(p, "xlsx")}>XLSX</button></li>`)}</ul>`)}
    </form><p class="error" role="alert">${note}</p></section>`;
}

export function render(main) {
  return page(main, html`<${Stations} />`);
}
