// Statistics dashboard (#/stats; platform admins: every district, team admins: their district):
// registered vs active, by district, gender, age band and team type, and approved hours by
// month, drawn with uPlot (vendored; loaded by this page only). Every chart has its numbers
// in a table beside it, for screen readers and for copying.
import { gql } from "../api.js";
import { errorText, t } from "../i18n.js";
import { html, page, useEffect, useRef, useState } from "../ui.js";

const STATS = `query Stats($district: String) { stats(district: $district) { registered active pendingConsent teams activities
  approvedHours computedAt byDistrict { key count hours } byGender { key count } byAgeBand { key count }
  byTeamType { key count } hoursByMonth { key count hours } } }`;
const DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区", "大兴区"];
const COLOURS = ["#0b5cad", "#c0392b", "#1a7f37", "#8a4b00", "#6f42c1"];

let loading = null;
function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  loading ||= new Promise((resolve, reject) => {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = "/vendor/uPlot.min.css";
    document.head.append(css);
    const script = document.createElement("script");
    script.src = "/vendor/uPlot.iife.min.js";
    script.onload = () => resolve(window.uPlot);
    script.onerror = reject;
    document.head.append(script);
  });
  return loading;
}

// A category bar chart (or a line over months) of one or more series of numbers.
function Chart({ id, title, labels, series, line = false }) {
  const box = useRef(null);
  useEffect(() => {
    let plot = null;
    let gone = false;
    loadUPlot().then((uPlot) => {
      if (gone || !box.current) return;
      const width = Math.max(280, Math.min(box.current.clientWidth || 600, 900));
      const bars = uPlot.paths.bars({ size: [0.6 / series.length, 60], align: 0 });
      plot = new uPlot({
        width, height: 220, legend: { show: series.length > 1 }, cursor: { show: false },
        // Counts start at 0 (a bar's height must be comparable); a little headroom above.
        scales: { x: { time: false, range: [-0.5, labels.length - 0.5] },
          y: { range: (u, min, max) => [0, max > 0 ? Math.ceil(max * 1.15) : 1] } },
        axes: [{ values: (u, ticks) => ticks.map((i) => labels[i] ?? ""), splits: () => labels.map((_, i) => i), gap: 4, size: 40 },
          { size: 50 }],
        series: [{}, ...series.map((s, n) => ({ label: s.label, stroke: COLOURS[n % COLOURS.length],
          fill: line ? `${COLOURS[n % COLOURS.length]}22` : COLOURS[n % COLOURS.length], width: line ? 2 : 0,
          paths: line ? undefined : bars, points: { show: line } }))],
      }, [labels.map((_, i) => i), ...series.map((s) => s.values)], box.current);
      box.current.dataset.drawn = "true";
    }).catch(() => {});
    return () => { gone = true; plot?.destroy(); };
  }, [labels.join("|"), series.map((s) => s.values.join(",")).join("|")]);
  return html`<figure class="panel chart" aria-labelledby=${`${id}-h`}>
    <h2 id=${`${id}-h`}>${title}</h2>
    <div class="plot" ref=${box} role="img" aria-label=${`${title}：${labels.map((l, i) => `${l} ${series.map((s) => s.values[i]).join(" / ")}`).join("，")}`}></div>
    <details><summary>${t("dataTable")}</summary><div class="table-wrap"><table data-chart=${id}>
      <thead><tr><th scope="col">${t("category")}</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
      <tbody>${labels.map((l, i) => html`<tr><th scope="row">${l}</th>${series.map((s) => html`<td class="num">${s.values[i]}</td>`)}</tr>`)}</tbody>
    </table></div></details></figure>`;
}

// "2026-03" as a short month in the UI language (the axis has 12 of them).
const monthLabel = (key) => new Intl.DateTimeFormat(document.documentElement.lang === "en" ? "en-GB" : "zh-CN",
  { month: "short", timeZone: "Asia/Shanghai" }).format(new Date(`${key}-15T00:00:00+08:00`));

function StatsPage() {
  const [district, setDistrict] = useState("");
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setStats(null);
    gql(STATS, { district: district || null }).then((d) => setStats(d.stats), setError);
  }, [district]);
  const bucket = (list, label = (k) => k) => ({ labels: list.map((b) => label(b.key)), values: list.map((b) => b.count) });
  const filter = html`<div class="field"><label for="stats-district">${t("district")}</label>
    <select id="stats-district" value=${district} onChange=${(e) => setDistrict(e.target.value)}>
      <option value="">${t("anyDistrict")}</option>${DISTRICTS.map((d) => html`<option value=${d}>${d}</option>`)}</select></div>`;
  if (error) return html`<h1>${t("navStats")}</h1><p class="error">${errorText(error)}</p>`;
  if (!stats) return html`<h1>${t("navStats")}</h1>${filter}<p>${t("loading")}</p>`;
  const district_ = bucket(stats.byDistrict);
  const months = stats.hoursByMonth;
  return html`<h1>${t("navStats")}</h1>${filter}
    <dl class="stats big">
      <div class="stat"><dt>${t("registered")}</dt><dd data-stat="registered">${stats.registered}</dd></div>
      <div class="stat"><dt>${t("activeVolunteers")}</dt><dd data-stat="active">${stats.active}</dd></div>
      <div class="stat"><dt>${t("teamCount")}</dt><dd>${stats.teams}</dd></div>
      <div class="stat"><dt>${t("activityTotal")}</dt><dd>${stats.activities}</dd></div>
      <div class="stat"><dt>${t("approvedHours")}</dt><dd>${t("hours", { n: Math.round(stats.approvedHours * 10) / 10 })}</dd></div>
    </dl>
    <div class="charts">
      <${Chart} id="reg" title=${t("registeredVsActive")} labels=${[t("registered"), t("activeVolunteers"), t("pendingConsent")]}
        series=${[{ label: t("people"), values: [stats.registered, stats.active, stats.pendingConsent] }]} />
      <${Chart} id="district" title=${t("byDistrict")} labels=${district_.labels} series=${[{ label: t("people"), values: district_.values }]} />
      <${Chart} id="gender" title=${t("byGender")} labels=${bucket(stats.byGender, (k) => t(`gender${k}`)).labels}
        series=${[{ label: t("people"), values: bucket(stats.byGender).values }]} />
      <${Chart} id="age" title=${t("byAgeBand")} labels=${bucket(stats.byAgeBand).labels} series=${[{ label: t("people"), values: bucket(stats.byAgeBand).values }]} />
      <${Chart} id="teamtype" title=${t("byTeamType")} labels=${bucket(stats.byTeamType, (k) => t(`team${k}`)).labels}
        series=${[{ label: t("teamCount"), values: bucket(stats.byTeamType).values }]} />
      <${Chart} id="hours" title=${t("hoursByMonth")} labels=${months.map((b) => monthLabel(b.key))} line=${true}
        series=${[{ label: t("approvedHours"), values: months.map((b) => Math.round((b.hours ?? b.count) * 10) / 10) }]} />
    </div>`;
}

export function render(main) {
  return page(main, html`<${StatsPage} />`);
}
