// Leaderboards and honours (#/honours, public): top volunteers or teams by approved hours in a
// period (optionally one district), the awards with their thresholds, and my own honours.
import { gql, session } from "../api.js";
import { errorText, t } from "../i18n.js";
import { html, page, useEffect, useState } from "../ui.js";

const BOARD = `query Leaderboard($period: Period!, $district: String, $teams: Boolean) {
  leaderboard(period: $period, district: $district, teams: $teams, first: 20) { rank hours volunteer { id displayName } team { id name } } }`;
const AWARDS = `query Awards($signedIn: Boolean!) { awards(first: 20) { edges { node { id name tier minPeriodHours minStarLevel
  periodStart periodEnd district } } } me @include(if: $signedIn) { id honours { id status periodHours award { name } } } }`;
const PERIODS = ["WEEK", "MONTH", "YEAR", "ALL_TIME"];
const DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区", "大兴区"];

function HonoursPage() {
  const [period, setPeriod] = useState("MONTH");
  const [district, setDistrict] = useState("");
  const [teams, setTeams] = useState(false);
  const [rows, setRows] = useState(null);
  const [awards, setAwards] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setRows(null);
    gql(BOARD, { period, district: district || null, teams }).then((d) => setRows(d.leaderboard), setError);
  }, [period, district, teams]);
  useEffect(() => { gql(AWARDS, { signedIn: !!session.token }).then(setAwards, setError); }, []);
  const mine = awards?.me?.honours || [];
  return html`<h1>${t("navHonours")}</h1>
    ${error ? html`<p class="error">${errorText(error)}</p>` : null}
    <section class="panel" aria-labelledby="lb-h"><h2 id="lb-h">${t("leaderboard")}</h2>
      <div class="filters">
        <div class="field"><label for="lb-period">${t("period")}</label>
          <select id="lb-period" value=${period} onChange=${(e) => setPeriod(e.target.value)}>
            ${PERIODS.map((p) => html`<option value=${p}>${t(`period${p}`)}</option>`)}</select></div>
        <div class="field"><label for="lb-district">${t("district")}</label>
          <select id="lb-district" value=${district} onChange=${(e) => setDistrict(e.target.value)}>
            <option value="">${t("anyDistrict")}</option>${DISTRICTS.map((d) => html`<option value=${d}>${d}</option>`)}</select></div>
        <div class="check"><input type="checkbox" id="lb-teams" checked=${teams} onChange=${(e) => setTeams(e.target.checked)} />
          <label for="lb-teams">${t("byTeams")}</label></div>
      </div>
      ${!rows ? html`<p>${t("loading")}</p>` : rows.length ? html`<ol class="plain leaderboard">${rows.map((r) => html`<li data-rank=${r.rank}>
        <strong>${r.rank}</strong> ${r.volunteer?.displayName || r.team?.name} · ${t("hours", { n: Math.round(r.hours * 10) / 10 })}</li>`)}</ol>`
        : html`<p>${t("empty")}</p>`}</section>
    ${mine.length ? html`<section class="panel" aria-labelledby="mine-h"><h2 id="mine-h">${t("myHonours")}</h2>
      <ul class="plain">${mine.map((n) => html`<li>${n.award.name} · ${t(`nomination${n.status}`)}</li>`)}</ul></section>` : null}
    <section class="panel" aria-labelledby="aw-h"><h2 id="aw-h">${t("awards")}</h2>
      ${awards ? html`<ul class="plain">${(awards.awards.edges || []).map(({ node: a }) => html`<li data-award=${a.id}>
        <strong>${a.name}</strong> · ${t("awardRule", { h: a.minPeriodHours, s: a.minStarLevel })} · ${a.periodStart}–${a.periodEnd}${a.district ? ` · ${a.district}` : ""}</li>`)}</ul>`
        : html`<p>${t("loading")}</p>`}</section>`;
}

export function render(main) {
  return page(main, html`<${HonoursPage} />`);
}
