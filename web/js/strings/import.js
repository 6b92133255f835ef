// Strings of the volunteer import (#/import).
import { addStrings } from "../i18n.js";

addStrings({
  zh: {
    impIntro: "上传 CSV（UTF-8）或 XLSX 名册，表头可用中文或英文：姓名、手机号、身份证号、所属区为必填，队伍、技能选填。导入的人员需自行认领账号后才能登录。",
    impFile: "名册文件", impUpload: "上传并导入", impUploading: "正在上传…", impChoose: "请先选择文件。",
    impProgress: "导入进度", impRows: "已读取 {read} / {total} 行", impRowsOpen: "已读取 {read} 行",
    impRead: "已读取", impImported: "已导入", impRejected: "未导入", impErrors: "未导入的行", impRow: "行号", impColumn: "列",
    impCode: "代码", impMessage: "原因", impMore: "加载更多", impDownload: "下载未导入的行（CSV）", impRecent: "最近的导入",
    impAdminsOnly: "只有平台管理员可以导入志愿者。", impNone: "没有未导入的行。", impBy: "{name} 上传",
    impQUEUED: "排队中", impRUNNING: "导入中", impDONE: "已完成", impFAILED: "失败",
    col_name: "姓名", col_phone: "手机号", col_id_number: "身份证号", col_district: "所属区", col_team: "队伍", col_skills: "技能",
  },
  en: {
    impIntro: "Upload a CSV (UTF-8) or XLSX roster with Chinese or English headers: name, phone, ID number and district are required, team and skills optional. Imported people sign in once they claim their account.",
    impFile: "Roster file", impUpload: "Upload and import", impUploading: "Uploading…", impChoose: "Choose a file first.",
    impProgress: "Import progress", impRows: "{read} of {total} rows read", impRowsOpen: "{read} rows read",
    impRead: "Read", impImported: "Imported", impRejected: "Not imported", impErrors: "Rows not imported", impRow: "Row", impColumn: "Column",
    impCode: "Code", impMessage: "Reason", impMore: "Load more", impDownload: "Download the rows not imported (CSV)", impRecent: "Recent imports",
    impAdminsOnly: "Only platform admins import volunteers.", impNone: "Every row was imported.", impBy: "uploaded by {name}",
    impQUEUED: "Queued", impRUNNING: "Importing", impDONE: "Done", impFAILED: "Failed",
    col_name: "Name", col_phone: "Phone", col_id_number: "ID number", col_district: "District", col_team: "Team", col_skills: "Skills",
  },
});
