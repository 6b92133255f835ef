// Strings of the chat room (#/chat/<room>): photo links, the mention picker, moderation.
import { addStrings } from "../i18n.js";

addStrings({
  zh: {
    chatSend: "发送", chatPhotos: "照片链接（选填）", chatPhotosHint: "http 或 https 链接，最多 9 个，用空格分隔", chatPhoto: "照片 {n}",
    chatPhotosBad: "照片链接须以 http:// 或 https:// 开头，最多 9 个", chatMentionHint: "输入 @ 可提到群里的人，对方会收到通知",
    chatMentions: "可以提到的人", chatDelete: "删除", chatMute: "禁言", chatReason: "原因", chatDuration: "禁言时长",
    chatH1: "1 小时", chatD1: "1 天", chatD7: "7 天", chatD30: "30 天", chatUnmute: "解除禁言", chatCancel: "取消",
    chatDeleteOf: "删除 {name} 的消息", chatMuteOf: "禁言 {name}", chatDeleted: "消息已删除",
    chatMutedDone: "已禁言 {name}，至 {at}", chatUnmutedDone: "已解除 {name} 的禁言",
    chatMutedMe: "你已被禁言，至 {at}，期间可以看消息但不能发言",
  },
  en: {
    chatSend: "Send", chatPhotos: "Photo links (optional)", chatPhotosHint: "http or https links, at most 9, separated by spaces",
    chatPhoto: "Photo {n}", chatPhotosBad: "Photo links start with http:// or https://, at most 9",
    chatMentionHint: "Type @ to mention someone in the room; they are notified", chatMentions: "People to mention",
    chatDelete: "Delete", chatMute: "Mute", chatReason: "Reason", chatDuration: "Mute for", chatH1: "1 hour",
    chatD1: "1 day", chatD7: "7 days", chatD30: "30 days", chatUnmute: "Unmute", chatCancel: "Cancel",
    chatDeleteOf: "Delete {name}'s message", chatMuteOf: "Mute {name}", chatDeleted: "Message deleted",
    chatMutedDone: "{name} is muted until {at}", chatUnmutedDone: "{name} may post again",
    chatMutedMe: "You are muted until {at}: you can read but not post",
  },
});
