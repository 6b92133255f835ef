// Strings of the time-bank catalogue's admin forms (#/bank, platform admins).
import { addStrings } from "../i18n.js";

addStrings({
  zh: {
    catNew: "添加兑换项目", catAdd: "添加", catAdded: "已添加“{title}”。", catManage: "管理", catRetiredBadge: "已下架",
    catEdit: "修改", catSave: "保存修改", catSaved: "已保存。", catRestock: "补充库存", catRestockSave: "补货",
    catRestocked: "已补货 {n} 件，现有库存 {stock}。", catF_units: "补货数量", catNotWhole: "“{field}”须为整数。",
    catRESTOCK: "补货", catRestockLine: "补货 {n} 件：库存 {before} → {after}", catRetire: "下架", catRetireSave: "下架",
    catRetired: "已下架，志愿者不再看到它。", catOffer: "重新上架", catOffered: "已重新上架。",
    catReason: "原因（选填，记入修改记录）", catHistory: "修改记录", catCREATE: "添加", catUPDATE: "修改",
    catReasonIs: "原因：{reason}", catAllDistricts: "全部", catActive: "在售", catInactive: "已下架",
    catF_title: "名称", catF_description: "说明", catF_kind: "类型", catF_costPoints: "所需积分", catF_stock: "库存",
    catF_district: "领取地点（区）", catF_active: "状态", catChange: "{field}：{before} → {after}", catJoin: "；",
  },
  en: {
    catNew: "Add to the catalogue", catAdd: "Add", catAdded: "Added “{title}”.", catManage: "Manage", catRetiredBadge: "Retired",
    catEdit: "Edit", catSave: "Save changes", catSaved: "Saved.", catRestock: "Restock", catRestockSave: "Add units",
    catRestocked: "Added {n}; {stock} in stock now.", catF_units: "Units to add", catNotWhole: "{field} must be a whole number.",
    catRESTOCK: "Restocked", catRestockLine: "Added {n}: stock {before} → {after}", catRetire: "Retire", catRetireSave: "Retire",
    catRetired: "Retired: volunteers no longer see it.", catOffer: "Offer again", catOffered: "Offered again.",
    catReason: "Reason (optional, kept in the history)", catHistory: "Edit history", catCREATE: "Added", catUPDATE: "Edited",
    catReasonIs: "Reason: {reason}", catAllDistricts: "All", catActive: "Offered", catInactive: "Retired",
    catF_title: "Name", catF_description: "Description", catF_kind: "Kind", catF_costPoints: "Points", catF_stock: "Stock",
    catF_district: "District to collect in", catF_active: "Status", catChange: "{field}: {before} → {after}", catJoin: "; ",
  },
});
