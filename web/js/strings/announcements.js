// Strings of the announcements page (#/announcements): the list, and the organisers' form,
// drafts and pinning.
import { addStrings } from "../i18n.js";

addStrings({
  zh: {
    annWrite: "写公告", annScope: "发布范围", annPlatform: "全平台（所有志愿者）", annTitle: "标题", annBody: "正文",
    annAttachments: "附件链接（选填，每行一个 http(s) 链接）", annPinNew: "置顶",
    annSaveDraft: "存为草稿", annPublishNow: "立即发布", annDrafted: "已存为草稿：“{title}”",
    annPublished: "已发布：“{title}”", annPinnedDone: "已置顶：“{title}”", annUnpinnedDone: "已取消置顶：“{title}”",
    annDrafts: "我的草稿", annDraftBadge: "草稿", annPlatformBadge: "平台公告", annPublish: "发布",
    annAttachment: "附件 {n}", annWrittenAt: "{date} 创建", annDraftsNote: "草稿只有可以发布它的管理员能看到。",
  },
  en: {
    annWrite: "Write an announcement", annScope: "Audience", annPlatform: "The whole platform (every volunteer)", annTitle: "Title", annBody: "Text",
    annAttachments: "Attachment links (optional, one http(s) link a line)", annPinNew: "Pin to the top",
    annSaveDraft: "Save as draft", annPublishNow: "Publish now", annDrafted: "Saved as a draft: “{title}”",
    annPublished: "Published: “{title}”", annPinnedDone: "Pinned: “{title}”", annUnpinnedDone: "Unpinned: “{title}”",
    annDrafts: "My drafts", annDraftBadge: "Draft", annPlatformBadge: "Platform", annPublish: "Publish",
    annAttachment: "Attachment {n}", annWrittenAt: "written {date}", annDraftsNote: "Only the admins who may publish a draft see it.",
  },
});
