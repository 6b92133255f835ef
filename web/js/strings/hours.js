// Strings of the hours review page (#/hours, issue 26): the status tabs, a decision with adjusted
// hours or a reason, changing a decision (改判) or approved hours (调整时长), and a record's audit trail.
import { addStrings } from "../i18n.js";

addStrings({
  zh: {
    reviewStatus: "审核状态", reviewPENDING: "待审核", reviewAPPROVED: "已通过", reviewREJECTED: "未通过",
    hoursToApprove: "认定时长（小时）", decisionReason: "原因（驳回或改动时长时必填）", changeReason: "改判原因（必填）",
    claimedHours: "申报 {n}\u00a0小时", decidedAPPROVED: "已通过 · {n}\u00a0小时", decidedREJECTED: "未通过",
    changeDecision: "改判", approveInstead: "改为通过", rejectInstead: "改为未通过",
    hoursToAdjust: "调整为（小时）", adjustHours: "调整时长", hoursUnchanged: "与已通过的时长相同，无需调整",
    reasonRequired: "驳回时请填写原因", reasonToAdjust: "改动时长时请填写原因", reasonToChange: "改判时请填写原因",
    hoursRange: "时长须大于 0，且不超过活动时长（{n}\u00a0小时）",
    approvedAdjusted: "已按 {n}\u00a0小时通过", nowApproved: "已改为通过（{n}\u00a0小时）", nowRejected: "已改为未通过，时长不再计入",
    nowAdjusted: "时长已调整为 {n}\u00a0小时",
    auditTrail: "审核记录", auditSystem: "系统", auditReason: "原因：{reason}",
    auditCLAIM: "签退申报", auditCLOSE_OUT: "组织者代为签退", auditOFFLINE_CLAIM: "离线签退上传", auditAUTO_CLOSE: "系统自动签退",
    auditAPPROVE: "通过", auditADJUST: "调整时长后通过", auditREJECT: "驳回",
  },
  en: {
    reviewStatus: "Review status", reviewPENDING: "Pending", reviewAPPROVED: "Approved", reviewREJECTED: "Rejected",
    hoursToApprove: "Hours to approve", decisionReason: "Reason (required to reject or to change the hours)",
    changeReason: "Reason for the change (required)",
    claimedHours: "claimed {n}\u00a0h", decidedAPPROVED: "Approved · {n}\u00a0h", decidedREJECTED: "Rejected",
    changeDecision: "Change the decision", approveInstead: "Approve instead", rejectInstead: "Reject instead",
    hoursToAdjust: "Change the hours to", adjustHours: "Change the hours", hoursUnchanged: "These are the hours already approved",
    reasonRequired: "A reason is required to reject", reasonToAdjust: "A reason is required to change the hours",
    reasonToChange: "A reason is required to change a decision",
    hoursRange: "Hours must be more than 0 and at most the activity's length ({n}\u00a0h)",
    approvedAdjusted: "Approved at {n}\u00a0h", nowApproved: "Now approved ({n}\u00a0h)", nowRejected: "Now rejected; the hours no longer count",
    nowAdjusted: "Hours changed to {n}\u00a0h",
    auditTrail: "Audit trail", auditSystem: "System", auditReason: "Reason: {reason}",
    auditCLAIM: "Claimed at check-out", auditCLOSE_OUT: "Checked out by the organiser", auditOFFLINE_CLAIM: "Offline check-out uploaded",
    auditAUTO_CLOSE: "Closed by the system", auditAPPROVE: "Approved", auditADJUST: "Approved with adjusted hours", auditREJECT: "Rejected",
  },
});
