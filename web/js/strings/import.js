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
    impQUEUED: "排队中", impRUNNING: "导入中", impDONE: "已完成", impFAILED: "失败", impCANCELLED: "已取消",
    impCancel: "取消导入", impCancelYes: "确认取消导入", impCancelNo: "继续导入", impCancelledBy: "{name} 取消了导入", impCancelledNote: "导入已取消：读取了 {read} 行，其后的行没有导入。",
    impCancelAsk: "取消后，其余的行不再导入；已导入的 {n} 人保留（待本人认领账号）。取消后不能恢复，如需导入其余的行，请重新上传文件。",
    col_name: "姓名", col_phone: "手机号", col_id_number: "身份证号", col_district: "所属区", col_team: "队伍", col_skills: "技能",
  },
  en: {
    impIntro: "Upload a CSV (UTF-8) or XLSX roster with Chinese or English headers: name, phone, ID number and district are required, team and skills optional. Imported people sign in once they claim their account.",
    impFile: "Roster file", impUpload: "Upload and import", impUploading: "Uploading…", impChoose: "Choose a file first.",
    impProgress: "Import progress", impRows: "{read} of {total} rows read", impRowsOpen: "{read} rows read",
    impRead: "Read", impImported: "Imported", impRejected: "Not imported", impErrors: "Rows not imported", impRow: "Row", impColumn: "Column",
    impCode: "Code", impMessage: "Reason", impMore: "Load more", impDownload: "Download the rows not imported (CSV)", impRecent: "Recent imports",
    impAdminsOnly: "Only platform admins import volunteers.", impNone: "Every row was imported.", impBy: "uploaded by {name}",
    impQUEUED: "Queued", impRUNNING: "Importing", impDONE: "Done", impFAILED: "Failed", impCANCELLED: "Cancelled",
    impCancel: "Cancel import", impCancelYes: "Yes, cancel the import", impCancelNo: "Keep importing", impCancelledBy: "cancelled by {name}", impCancelledNote: "The import was cancelled after {read} rows; the rows after them were not imported.",
    impCancelAsk: "The remaining rows will not be imported; the {n} people already imported stay (until they claim their accounts). This cannot be undone: to import the remaining rows, upload the file again.",
    col_name: "Name", col_phone: "Phone", col_id_number: "ID number", col_district: "District", col_team: "Team", col_skills: "Skills",
  },
});
