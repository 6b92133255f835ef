// Time bank (#/bank, 爱心银行): my points, the catalogue to redeem from, donating points, and
// the statement with the running balance after each entry. Platform admins also manage the
// catalogue here (views/catalogue.js, loaded for them only), retired items included;
// #/bank/<item id> opens an item's panel and its history.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { html, page, useEffect, useState } from "../ui.js";
import { loadMe } from "../app.js";

const BANK = `query Bank($all: Boolean! = false) { me { id points pointsStatement(first: 50) { edges { node { kind delta balanceAfter reason createdAt } } } }
  rewardItems(first: 100, includeInactive: $all) { edges { node { id title description kind costPoints stock district active } } } }`;
const REDEEM = `mutation Redeem($id: ID!, $key: String) { redeem(itemId: $id, quantity: 1, idempotencyKey: $key) { id points item { title } } }`;
const DONATE = `mutation Donate($input: DonatePointsInput!) { donatePoints(input: $input) { points } }`;

const key = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);

function Item({ item, points, reload, patch, say, admin, open }) {
  const [busy, setBusy] = useState(false);
  // One key per click: a retried request (a flaky network) redeems once.
  const redeem = async () => {
    setBusy(true);
    try {
      const { redeem: r } = await gql(REDEEM, { id: item.id, key: key() });
      say(t("redeemed", { title: r.item.title, n: r.points }));
      await reload();
    } catch (e) { say(errorText(e)); }
    setBusy(false);
  };
  return html`<article class="card" data-item=${item.id}><h2>${item.title}</h2>
    <p class="meta">${t(`kind${item.kind}`)} · ${t("costPoints", { n: item.costPoints })} · ${t("stock", { n: item.stock })}${item.district ? ` · ${item.district}` : ""}</p>
    <p class="prose">${item.description}</p>
    ${item.active ? html`<button class="primary" type="button" data-action="redeem" disabled=${busy || item.stock <= 0 || points < item.costPoints}
      onClick=${redeem}>${item.stock <= 0 ? t("outOfStock") : points < item.costPoints ? t("notEnoughPoints") : t("redeem")}</button>`
      : html`<p><span class="badge" data-retired>${t("catRetiredBadge")}</span></p>`}
    ${admin ? html`<${admin.ItemAdmin} item=${item} open=${open} reload=${reload} patch=${patch} />` : null}</article>`;
}

function BankPage({ focus }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState("");
  const load = async () => {
    // once shown, a failed reload keeps the page (and the donation being typed) and says so
    try {
      const admin = (await loadMe())?.isPlatformAdmin ? await import("./catalogue.js") : null;
      setData({ ...(await gql(BANK, { all: !!admin })), admin });
    } catch (e) { if (data) setMessage(errorText(e)); else setError(e); }
  };
  useEffect(() => { load(); }, []);
  // An item as an admin's write answered it (a restock's new stock), shown without a reload.
  const patch = (changed) => setData((d) => ({ ...d, rewardItems: { ...d.rewardItems, edges: d.rewardItems.edges.map((e) =>
    (e.node.id === changed.id ? { ...e, node: { ...e.node, ...changed } } : e)) } }));
  const donate = async (event) => {
    event.preventDefault();
    const points = Number(event.target.elements.points.value);
    if (!(points > 0)) { setMessage(t("errRequired")); return; }
    try {
      await gql(DONATE, { input: { points, note: event.target.elements.note.value.trim() || null, idempotencyKey: key() } });
      setMessage(t("donated", { n: points }));
      event.target.reset();
      await load();
    } catch (e) { setMessage(errorText(e)); }
  };
  if (error) return html`<h1>${t("navBank")}</h1><p class="error">${errorText(error)}</p>`;
  if (!data) return html`<h1>${t("navBank")}</h1><p>${t("loading")}</p>`;
  const points = data.me.points;
  const entries = nodes(data.me.pointsStatement);
  return html`<h1>${t("navBank")}</h1>
    <p class="balance">${t("myPoints")}：<strong data-points>${points}</strong></p>
    <p class="ok" role="status" aria-live="polite" data-message>${message}</p>
    <section aria-labelledby="items-h"><h2 id="items-h">${t("catalogue")}</h2>
      <div class="list">${nodes(data.rewardItems).map((item) => html`<${Item} key=${item.id} item=${item} points=${points}
        reload=${load} patch=${patch} say=${setMessage} admin=${data.admin} open=${focus === item.id} />`)}</div></section>
    ${data.admin ? html`<${data.admin.NewItem} reload=${load} />` : null}
    <details class="panel"><summary>${t("donate")}</summary>
      <form novalidate onSubmit=${donate}>
        <div class="field"><label for="don-points">${t("donatePoints")}</label><input id="don-points" name="points" type="number" min="1" /></div>
        <div class="field"><label for="don-note">${t("donateNote")}</label><input id="don-note" name="note" maxlength="200" /></div>
        <button type="submit">${t("donate")}</button></form></details>
    <section class="panel" aria-labelledby="stmt-h"><h2 id="stmt-h">${t("statement")}</h2>
      ${entries.length ? html`<div class="table-wrap"><table class="statement"><thead><tr><th scope="col">${t("time")}</th><th scope="col">${t("entry")}</th>
        <th scope="col">${t("change")}</th><th scope="col">${t("balance")}</th></tr></thead>
        <tbody>${entries.map((e) => html`<tr><td>${fmtDate(e.createdAt)}</td><td>${t(`points${e.kind}`)}${e.reason ? ` · ${e.reason}` : ""}</td>
          <td class="num">${e.delta > 0 ? `+${e.delta}` : e.delta}</td><td class="num">${e.balanceAfter}</td></tr>`)}</tbody></table></div>`
        : html`<p>${t("empty")}</p>`}</section>`;
}

// The server words each reason it wrote in the page's language (Accept-Language, from the
// toggle, which reloads the page): resolvers/messages.py LEDGER_REASONS.

export function render(main, { params }) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, html`<${BankPage} focus=${params[0]} />`);
}
