// The project library (#/projects): projects with what they have done, their fixed posts
// (岗位) with requirements and next shifts; and service points (#/points, 服务阵地) with
// their opening hours, nearest first when the browser shares its location. Those who manage a
// project (its team's admins, a parent team's, platform admins) create projects for the teams
// they administer, add posts, schedule a series of shifts from a post and extend a series.
import { gql, nodes, session } from "../api.js";
import { ZONE, errorText, fmtDate, fmtDay, lang, t } from "../i18n.js";
import { Field, html, page, useEffect, useForm, useState } from "../ui.js";
import "../strings/projects.js";

const PROJECTS = `query ProjectLibrary { projects(first: 30) { edges { node { id name category district description
  team { id name } stats { activitiesHeld volunteersServed approvedHours } viewerCanManage
  series { id title frequency weekdays dayOfMonth startTime durationMinutes firstDate lastDate }
  positions { id name address capacityPerShift qualifications minimumAge
    shifts(first: 3) { edges { node { id startsAt remaining status } } } } } } } }`;
const POINTS = `query ServicePoints($near: WalkingCircleInput) { servicePoints(first: 50, near: $near) { edges { node {
  id name kind district address openingHours walkingMinutes team { name } } } } }`;
// The teams a project can be created for: those I administer (as #/manage), every team for a platform admin.
const MY_TEAMS = `query ProjectTeams { me { id isPlatformAdmin teams(first: 50, role: ADMIN) { edges { node { id name viewerIsAdmin } } } } }`;
const ALL_TEAMS = `query AllTeams { teams(first: 100) { edges { node { id name } } } }`;
const CREATE_PROJECT = `mutation CreateProject($input: ProjectInput!) { createProject(input: $input) { id name } }`;
const CREATE_POSITION = `mutation CreatePosition($project: ID!, $input: PositionInput!) { createPosition(projectId: $project, input: $input) { id name } }`;
const SCHEDULE = `mutation ScheduleSeries($project: ID!, $input: SeriesInput!) { scheduleSeries(projectId: $project, input: $input) {
  created series { id } activities { id startsAt status } } }`;
const EXTEND = `mutation ExtendSeries($series: ID!, $last: Date!, $publish: Boolean!) { extendSeries(seriesId: $series, lastDate: $last, publish: $publish) {
  created series { id lastDate } activities { id startsAt status } } }`;

// Beijing calendar days as yyyy-mm-dd (what <input type=date> speaks).
const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date());
const addDays = (day, n) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 864e5).toISOString().slice(0, 10);
const slug = (id) => id.replace(/\W/g, "");
const listOf = (text) => text.split(/[,，、]/).map((s) => s.trim()).filter(Boolean);

const Made = ({ activities }) => (activities?.length ? html`<ul class="plain made">${activities.map((a) => html`<li>
  <a href=${`#/activities/${encodeURIComponent(a.id)}`}>${fmtDate(a.startsAt)}</a>${a.status === "DRAFT" ? ` · ${t("serDraft")}` : ""}</li>`)}</ul>` : null);

function NewProject({ teams, reload }) {
  const form = useForm();
  const send = form.submit(async (f) => {
    const v = (name) => f.elements[name].value.trim();
    const { createProject } = await gql(CREATE_PROJECT, { input: { teamId: v("teamId"), name: v("name"),
      category: v("category"), district: v("district"), description: v("description") } });
    f.reset();
    await reload();
    return t("prjCreated", { name: createProject.name });
  });
  return html`<details class="panel new-project"><summary>${t("prjNew")}</summary>
    <form novalidate onSubmit=${send}>
      <div class="field"><label for="np-teamId">${t("prjTeam")}</label>
        <select id="np-teamId" name="teamId" aria-describedby="np-teamId-error">${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select>
        <p class="error" id="np-teamId-error" data-error-for="teamId" aria-live="polite">${form.errors.teamId || ""}</p></div>
      <${Field} id="np" name="name" label=${t("prjName")} maxlength="200" required error=${form.errors.name} />
      <${Field} id="np" name="category" label=${t("prjCategory")} maxlength="50" required error=${form.errors.category} />
      <${Field} id="np" name="district" label=${t("prjDistrict")} maxlength="50" required error=${form.errors.district} />
      <${Field} id="np" name="description" type="textarea" label=${t("prjDescription")} error=${form.errors.description} />
      ${form.outcome}
      <button class="primary" type="submit" disabled=${form.busy}>${t("prjCreate")}</button></form></details>`;
}

function NewPosition({ project, reload }) {
  const form = useForm();
  const id = `np${slug(project.id)}`;
  const send = form.submit(async (f) => {
    const v = (name) => f.elements[name].value.trim();
    const { createPosition } = await gql(CREATE_POSITION, { project: project.id, input: { name: v("name"),
      capacityPerShift: Number(v("capacityPerShift")), address: v("address") || null,
      qualifications: listOf(v("qualifications")), minimumAge: v("minimumAge") ? Number(v("minimumAge")) : null } });
    f.reset();
    await reload();
    return t("posAdded", { name: createPosition.name });
  });
  return html`<details class="panel new-position"><summary>${t("posNew")}</summary>
    <form novalidate onSubmit=${send}>
      <${Field} id=${id} name="name" label=${t("posName")} maxlength="200" required error=${form.errors.name} />
      <${Field} id=${id} name="capacityPerShift" type="number" min="1" max="10000" defaultValue="3" label=${t("posCapacity")} required error=${form.errors.capacityPerShift} />
      <${Field} id=${id} name="address" label=${t("posAddress")} maxlength="200" error=${form.errors.address} />
      <${Field} id=${id} name="qualifications" label=${t("qualificationsList")} error=${form.errors.qualifications} />
      <${Field} id=${id} name="minimumAge" type="number" min="1" max="100" label=${t("minimumAgeLabel")} error=${form.errors.minimumAge} />
      ${form.outcome}
      <button class="primary" type="submit" disabled=${form.busy}>${t("posAdd")}</button></form></details>`;
}

// A weekly (weekdays) or monthly (a day) rule from the post, Beijing start time and length,
// first and last date, published or drafts; says how many activities it made and links them.
function Schedule({ project, position, reload }) {
  const form = useForm();
  const [frequency, setFrequency] = useState("WEEKLY");
  const [made, setMade] = useState(null);
  const id = `sc${slug(position.id)}`;
  const first = addDays(today(), 1);
  const send = form.submit(async (f) => {
    const v = (name) => f.elements[name].value.trim();
    const weekly = frequency === "WEEKLY";
    const { scheduleSeries } = await gql(SCHEDULE, { project: project.id, input: { positionId: position.id, frequency,
      weekdays: weekly ? [...f.querySelectorAll("input[name=weekdays]:checked")].map((box) => Number(box.value)) : null,
      dayOfMonth: weekly ? null : Number(v("dayOfMonth")), startTime: v("startTime"),
      durationMinutes: Number(v("durationMinutes")), firstDate: v("firstDate"), lastDate: v("lastDate"),
      publish: f.elements.publish.checked } });
    setMade(scheduleSeries.activities);
    await reload();
    return t("serCreated", { n: scheduleSeries.created });
  });
  const days = t("stWeekdays").split(",");
  return html`<details class="panel schedule"><summary>${t("serNew")}</summary>
    <form novalidate onSubmit=${send}>
      <div class="field"><label for=${`${id}-frequency`}>${t("serFrequency")}</label>
        <select id=${`${id}-frequency`} name="frequency" onChange=${(e) => setFrequency(e.target.value)}>
          ${["WEEKLY", "MONTHLY"].map((f) => html`<option value=${f} selected=${f === frequency}>${t(`ser${f}`)}</option>`)}</select></div>
      ${frequency === "WEEKLY" ? html`<fieldset aria-describedby=${`${id}-weekdays-error`}><legend>${t("serWeekdays")}</legend>
          <div class="weekdays">${days.map((day, i) => html`<span class="check"><input type="checkbox" id=${`${id}-wd${i + 1}`} name="weekdays" value=${i + 1} />
            <label for=${`${id}-wd${i + 1}`}>${day}</label></span>`)}</div>
          <p class="error" id=${`${id}-weekdays-error`} data-error-for="weekdays" aria-live="polite">${form.errors.weekdays || ""}</p></fieldset>`
        : html`<${Field} id=${id} name="dayOfMonth" type="number" min="1" max="31" defaultValue="1" label=${t("serDayOfMonth")} required error=${form.errors.dayOfMonth} />`}
      <${Field} id=${id} name="startTime" type="time" defaultValue="08:00" label=${t("serStartTime")} required error=${form.errors.startTime} />
      <${Field} id=${id} name="durationMinutes" type="number" min="15" max="1440" step="15" defaultValue="120" label=${t("serDuration")} required error=${form.errors.durationMinutes} />
      <${Field} id=${id} name="firstDate" type="date" defaultValue=${first} label=${t("serFirstDate")} required error=${form.errors.firstDate} />
      <${Field} id=${id} name="lastDate" type="date" defaultValue=${addDays(first, 27)} label=${t("serLastDate")} required error=${form.errors.lastDate} />
      <p class="check"><input type="checkbox" id=${`${id}-publish`} name="publish" defaultChecked /><label for=${`${id}-publish`}>${t("serPublish")}</label></p>
      ${form.outcome}
      <button class="primary" type="submit" disabled=${form.busy}>${t("serSchedule")}</button></form>
    <${Made} activities=${made} /></details>`;
}

function rule(series) {
  const time = series.startTime;
  const minutes = series.durationMinutes;
  if (series.frequency === "MONTHLY") return t("serMonthly", { day: series.dayOfMonth, time, minutes });
  const names = t("stWeekdays").split(",");
  return t("serWeekly", { days: series.weekdays.map((d) => names[d - 1]).join(lang === "en" ? ", " : "、"), time, minutes });
}

function Series({ series, reload }) {
  const form = useForm();
  const [made, setMade] = useState(null);
  const id = `ex${slug(series.id)}`;
  const send = form.submit(async (f) => {
    const { extendSeries } = await gql(EXTEND, { series: series.id, last: f.elements.lastDate.value, publish: f.elements.publish.checked });
    setMade(extendSeries.activities);
    await reload();
    return t("serExtended", { n: extendSeries.created });
  });
  return html`<li data-series=${series.id}><strong>${series.title}</strong>
    <br /><span class="meta">${rule(series)} · ${t("serSpan", { first: fmtDay(series.firstDate), last: fmtDay(series.lastDate) })}</span>
    <form novalidate class="extend" onSubmit=${send}>
      <${Field} id=${id} name="lastDate" type="date" defaultValue=${addDays(series.lastDate, 28)} label=${t("serNewLast")} required error=${form.errors.lastDate} />
      <p class="check"><input type="checkbox" id=${`${id}-publish`} name="publish" defaultChecked /><label for=${`${id}-publish`}>${t("serPublish")}</label></p>
      ${form.outcome}
      <button type="submit" disabled=${form.busy}>${t("serExtend")}</button></form>
    <${Made} activities=${made} /></li>`;
}

function locate() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lng: p.coords.longitude, minutes: 30 }),
      () => resolve(null), { timeout: 5000, maximumAge: 600000 });
  });
}

function Position({ project, position, reload }) {
  const shifts = nodes(position.shifts);
  const needs = [...position.qualifications.map((q) => t("qualification", { q })),
    ...(position.minimumAge ? [t("minimumAge", { n: position.minimumAge })] : [])];
  return html`<li data-position=${position.id}><strong>${position.name}</strong>
    · ${t("perShift", { n: position.capacityPerShift })}${position.address ? ` · ${position.address}` : ""}
    ${needs.length ? html`<br /><span class="meta">${t("requirements")}：${needs.join("、")}</span>` : null}
    ${shifts.length ? html`<ul class="plain shifts-list">${shifts.map((s) => html`<li>
      <a href=${`#/activities/${encodeURIComponent(s.id)}`}>${fmtDate(s.startsAt)}</a> · ${s.remaining > 0 ? t("remainingShort", { n: s.remaining }) : t("full")}</li>`)}</ul>` : null}
    ${project.viewerCanManage ? html`<${Schedule} project=${project} position=${position} reload=${reload} />` : null}</li>`;
}

function Projects() {
  const [projects, setProjects] = useState(null);
  const [teams, setTeams] = useState([]);
  const [error, setError] = useState(null);
  const reload = () => gql(PROJECTS).then((d) => setProjects(nodes(d.projects)), setError);
  useEffect(() => {
    reload();
    if (session.token) {
      // A platform admin may choose any team: the first 100, and those of the projects listed.
      gql(MY_TEAMS).then(async ({ me }) => setTeams(me?.isPlatformAdmin ? { all: nodes((await gql(ALL_TEAMS)).teams) }
        : nodes(me?.teams).filter((team) => team.viewerIsAdmin))).catch(() => setTeams([]));
    }
  }, []);
  if (error) return html`<h1>${t("navProjects")}</h1><p class="error">${errorText(error)}</p>`;
  if (!projects) return html`<h1>${t("navProjects")}</h1><p>${t("loading")}</p>`;
  const choices = Array.isArray(teams) ? teams : [...new Map([...projects.map((p) => p.team), ...teams.all]
    .map((team) => [team.id, team])).values()];
  return html`<h1>${t("navProjects")}</h1><p><a href="#/points">${t("navPoints")}</a></p>
    ${choices.length ? html`<${NewProject} teams=${choices} reload=${reload} />` : null}
    ${projects.length ? projects.map((p) => html`<article class="card" data-project=${p.id} key=${p.id}>
      <h2>${p.name}</h2>
      <p class="meta">${p.category} · ${p.district} · ${p.team.name}</p>
      <p class="meta">${t("projectStats", { a: p.stats.activitiesHeld, v: p.stats.volunteersServed, h: Math.round(p.stats.approvedHours) })}</p>
      <p class="prose">${p.description}</p>
      ${p.positions.length ? html`<h3>${t("positions")}</h3><ul class="plain positions">${p.positions.map((pos) => html`<${Position} key=${pos.id} project=${p} position=${pos} reload=${reload} />`)}</ul>` : null}
      ${p.viewerCanManage ? html`<${NewPosition} project=${p} reload=${reload} />` : null}
      ${p.series.length ? html`<h3>${t("serSeries")}</h3><ul class="plain series">${p.series.map((x) => html`<${Series} key=${x.id} series=${x} reload=${reload} />`)}</ul>` : null}
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
