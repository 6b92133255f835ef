// Strings of the project library's organiser forms (#/projects): a project, a post (岗位),
// a series of shifts and its extension.
import { addStrings } from "../i18n.js";

addStrings({
  zh: {
    prjNew: "新建项目", prjTeam: "所属队伍", prjName: "项目名称", prjCategory: "类别（如 助老、文明交通）",
    prjDistrict: "服务的区", prjDescription: "项目介绍（选填）", prjCreate: "创建项目", prjCreated: "项目“{name}”已创建",
    posNew: "添加岗位", posName: "岗位名称", posCapacity: "每班人数", posAddress: "地点（选填）",
    posAdd: "添加岗位", posAdded: "岗位“{name}”已添加",
    serNew: "按此岗位排班", serFrequency: "重复方式", serWEEKLY: "每周", serMONTHLY: "每月",
    serWeekdays: "每周的哪几天", serDayOfMonth: "每月几号（没有这一天的月份跳过）",
    serStartTime: "开始时间（北京时间）", serDuration: "每班时长（分钟，15–1440）",
    serFirstDate: "第一天", serLastDate: "最后一天（不超过第一天后 366 天）",
    serPublish: "立即发布（不勾选则生成草稿）", serSchedule: "生成班次",
    serCreated: "已生成 {n} 个活动", serSeries: "排班",
    serWeekly: "每周{days} {time} 起，每班 {minutes} 分钟", serMonthly: "每月 {day} 日 {time} 起，每班 {minutes} 分钟",
    serSpan: "{first} 至 {last}", serNewLast: "延长到（新的最后一天）", serExtend: "延长排班",
    serExtended: "已延长，新增 {n} 个活动", serDraft: "草稿",
  },
  en: {
    prjNew: "New project", prjTeam: "Team", prjName: "Project name", prjCategory: "Category (e.g. elderly care, traffic)",
    prjDistrict: "District served", prjDescription: "Description (optional)", prjCreate: "Create the project", prjCreated: "Project “{name}” created",
    posNew: "Add a position", posName: "Position name", posCapacity: "Volunteers per shift", posAddress: "Address (optional)",
    posAdd: "Add the position", posAdded: "Position “{name}” added",
    serNew: "Schedule shifts for this position", serFrequency: "Repeats", serWEEKLY: "Weekly", serMONTHLY: "Monthly",
    serWeekdays: "On these days", serDayOfMonth: "Day of the month (months without it are skipped)",
    serStartTime: "Start time (Beijing time)", serDuration: "Length of each shift (minutes, 15–1440)",
    serFirstDate: "First date", serLastDate: "Last date (at most 366 days after the first)",
    serPublish: "Publish now (otherwise drafts)", serSchedule: "Create the shifts",
    serCreated: "{n} activities created", serSeries: "Series",
    serWeekly: "{days} from {time}, {minutes} min each", serMonthly: "Day {day} of each month from {time}, {minutes} min each",
    serSpan: "{first} to {last}", serNewLast: "Extend to (new last date)", serExtend: "Extend the series",
    serExtended: "Extended: {n} activities created", serDraft: "Draft",
  },
});
