// The project library (#/projects): projects with what they have done, their fixed posts
// (岗位) with requirements and next shifts; and service points (#/points, 服务阵地) with
// their opening hours, nearest first when the browser shares its location.
import { gql, nodes } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { html, page, useEffect, useState } from "../ui.js";

const PROJECTS = `query ProjectLibrary { projects(first: 30) { edges { node { id name category district description
  team { name } stats { activitiesHeld volunteersServed approvedHours }
  positions { id name address capacityPerShift qualifications minimumAge
    shifts(first: 3) { edges { node { id startsAt remaining status } } } } } } } }`;
const POINTS = `query ServicePoints($near: WalkingCircleInput) { servicePoints(first: 50, near: $near) { edges { node {
  id name kind district address openingHours walkingMinutes team { name } } } } }`;

function locate() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lng: p.coords.longitude, minutes: 30 }),
      () => resolve(null), { timeout: 5000, maximumAge: 600000 });
  });
}

function Position({ position }) {
  const shifts = nodes(position.shifts);
  const needs = [...position.qualifications.map((q) => t("qualification", { q })),
    ...(position.minimumAge ? [t("minimumAge", { n: position.minimumAge })] : [])];
  return html`<li data-position=${position.id}><strong>${position.name}</strong>
    · ${t("perShift", { n: position.capacityPerShift })}${position.address ? ` · ${position.address}` : ""}
    ${needs.length ? html`<br /><span class="meta">${t("requirements")}：${needs.join("、")}</span>` : null}
    ${shifts.length ? html`<ul class="plain shifts-list">${shifts.map((s) => html`<li>
      <a href=${`#/activities/${encodeURIComponent(s.id)}`}>${fmtDate(s.startsAt)}</a> · ${s.remaining > 0 ? t("remainingShort", { n: s.remaining }) : t("full")}</li>`)}</ul>` : null}</li>`;
}

function Projects() {
  const [projects, setProjects] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { gql(PROJECTS).then((d) => setProjects(nodes(d.projects)), setError); }, []);
  if (error) return html`<h1>${t("navProjects")}</h1><p class="error">${errorText(error)}</p>`;
  if (!projects) return html`<h1>${t("navProjects")}</h1><p>${t("loading")}</p>`;
  return html`<h1>${t("navProjects")}</h1><p><a href="#/points">${t("navPoints")}</a></p>
    ${projects.length ? projects.map((p) => html`<article class="card" data-project=${p.id}>
      <h2>${p.name}</h2>
      <p class="meta">${p.category} · ${p.district} · ${p.team.name}</p>
      <p class="meta">${t("projectStats", { a: p.stats.activitiesHeld, v: p.stats.volunteersServed, h: Math.round(p.stats.approvedHours) })}</p>
      <p class="prose">${p.description}</p>
      ${p.positions.length ? html`<h3>${t("positions")}</h3><ul class="plain positions">${p.positions.map((pos) => html`<${Position} position=${pos} />`)}</ul>` : null}
    </article>`) : html`<p>${t("empty")}</p>`}`;
}

function Points() {
  const [points, setPoints] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let gone = false;
    locate().then((near) => !gone && gql(POINTS, { near }).then((d) => setPoints(nodes(d.servicePoints)), setError));
    return () => { gone = true; };
  }, []);
  if (error) return html`<h1>${t("navPoints")}</h1><p class="error">${errorText(error)}</p>`;
  if (!points) return html`<h1>${t("navPoints")}</h1><p>${t("loading")}</p>`;
  return html`<h1>${t("navPoints")}</h1>
    ${points.length ? html`<ul class="plain">${points.map((p) => html`<li class="card" data-point=${p.id}>
      <h2>${p.name}</h2>
      <p class="meta">${p.district}${p.address ? ` · ${p.address}` : ""}${p.team ? ` · ${p.team.name}` : ""}
        ${p.walkingMinutes != null ? ` · ${t("walkMinutes", { n: Math.round(p.walkingMinutes) })}` : ""}</p>
      <p>${t("openingHours")}：${p.openingHours}</p></li>`)}</ul>` : html`<p>${t("empty")}</p>`}`;
}

export function render(main, { name }) {
  return page(main, name === "points" ? html`<${Points} />` : html`<${Projects} />`);
}
