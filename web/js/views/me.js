// "Me": hours, star level, points, sign-ups, teams, and issuing a certificate; reminders before a
// shift (which offsets, SMS or not), my secret calendar feed URL, qualifications about to expire.
import { gql, nodes, session } from "../api.js";
import { h, mount } from "../dom.js";
import { errorText, fmtDate, t } from "../i18n.js";
import "../strings/care.js";
import { go } from "../app.js";

const ME = `{ me { id displayName volunteerNumber district approvedHours starLevel points phoneMasked
  teams(first: 20) { edges { node { id name viewerIsAdmin } } }
  signUps(first: 50) { edges { node { status waitlistPosition offerExpiresAt checkedInAt activity { id title startsAt endsAt } } } }
  serviceRecords(first: 20) { edges { node { id hours hoursClaimed status createdAt activity { id title startsAt } } } }
  qualifications { id name expiresAt valid course { id title } } }
  reminderSettings { offsetsHours mutedHours sms } calendarFeed { createdAt } }`;
const SAVE_REMINDERS = `mutation SaveReminders($muted: [Float!], $sms: Boolean) { updateReminderSettings(mutedHours: $muted, sms: $sms) { mutedHours sms } }`;
const NEW_FEED = `mutation NewCalendarFeed { createCalendarFeed { path createdAt } }`;
const REVOKE_FEED = `mutation RevokeCalendarFeed { revokeCalendarFeed }`;
const ALERT_DAYS = 30;

// Which reminders I get: each of the deployment's offsets (checked: reminded), and SMS.
function reminders(settings) {
  const result = h("p.result", { role: "status", "aria-live": "polite" });
  const boxes = settings.offsetsHours.map((hours) => h("label.check", h("input", { type: "checkbox", name: "offset",
    value: String(hours), checked: !settings.mutedHours.includes(hours) }), ` ${t("remindBefore", { n: hours })}`));
  const sms = h("input", { type: "checkbox", name: "sms", checked: settings.sms });
  return h("section.panel.reminders", { "aria-labelledby": "rem-h" }, h("h2", { id: "rem-h" }, t("reminders")),
    h("form", { onsubmit: async (event) => {
      event.preventDefault();
      const muted = settings.offsetsHours.filter((_, i) => !boxes[i].firstChild.checked);
      try {
        await gql(SAVE_REMINDERS, { muted, sms: sms.checked });
        result.textContent = t("saved");
      } catch (error) { result.textContent = errorText(error); }
    } }, settings.offsetsHours.length ? boxes : h("p", t("noReminders")),
    h("label.check", sms, ` ${t("remindSms")}`),
    h("p", h("button", { type: "submit", "data-action": "save-reminders" }, t("save")))), result);
}

// The secret feed's URL is shown once, when made; after that only when it was made.
function calendar(feed) {
  const result = h("p.result", { role: "status", "aria-live": "polite" });
  const state = h("p", { "data-feed": feed ? "on" : "off" }, feed ? t("feedSince", { time: fmtDate(feed.createdAt) }) : t("feedNone"));
  const slot = h("div");
  const make = async () => {
    try {
      const { createCalendarFeed: link } = await gql(NEW_FEED);
      const url = `${location.origin}${link.path}`;
      const box = h("input", { id: "feed-url", readonly: true, value: url, "data-calendar-url": "" });
      state.textContent = t("feedSince", { time: fmtDate(link.createdAt) });
      mount(slot, h("label", { for: "feed-url" }, t("feedUrl")), h("div.actions", box,
        h("button", { type: "button", onclick: async () => {
          box.select();
          try { await navigator.clipboard.writeText(url); result.textContent = t("copied"); } catch { result.textContent = t("copyByHand"); }
        } }, t("copy"))), h("p.hint", t("feedKeep")));
      result.textContent = "";
    } catch (error) { result.textContent = errorText(error); }
  };
  return h("section.panel.calendar", { "aria-labelledby": "cal-h" }, h("h2", { id: "cal-h" }, t("myCalendar")),
    h("p", t("feedLead")), state, slot,
    h("div.actions", h("button", { type: "button", "data-action": "new-feed", onclick: make }, t(feed ? "feedRenew" : "feedMake")),
      h("button", { type: "button", "data-action": "revoke-feed", onclick: async () => {
        try {
          await gql(REVOKE_FEED);
          mount(slot);
          state.textContent = t("feedNone");
          result.textContent = t("feedRevoked");
        } catch (error) { result.textContent = errorText(error); }
      } }, t("feedRevoke"))), result);
}

// Qualifications expiring within 30 days (or expired), with the course that renews them.
function expiring(qualifications) {
  const soon = Date.now() + ALERT_DAYS * 86400000;
  const list = (qualifications || []).filter((q) => q.expiresAt && Date.parse(q.expiresAt) <= soon);
  if (!list.length) return null;
  return h("section.panel.expiring", { "aria-labelledby": "exp-q-h" }, h("h2", { id: "exp-q-h" }, t("qualExpiring")),
    h("ul.plain", list.map((q) => h("li", { dataset: { qualification: q.name } },
      `${q.name} · ${q.valid ? t("expiresOn", { date: fmtDate(q.expiresAt) }) : t("expired")} · `,
      q.course ? h("a", { href: "#/learn" }, t("renewWith", { course: q.course.title })) : t("askTeam")))));
}

// My schedule: held places first (they expire), then upcoming, waitlisted and past shifts.
function schedule(signUps) {
  const now = Date.now();
  const live = signUps.filter((s) => s.status !== "CANCELLED");
  const groups = [
    ["OFFERED", t("scheduleOffered"), live.filter((s) => s.status === "OFFERED")],
    ["UPCOMING", t("scheduleUpcoming"), live.filter((s) => s.status === "CONFIRMED" && Date.parse(s.activity.endsAt) > now)],
    ["WAITLISTED", t("statusWAITLISTED"), live.filter((s) => s.status === "WAITLISTED")],
    ["PAST", t("schedulePast"), live.filter((s) => s.status === "CONFIRMED" && Date.parse(s.activity.endsAt) <= now)],
  ].filter(([, , list]) => list.length);
  const item = (s) => h("li", { dataset: { state: s.status } }, `${fmtDate(s.activity.startsAt)} `,
    h("a", { href: `#/activities/${encodeURIComponent(s.activity.id)}` }, s.activity.title),
    s.status === "WAITLISTED" ? ` · ${t("waitPos", { n: s.waitlistPosition })}` : "",
    s.status === "OFFERED" ? ` · ${t("offerHeldUntil", { time: fmtDate(s.offerExpiresAt) })}` : "",
    s.checkedInAt ? ` · ${t("checkedIn", { time: fmtDate(s.checkedInAt) })}` : "");
  return groups.map(([key, title, list]) => h("div.schedule-group", { dataset: { group: key } },
    h("h3", title), h("ul.plain", list.map(item))));
}

function hoursList(records) {
  return records.length ? h("ul.plain", records.map((r) => h("li", { dataset: { record: r.id, status: r.status } },
    `${fmtDate(r.activity.startsAt)} ${r.activity.title} · ${t("hours", { n: r.status === "APPROVED" ? r.hours : r.hoursClaimed })} `,
    h("span.badge", t(`hours${r.status}`))))) : h("p", t("empty"));
}
const CERT_FIELDS = `code serialNumber volunteerName idType idNumberMasked volunteerNumber teams totalHours issuer issuedAt
  entries { activityTitle team date hours }`;
const ISSUE = `mutation IssueCertificate { issueCertificate { ${CERT_FIELDS} } }`;
const VERIFY = `query VerifyCertificate($code: String!) { verifyCertificate(code: $code) { ${CERT_FIELDS} } }`;

// The certificate as a page one can print (the header and buttons are left off paper), with
// the link anyone can open to check it.
export function certificate(c) {
  const link = `${location.origin}/#/verify/${encodeURIComponent(c.code)}`;
  const row = (label, value, key) => h("div", h("dt", label), h("dd", { "data-cert": key }, value));
  return h("section.cert", { "aria-labelledby": "cert-h" },
    h("h2", { id: "cert-h" }, t("certificate")),
    h("dl.facts",
      row(t("serial"), c.serialNumber, "serial"), row(t("realName"), c.volunteerName, "name"),
      row(t("idMasked"), `${c.idType} ${c.idNumberMasked}`, "id"), row(t("volunteerNumber"), c.volunteerNumber, "number"),
      row(t("teams"), c.teams.join("、"), "teams"), row(t("certHours"), t("hours", { n: c.totalHours }), "hours"),
      row(t("issuer"), c.issuer, "issuer"), row(t("issuedAt"), fmtDate(c.issuedAt), "issued")),
    c.entries.length ? h("div.table-wrap", h("table",
      h("thead", h("tr", [t("time"), t("navActivities"), t("teams"), t("certHours")].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", c.entries.map((e) => h("tr", h("td", e.date), h("td", e.activityTitle), h("td", e.team), h("td.num", e.hours)))))) : null,
    h("p", `${t("verifyAt")}：`, h("a", { href: link, "data-cert": "verify" }, link)),
    h("p.actions.no-print", h("button", { type: "button", onclick: () => window.print() }, t("printCert"))));
}

// #/verify/<code>: anyone holding the link sees the certificate as issued (verifyCertificate).
export async function renderVerify(main, code) {
  mount(main, h("p", t("loading")));
  try {
    const { verifyCertificate: c } = await gql(VERIFY, { code });
    mount(main, h("h1", t("verifyTitle")), c ? certificate(c) : h("p.error", t("certNotFound")));
  } catch (error) { mount(main, h("p.error", errorText(error))); }
}

export async function render(main, { name, params }) {
  if (name === "verify") return renderVerify(main, params[0] || "");
  if (!session.token) { go("#/login"); return; }
  mount(main, h("p", t("loading")));
  const { me, reminderSettings, calendarFeed } = await gql(ME);
  const certResult = h("p.result", { role: "status", "aria-live": "polite" });
  const stat = (label, value, key) => h("div.stat", h("dt", label), h("dd", { "data-stat": key }, value));
  const signUps = nodes(me.signUps);
  // A new account (nothing signed up, no team, no hours) is told what to do next first.
  const fresh = !signUps.length && !nodes(me.teams).length && !me.approvedHours;
  mount(main,
    h("h1", t("me")),
    fresh ? h("section.panel.first-run", { "aria-labelledby": "first-h" },
      h("h2", { id: "first-h" }, t("welcome")), h("p", t("welcomeLead")),
      h("ol",
        h("li", h("a", { href: "#/activities" }, t("step1"))),
        h("li", h("a", { href: "#/help" }, t("step2"))),
        h("li", h("a", { href: "#/forum" }, t("step3"))),
        h("li", t("step4"))),
      h("p", h("a.button.primary", { href: "#/activities" }, t("goActivities")))) : null,
    h("section.panel", { "aria-labelledby": "me-name" },
      h("h2", { id: "me-name" }, me.displayName),
      h("dl.stats",
        stat(t("volunteerNumber"), me.volunteerNumber, "number"),
        stat(t("approvedHours"), t("hours", { n: me.approvedHours }), "hours"),
        stat(t("star"), `${"★".repeat(me.starLevel) || "☆"} ${me.starLevel}`, "star"),
        stat(t("points"), me.points, "points"),
        stat(t("district"), me.district, "district")),
      h("button", { type: "button", onclick: async (event) => {
        event.target.disabled = true;
        try {
          const { issueCertificate: c } = await gql(ISSUE);
          certResult.textContent = t("certIssued", { serial: c.serialNumber, code: c.code });
          main.querySelector(".cert")?.remove();
          certResult.after(certificate(c));
        } catch (error) { certResult.textContent = errorText(error); }
        event.target.disabled = false;
      } }, t("issueCert")), certResult),
    h("section.panel", h("h2", t("mySchedule")),
      signUps.some((s) => s.status !== "CANCELLED") ? schedule(signUps)
        : h("p", t("noSignUpsYet"), " ", h("a", { href: "#/activities" }, t("goActivities")))),
    expiring(me.qualifications),
    h("section.panel", h("h2", t("myHours")), hoursList(nodes(me.serviceRecords))),
    reminders(reminderSettings), calendar(calendarFeed),
    h("section.panel", h("h2", t("teams")),
      h("ul.plain", nodes(me.teams).map((team) => h("li", team.name)))));
}
