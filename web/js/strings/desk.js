// Strings of the service desk (#/desk).
import { addStrings } from "../i18n.js";

addStrings({
  zh: {
    deskIntro: "向平台工作人员或队伍管理员咨询，回复会实时出现在这里。", deskAsk: "发起咨询", deskTo: "咨询对象", deskPlatform: "平台客服",
    deskSubject: "主题", deskMessage: "问题描述", deskAttachments: "附件链接（选填）",
    deskAttachmentsHint: "http 或 https 链接，最多 5 个，用空格分隔", deskSend: "发送", deskMine: "我的咨询",
    deskQueuePlatform: "待处理：平台咨询", deskQueueTeam: "待处理：{name}", deskStaff: "客服", deskBack: "← 返回在线客服",
    deskReply: "回复", deskResolve: "标记为已解决", deskDue: "首次回复时限 {at}", slaBreached: "已超时", ticketOPEN: "待客服回复",
    ticketWAITING_FOR_USER: "待用户回复", ticketRESOLVED: "已解决",
  },
  en: {
    deskIntro: "Ask the platform staff or a team's admins; their answers appear here live.",
    deskAsk: "Ask a question", deskTo: "Ask", deskPlatform: "Platform staff", deskSubject: "Subject",
    deskMessage: "Your question", deskAttachments: "Attachment links (optional)",
    deskAttachmentsHint: "http or https links, at most 5, separated by spaces", deskSend: "Send",
    deskMine: "My questions", deskQueuePlatform: "Queue: platform", deskQueueTeam: "Queue: {name}",
    deskStaff: "staff", deskBack: "← Back to the service desk", deskReply: "Reply", deskResolve: "Mark resolved",
    deskDue: "first reply due {at}", slaBreached: "overdue", ticketOPEN: "Waiting for staff",
    ticketWAITING_FOR_USER: "Waiting for you", ticketRESOLVED: "Resolved",
  },
});
