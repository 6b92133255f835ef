// Organiser view: the hours approval queue of every team the viewer administers, and each
// team's hours for a period as CSV/XLSX from the server (this month by default).
import { gql, nodes, session } from "../api.js";
import { download } from "../download.js";
import { h, mount } from "../dom.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { go } from "../app.js";

const TEAMS = `{ me { teams(first: 50) { edges { node { id name viewerIsAdmin } } } } }`;
const QUEUE = `query Queue($team: ID!) { serviceRecords(teamId: $team, status: PENDING, first: 50) { edges { node {
  id hours hoursClaimed createdAt volunteer { displayName } activity { title startsAt } } } } }`;
const APPROVE = `mutation Approve($id: ID!) { approveHours(recordId: $id) { id status } }`;
const REJECT = `mutation Reject($id: ID!, $reason: String!) { rejectHours(recordId: $id, reason: $reason) { id status } }`;

// A decision is made once: both buttons (and the reason) are disabled while it is sent and
// stay disabled after it succeeds; a rejection needs a reason (said inline, nothing is sent).
function row(record) {
  const result = h("span.result", { role: "status" });
  const reasonId = `reason-${record.id}`;
  const reason = h("input", { type: "text", id: reasonId, name: "reason", maxlength: 500,
    "aria-describedby": `${reasonId}-error` });
  const reasonError = h("span.error", { id: `${reasonId}-error` });
  const controls = () => item.querySelectorAll("button, input");
  const act = (fn, done) => async () => {
    controls().forEach((c) => { c.disabled = true; });
    try {
      await fn();
      result.textContent = done;
      item.classList.add("done");
      item.dataset.decided = "true";
    } catch (error) {
      result.textContent = errorText(error);
      controls().forEach((c) => { c.disabled = false; });
    }
  };
  const reject = act(() => gql(REJECT, { id: record.id, reason: reason.value.trim() }), t("rejected"));
  const item = h("li.card",
    h("h3", `${record.volunteer.displayName} · ${record.activity.title}`),
    h("p.meta", `${fmtDate(record.activity.startsAt)} · ${t("hours", { n: record.hoursClaimed || record.hours })}`),
    h("div.actions",
      h("button.primary", { type: "button", "data-action": "approve", onclick: act(() => gql(APPROVE, { id: record.id }), t("approved")) }, t("approve")),
      h("label", { for: reasonId }, t("rejectReason")), reason,
      h("button", { type: "button", "data-action": "reject", onclick: () => {
        if (!reason.value.trim()) {
          reasonError.textContent = t("reasonRequired");
          reason.setAttribute("aria-invalid", "true");
          reason.focus();
          return;
        }
        reasonError.textContent = "";
        reason.removeAttribute("aria-invalid");
        reject();
      } }, t("reject")),
      reasonError, result));
  return item;
}

// Beijing calendar days: the first of this month and today.
function thisMonth() {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  return [`${today.slice(0, 8)}01`, today];
}

function hoursExport(team) {
  const [first, last] = thisMonth();
  const from = h("input", { type: "date", id: `from-${team.id}`, value: first });
  const to = h("input", { type: "date", id: `to-${team.id}`, value: last });
  const result = h("span.result", { role: "status" });
  const save = (format) => () => download(`/teams/${encodeURIComponent(team.id)}/hours.${format}`,
    { from: from.value, to: to.value }).then(() => { result.textContent = ""; },
    (error) => { result.textContent = errorText(error); });
  return h("div.actions.hours-export",
    h("label", { for: from.id }, t("periodFrom")), from, h("label", { for: to.id }, t("periodTo")), to,
    h("button", { type: "button", "data-export": "csv", onclick: save("csv") }, t("exportHoursCsv")),
    h("button", { type: "button", "data-export": "xlsx", onclick: save("xlsx") }, t("exportHoursXlsx")),
    result);
}

export async function render(main) {
  if (!session.token) { go("#/login"); return; }
  mount(main, h("p", t("loading")));
  const teams = nodes((await gql(TEAMS)).me.teams).filter((team) => team.viewerIsAdmin);
  const sections = [];
  for (const team of teams) {
    const records = nodes((await gql(QUEUE, { team: team.id })).serviceRecords);
    sections.push(h("section.panel", h("h2", team.name), hoursExport(team),
      records.length ? h("ul.plain", records.map(row)) : h("p", t("empty"))));
  }
  mount(main, h("h1", t("hoursQueue")), sections.length ? sections : h("p", t("noAdminTeams")));
}
