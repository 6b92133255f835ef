// Activity list with filters and the live slot board: one slotCount subscription per card.
// Repeating shifts (a position's series, or the same team's same title at the same place) are
// grouped: one card shows the next shift, with the other dates a tap away.
// The home page arrives with this page already drawn by the server as a visitor sees it
// (schema/home_http.py draws the same markup from the same answer; tests/web/test_home.py holds
// them equal) and the answer it drew from (#tx-list): render() then takes the server's DOM over
// instead of asking again. A signed-in reader's own sign-ups are not in that drawing: their
// answer (asked by index.html once the drawing is on the screen) is laid over it, the cards' buttons hidden until then.
import { gql, nodes, session } from "../api.js";
import { beijingDayStart, errorText, fmtDate, t } from "../i18n.js";
import { render as draw } from "preact";
import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { html } from "../ui.js";
import { subscribe } from "../ws.js";

const FIELDS = `id title category district address startsAt endsAt capacity confirmedCount
  waitlistCount waitlistLimit remaining hoursCredit status team { id } position { id } mySignUp { status waitlistPosition }`;
const LIST = `query Activities($first: Int, $status: ActivityStatus, $district: String, $category: String, $hasOpenSlots: Boolean,
  $startsAfter: DateTime, $near: GeoInput, $signedIn: Boolean!) {
  activities(first: $first, status: $status, district: $district, category: $category, hasOpenSlots: $hasOpenSlots,
             startsAfter: $startsAfter, near: $near) {
    totalCount edges { node { ${FIELDS.replace("mySignUp", "mySignUp @include(if: $signedIn)")} } } } }`;
// A signed-in reader of the drawn list: only what is theirs, laid over the drawn answer (withOwn).
// index.html sends it once the drawn page is on the screen (tests/web/test_static.py: the same text).
const OWN = `query OwnSignUps($first: Int, $status: ActivityStatus, $startsAfter: DateTime) {
  activities(first: $first, status: $status, startsAfter: $startsAfter) { edges { node { id mySignUp { status waitlistPosition } } } } }`;
const SLOTS = `subscription Slots($id: ID!) { slotCount(activityId: $id) { capacity confirmed waitlisted remaining status version } }`;
const SIGN_UP = `mutation SignUp($id: ID!) { signUp(activityId: $id) { status waitlistPosition } }`;
const CANCEL = `mutation Cancel($id: ID!) { cancelSignUp(activityId: $id) { status } }`;

const DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区", "大兴区"];
const CATEGORIES = ["助老", "环保", "扶幼", "助残", "社区服务", "应急", "文化", "医疗"];
const filters = { district: "", category: "", date: "", open: false, near: false };

function reasonOf(error) {
  if (error.reason) return error.reason;
  const m = error.message;
  if (/full/i.test(m)) return "FULL";
  if (/overlap/i.test(m)) return "OVERLAP";
  if (/deadline/i.test(m)) return "DEADLINE_PASSED";
  if (/no sign-ups|no longer takes/i.test(m)) return "NOT_OPEN";
  if (/qualif|requires|skill/i.test(m)) return "NOT_QUALIFIED";
  return null;
}

// extensions.requirement of a NOT_QUALIFIED refusal: {kind: QUALIFICATION, qualification} or
// {kind: MINIMUM_AGE, minimumAge}.
function requirementText(requirement) {
  if (requirement?.kind === "MINIMUM_AGE") return t("minimumAge", { n: requirement.minimumAge });
  if (requirement?.qualification) return t("qualification", { q: requirement.qualification });
  return "";
}

export function signUpMessage(error) {
  if (error.code === "UNAUTHENTICATED") return t("needLogin");
  const reason = reasonOf(error);
  if (reason) return t(`reason${reason}`, { requirement: requirementText(error.extensions?.requirement) });
  return errorText(error);
}

const link = (id) => `#/activities/${encodeURIComponent(id)}`;

// Shifts of one series: a position's, else the same team's same title at the same place.
function groups(activities) {
  const byKey = new Map();
  for (const a of activities) {
    const key = a.position ? `p:${a.position.id}` : `t:${a.team?.id}|${a.title}|${a.district}|${a.address || ""}`;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(a);
  }
  return [...byKey.values()].map((shifts) => shifts.sort((x, y) => x.startsAt.localeCompare(y.startsAt)));
}

const live = (signUp) => signUp && signUp.status !== "CANCELLED" ? signUp : null;
const Badge = ({ signUp }) => (live(signUp)
  ? html`<span class="badge state" data-state=${signUp.status}>${t(`status${signUp.status}`)}</span>` : null);

function Card({ activity, others }) {
  const id = activity.id;
  const [counts, setCounts] = useState({ capacity: activity.capacity, remaining: activity.remaining,
    waitlisted: activity.waitlistCount });
  // The reader's own state is the answer's (activity.mySignUp), in the same render that brings it
  // (a signed-in reader of the server's drawing gets it after the card was drawn: an effect would
  // show the wrong button for a frame), until they act on this card: what they did is shown
  // until the next answer.
  const [acted, setActed] = useState(null);
  const fresh = acted && acted.over === activity.mySignUp ? acted : null;
  const mine = fresh ? fresh.mine : live(activity.mySignUp);
  const result = fresh?.result || { text: mine?.status === "WAITLISTED"
    ? t("waitlisted", { n: mine.waitlistPosition }) : "", reason: null };
  const setMine = (signUp, shown) => setActed({ over: activity.mySignUp, mine: signUp, result: shown });
  const setResult = (shown) => setActed({ over: activity.mySignUp, mine, result: shown });
  const [busy, setBusy] = useState(false);
  // Live slots: the subscription's first answer is the count now, then every change.
  useEffect(() => subscribe(SLOTS, { id }, { next: ({ data }) => data && setCounts({
    capacity: data.slotCount.capacity, remaining: data.slotCount.remaining, waitlisted: data.slotCount.waitlisted }) }), [id]);
  const act = async () => {
    if (!session.token) { setResult({ text: t("needLogin"), reason: null }); return; }
    setBusy(true);
    try {
      if (!mine) {
        const { signUp } = await gql(SIGN_UP, { id });
        setMine(signUp, { text: signUp.status === "WAITLISTED" ? t("waitlisted", { n: signUp.waitlistPosition }) : t("signedUp"), reason: null });
      } else {
        await gql(CANCEL, { id });
        setMine(null, { text: t("cancelled"), reason: null });
      }
    } catch (error) {
      setResult({ text: signUpMessage(error), reason: reasonOf(error) || error.code });
    } finally {
      setBusy(false);
    }
  };
  const full = counts.remaining <= 0;
  return html`<article class=${full ? "card is-full" : "card"} data-id=${id} aria-labelledby=${`t-${id}`}>
<h2 id=${`t-${id}`} elementtiming="card"><a href=${link(id)}>${activity.title}</a> <span class="state-slot"><${Badge} signUp=${mine} /></span></h2>
<p class="meta">${`${fmtDate(activity.startsAt)} · ${activity.district} · ${activity.category} · ${t("hours", { n: activity.hoursCredit })}`}</p>
${activity.address ? html`<p class="meta">${activity.address}</p>` : null}
<p class="slots"><strong class="remaining" aria-live="polite" data-remaining=${String(counts.remaining)}>${full ? t("full")
    : t("remaining", { n: counts.remaining, cap: counts.capacity })}</strong> <span class="waitlist">${activity.waitlistLimit
    ? t("waitlist", { n: counts.waitlisted, limit: activity.waitlistLimit }) : ""}</span></p>
<div class="actions"><button class="primary" type="button" data-action=${mine ? "cancel" : "signup"} disabled=${busy}
  onClick=${act}>${mine ? t("cancelSignUp") : t("signUp")}</button></div>
<p class="result" role="status" aria-live="polite" data-reason=${result.reason}>${result.text}</p>
${others.length ? html`<details class="shifts"><summary>${t("moreShifts", { n: others.length })}</summary>
<ul class="plain">${others.map((o) => html`<li key=${o.id}><a href=${link(o.id)}>${fmtDate(o.startsAt)}</a> <${Badge} signUp=${o.mySignUp} /></li>`)}</ul></details>`
    : null}
</article>`;
}

function locate() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, radiusKm: 5 }),
      () => resolve(null), { timeout: 8000, maximumAge: 600000 });
  });
}

// Uncontrolled: read on submit, so the server's drawing of it needs no state to match; the applied
// filters are the initial values (defaultValue, defaultChecked), never a `value` that a re-render of
// the list would put back over a choice not applied yet.
function Filters({ onApply }) {
  const select = (name, label, options) => html`<div class="field"><label for=${`flt-${name}`}>${label}</label>
<select id=${`flt-${name}`} name=${name}><option value="">${t("anyDistrict")}</option>${options.map((o) =>
    html`<option value=${o} selected=${filters[name] === o}>${o}</option>`)}</select></div>`;
  const check = (name, label) => html`<div class="check"><input type="checkbox" id=${`flt-${name}`} name=${name}
  defaultChecked=${filters[name]} /><label for=${`flt-${name}`}>${label}</label></div>`;
  const submit = (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    Object.assign(filters, { district: data.get("district"), category: data.get("category"),
      date: data.get("date"), open: data.has("open"), near: data.has("near") });
    onApply();
  };
  return html`<form class="filters" aria-label=${t("filters")} onSubmit=${submit}>
${select("district", t("district"), DISTRICTS)}${select("category", t("category"), CATEGORIES)}
<div class="field"><label for="flt-date">${t("date")}</label><input type="date" id="flt-date" name="date" defaultValue=${filters.date} /></div>
${check("open", t("openOnly"))}${check("near", t("nearMe"))}
<button type="submit">${t("apply")}</button></form>`;
}

function variablesNow() {
  return { first: 50, district: filters.district || null, category: filters.category || null,
    hasOpenSlots: filters.open || null, signedIn: !!session.token,
    // Without a date: what a volunteer can still join, i.e. published and not yet started.
    status: "PUBLISHED",
    startsAfter: (filters.date ? beijingDayStart(filters.date) : new Date()).toISOString(), near: null };
}

const defaults = () => !filters.district && !filters.category && !filters.date && !filters.open && !filters.near;

// The home page's request leaves from index.html's inline script while the modules load, not
// after they are evaluated: first paint waits on it. Only the first render of the list with the
// default filters adopts it, only while it is fresh, and only if it sent this very document
// (otherwise the list asks again: a stale copy in index.html costs time, never correctness).
function adoptEarly(query) {
  const taken = window.txEarly;
  window.txEarly = null;
  return taken && defaults() && taken.query === query && taken.token === session.token && Date.now() - taken.at < 5000
    ? taken.sent : null;
}

// The drawn answer with the reader's own sign-ups in it (an activity their answer lacks, one that
// started since the drawing, has none).
function withOwn(drawn, own) {
  const mine = new Map(nodes(own.activities).map((node) => [node.id, node.mySignUp]));
  return { ...drawn, activities: { ...drawn.activities, edges: drawn.activities.edges.map((edge) => (
    { ...edge, node: { ...edge.node, mySignUp: mine.get(edge.node.id) ?? null } })) } };
}

// The answer the server drew the page from (schema/home_http.py), if the page it drew is still shown:
// index.html's inline script hides it (html.tx-own) from an English reader and on any other route.
// Read once.
function adoptDrawn(main) {
  const tag = document.getElementById("tx-list");
  tag?.remove();
  if (!tag || document.documentElement.classList.contains("tx-own") || !defaults()
      || !main.querySelector("section.list")) return null;
  try { return JSON.parse(tag.textContent).data; } catch { return null; }
}

function List({ first }) {
  const [state, setState] = useState(first ? { data: first } : { loading: true });
  const [note, setNote] = useState("");
  // The form is built when the panel first opens, and kept from then on (what was chosen but not
  // applied yet survives closing it): a closed panel's selects and date input cost the first
  // frame ~30 ms (docs/web.md, Figures), and the server's drawing leaves them out too.
  const [filtering, setFiltering] = useState(!defaults());
  // overlay: the first load over a drawn list, for a signed-in reader (their own state only).
  const load = async (overlay = false) => {
    setState((s) => ({ ...s, loading: true }));
    const variables = variablesNow();
    const early = adoptEarly(overlay ? OWN : LIST); // the fetch under way, or null
    setNote("");
    if (filters.near) {
      setNote(t("locating"));
      variables.near = await locate();
      setNote(variables.near ? "" : t("noLocation"));
    }
    // own: the answer is this reader's (a drawn list's own state is in from then on).
    try {
      const data = overlay
        ? withOwn(first, await gql(OWN, { first: 50, status: "PUBLISHED", startsAfter: variables.startsAfter }, early))
        : await gql(LIST, variables, early);
      performance.mark("tx:list-answered");
      setState({ data, own: true });
    } catch (error) {
      // A drawn list stays when the reader's own answer is refused for a session that ended
      // (gql signed them out): what a visitor sees is then exactly what they should see.
      setState(first && !session.token ? { data: first, own: true } : { error, own: true });
    }
  };
  // A signed-in reader of the drawn list asks for their own answer at once (index.html sent it).
  // One whose session ended may be signed out before this runs (app.js's first request was
  // refused): the drawing is then theirs as it is, and its buttons show at once.
  useEffect(() => {
    if (!first) load();
    else if (session.token) load(true);
    else if (document.documentElement.classList.contains("tx-reader")) setState((s) => ({ ...s, own: true }));
  }, []);
  const { data, error, loading } = state;
  // The frame after the cards are in the DOM: what bench.web times (the server-drawn page marks
  // its own, in index.html); over a drawn page, the frame with the reader's own state in it.
  useLayoutEffect(() => { if (data && !first) requestAnimationFrame(() => performance.mark("tx:list-painted")); }, [data]);
  useLayoutEffect(() => {
    if (!state.own) return;
    if (first) requestAnimationFrame(() => performance.mark("tx:own-painted"));
    document.documentElement.classList.remove("tx-reader"); // the cards' buttons (index.html)
  }, [state.own]);
  const cards = data ? groups(nodes(data.activities)) : [];
  return html`<h1>${t("navActivities")}</h1>
<details class="filter-panel" open=${!defaults()} onToggle=${(event) => event.currentTarget.open && setFiltering(true)}><summary>${t("filters")}</summary>${filtering ? html`<${Filters} onApply=${load} />` : null}</details>
<p class="note" role="status">${note}</p>
<p class="count" role="status">${data ? t("activityCount", { n: data.activities.totalCount }) : ""}</p>
<section class="list" aria-live="off" aria-busy=${loading || !data ? "true" : "false"}>${error
    ? html`<p class="error">${errorText(error)}</p><button type="button" onClick=${load}>${t("retry")}</button>`
    : !data ? html`<p>${t("loading")}</p>`
      : cards.length ? cards.map(([one, ...others]) => html`<${Card} key=${one.id} activity=${one} others=${others} />`)
        : html`<p>${t("empty")}</p>`}</section>`;
}

export async function render(main) {
  const drawn = adoptDrawn(main);
  if (!drawn) main.replaceChildren();
  // Over the server's drawing, preact reuses its nodes (the same markup) and adds the handlers.
  draw(html`<${List} first=${drawn} />`, main);
  if (drawn) performance.mark("tx:list-hydrated");
  return () => draw(null, main);
}
