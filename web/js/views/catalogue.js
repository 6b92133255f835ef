// The time-bank catalogue's admin forms (#/bank, issue 26), loaded by bank.js for platform admins
// only: add an item; per item edit it, restock it (add units), retire it (or offer it again) and
// read its edit history. The server judges every value; a refusal naming a field is shown at it
// (useForm).
import { GqlError, gql } from "../api.js";
import { fmtDate, t } from "../i18n.js";
import "../strings/catalogue.js";
import { Field, html, shown, useEffect, useForm, useState } from "../ui.js";

const CREATE = `mutation CreateRewardItem($input: RewardItemInput!) { createRewardItem(input: $input) { id title } }`;
const UPDATE = `mutation UpdateRewardItem($id: ID!, $input: RewardItemUpdate!, $reason: String) {
  updateRewardItem(id: $id, input: $input, reason: $reason) { id title stock active } }`;
// Adds units on the server (stock = stock + units), so a redemption made since this page read
// the stock is kept; the answer's stock is shown.
const RESTOCK = `mutation RestockRewardItem($id: ID!, $units: Int!, $reason: String) {
  restockRewardItem(itemId: $id, units: $units, reason: $reason) { id stock } }`;
const HISTORY = `query RewardItemHistory($id: ID!) { node(id: $id) { ... on RewardItem { id
  history { action before after reason createdAt actor { displayName } } } } }`;

const kinds = () => [["REWARD", t("kindREWARD")], ["SERVICE", t("kindSERVICE")]];
// A number box's text as sent: blank is left out; anything else goes to the server to judge.
const int = (text) => (text.trim() === "" ? null : Number(text));
const text = (form, name) => form.elements[name].value.trim();
// A count GraphQL's Int can carry; anything else would be refused without naming its field
// (a variable the server cannot read), so it is refused at the field here.
const count = (form, name) => {
  const value = int(text(form, name));
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 31) return value;
  throw new GqlError([{ message: t("catNotWhole", { field: t(`catF_${name}`) }), extensions: { code: "BAD_USER_INPUT", field: name } }]);
};

export function NewItem({ reload }) {
  const form = useForm();
  const send = form.submit(async (f) => {
    const { createRewardItem: item } = await gql(CREATE, { input: {
      title: text(f, "title"), kind: text(f, "kind"), costPoints: int(text(f, "costPoints")), stock: int(text(f, "stock")),
      district: text(f, "district") || null, description: text(f, "description") || null } });
    f.reset();
    await reload();
    return t("catAdded", { title: item.title });
  });
  return html`<section class="panel" aria-labelledby="new-item-h" data-admin="new-item"><h2 id="new-item-h">${t("catNew")}</h2>
    <form novalidate onSubmit=${send}>
      <${Field} id="ni" name="title" label=${t("catF_title")} maxlength="100" required error=${form.errors.title} />
      <${Field} id="ni" name="kind" label=${t("catF_kind")} options=${kinds()} defaultValue="REWARD" error=${form.errors.kind} />
      <${Field} id="ni" name="costPoints" type="number" min="1" label=${t("catF_costPoints")} required error=${form.errors.costPoints} />
      <${Field} id="ni" name="stock" type="number" min="0" label=${t("catF_stock")} required error=${form.errors.stock} />
      <${Field} id="ni" name="district" label=${t("catF_district")} maxlength="50" error=${form.errors.district} />
      <${Field} id="ni" name="description" type="textarea" label=${t("catF_description")} maxlength="2000" error=${form.errors.description} />
      ${form.outcome}
      <button class="primary" type="submit" disabled=${form.busy}>${t("catAdd")}</button></form></section>`;
}

// One field of a history entry as a person reads it.
function shownValue(name, value) {
  if (name === "active") return t(value ? "catActive" : "catInactive");
  if (name === "kind") return t(`kind${value}`);
  if (name === "district") return value || t("catAllDistricts");
  return String(value ?? "");
}

function History({ item, open, version }) {
  const [wanted, setWanted] = useState(open);
  const [changes, setChanges] = useState(null);
  const [error, setError] = useState(null);
  // read when opened, and again after each edit made here
  useEffect(() => {
    if (!wanted) return;
    gql(HISTORY, { id: item.id }).then((d) => { setChanges(d.node?.history || []); setError(null); }, setError);
  }, [wanted, version]);
  const line = (c) => (c.action === "CREATE"
    ? `${c.after.title} · ${t("costPoints", { n: c.after.costPoints })} · ${t("stock", { n: c.after.stock })}`
    : c.action === "RESTOCK" ? t("catRestockLine", { n: c.after.stock - c.before.stock, before: c.before.stock, after: c.after.stock })
    : Object.keys(c.after).filter((k) => JSON.stringify(c.after[k]) !== JSON.stringify(c.before?.[k]))
      .map((k) => t("catChange", { field: t(`catF_${k}`), before: shownValue(k, c.before?.[k]), after: shownValue(k, c.after[k]) }))
      .join(t("catJoin")));
  return html`<details class="history" open=${open} onToggle=${(e) => setWanted(e.currentTarget.open)}>
    <summary>${t("catHistory")}</summary>
    ${shown(error, wanted ? changes : null, () => html`<ol class="plain item-history">${changes.map((c) => html`<li data-change=${c.action}>
      <span class="meta">${fmtDate(c.createdAt)} · ${c.actor?.displayName || ""} · ${t(`cat${c.action}`)}</span>
      <p>${line(c)}</p>${c.reason ? html`<p class="meta">${t("catReasonIs", { reason: c.reason })}</p>` : null}</li>`)}</ol>`)}</details>`;
}

export function ItemAdmin({ item, open, reload, patch }) {
  const id = `ri${item.id.replace(/[^A-Za-z0-9]/g, "")}`;
  const [version, setVersion] = useState(0);
  const edit = useForm();
  const restock = useForm();
  const retire = useForm();
  // The edit and retire forms send their changes with the reason typed beside them, then re-read the page.
  const update = (form, changes, said) => form.submit(async (f) => {
    const input = changes(f);
    if (!Object.keys(input).length) return t("catSaved");
    const { updateRewardItem: saved } = await gql(UPDATE, { id: item.id, input, reason: text(f, "reason") || null });
    f.elements.reason.value = "";
    setVersion((v) => v + 1);
    await reload();
    return said(saved);
  });
  // Units are added to whatever the stock is by then; the card shows the stock the answer gives.
  const added = restock.submit(async (f) => {
    const units = count(f, "units");
    const { restockRewardItem: saved } = await gql(RESTOCK, { id: item.id, units, reason: text(f, "reason") || null });
    f.reset();
    setVersion((v) => v + 1);
    patch(saved);
    return t("catRestocked", { n: units, stock: saved.stock });
  });
  const edited = (f) => {
    const now = { title: text(f, "title"), kind: text(f, "kind"), costPoints: int(text(f, "costPoints")),
      district: text(f, "district"), description: text(f, "description") };
    const was = { ...item, district: item.district || "" };
    return Object.fromEntries(Object.entries(now).filter(([k, v]) => v !== was[k]));
  };
  const reason = (form, prefix) => html`<${Field} id=${`${id}${prefix}`} name="reason" label=${t("catReason")} maxlength="500" error=${form.errors.reason} />`;
  return html`<details class="admin" data-admin="item" open=${open}><summary>${t("catManage")}</summary>
    <form novalidate data-form="edit" onSubmit=${update(edit, edited, () => t("catSaved"))}>
      <h3>${t("catEdit")}</h3>
      <${Field} id=${`${id}e`} name="title" label=${t("catF_title")} maxlength="100" required defaultValue=${item.title} error=${edit.errors.title} />
      <${Field} id=${`${id}e`} name="kind" label=${t("catF_kind")} options=${kinds()} defaultValue=${item.kind} error=${edit.errors.kind} />
      <${Field} id=${`${id}e`} name="costPoints" type="number" min="1" label=${t("catF_costPoints")} required defaultValue=${item.costPoints}
        error=${edit.errors.costPoints} />
      <${Field} id=${`${id}e`} name="district" label=${t("catF_district")} maxlength="50" defaultValue=${item.district || ""} error=${edit.errors.district} />
      <${Field} id=${`${id}e`} name="description" type="textarea" label=${t("catF_description")} maxlength="2000" defaultValue=${item.description}
        error=${edit.errors.description} />
      ${reason(edit, "e")}${edit.outcome}
      <button type="submit" disabled=${edit.busy}>${t("catSave")}</button></form>
    <form novalidate data-form="restock" onSubmit=${added}>
      <h3>${t("catRestock")}</h3>
      <${Field} id=${`${id}s`} name="units" type="number" min="1" step="1" label=${t("catF_units")} required error=${restock.errors.units} />
      ${reason(restock, "s")}${restock.outcome}
      <button type="submit" disabled=${restock.busy}>${t("catRestockSave")}</button></form>
    <form novalidate data-form="retire" onSubmit=${update(retire, () => ({ active: !item.active }), (s) => t(s.active ? "catOffered" : "catRetired"))}>
      <h3>${item.active ? t("catRetire") : t("catOffer")}</h3>
      ${reason(retire, "r")}${retire.outcome}
      <button type="submit" disabled=${retire.busy}>${item.active ? t("catRetireSave") : t("catOffer")}</button></form>
    <${History} item=${item} open=${open} version=${version} /></details>`;
}
