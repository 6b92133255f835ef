// Chinese first, English on request. t(key, params) fills {name} placeholders.
const zh = {
  brand: "同心志愿", skip: "跳到主要内容", lang: "English", langLabel: "切换到英文",
  navActivities: "活动", navHelp: "求助", navForum: "论坛", navMe: "我的", navHours: "时长审核",
  navLogin: "登录", navRegister: "注册", logout: "退出",
  live: "实时连接", offline: "连接中断，正在重连…",
  loading: "加载中…", empty: "暂无内容", retry: "重试", more: "加载更多",
  // auth
  login: "登录", register: "注册", phone: "手机号", password: "密码", realName: "真实姓名",
  idNumber: "身份证号", district: "所在区", consent: "我已阅读并同意志愿服务协议",
  displayName: "昵称（选填）", skills: "技能（逗号分隔，选填）",
  hintPhone: "11 位大陆手机号", hintPassword: "8–128 个字符", hintId: "18 位，末位可为 X",
  errPhone: "请输入以 1 开头的 11 位手机号", errPassword: "密码需 8–128 个字符",
  errIdFormat: "身份证号须为 17 位数字加校验位", errIdCheck: "身份证号校验位不正确",
  errIdBirth: "身份证号中的出生日期无效", errRequired: "此项必填", errConsent: "请先同意服务协议", errTaken: "该号码已注册，请直接登录",
  registered: "注册成功，已登录", loggedIn: "登录成功", noAccount: "还没有账号？去注册",
  // activities
  filters: "筛选", category: "类别", date: "开始日期不早于", openOnly: "只看有空位", nearMe: "我附近（5 公里）",
  apply: "应用筛选", anyDistrict: "全部", remaining: "剩余 {n} / {cap}", full: "满",
  waitlist: "候补 {n}/{limit}", signUp: "报名", cancelSignUp: "取消报名",
  signedUp: "报名成功", waitlisted: "已进入候补，第 {n} 位", cancelled: "已取消报名",
  reasonFULL: "名额和候补都已满", reasonOVERLAP: "与你已报名的活动时间冲突",
  reasonDEADLINE_PASSED: "报名已截止", reasonNOT_OPEN: "该活动当前不接受报名",
  reasonNOT_QUALIFIED: "不符合报名条件：{requirement}", needLogin: "请先登录",
  locating: "正在获取位置…", noLocation: "无法获取位置，已忽略“我附近”",
  activityCount: "共 {n} 个活动", hours: "{n} 小时",
  // me
  me: "我的", volunteerNumber: "志愿者编号", approvedHours: "已认证时长", star: "星级",
  points: "积分", issueCert: "开具志愿服务记录证明", certIssued: "证明编号 {serial}，验证码 {code}",
  mySignUps: "我的报名", teams: "我的队伍",
  // help
  helpRequests: "附近求助", callOuts: "紧急召集", coming: "我能到", cannot: "去不了",
  answered: "已回复", needed: "需要 {n} 人，已响应 {c} 人", newHelp: "新求助",
  // forum
  boards: "版块", threads: "帖子", search: "搜索论坛", searchBtn: "搜索", newThread: "发新帖",
  title: "标题", body: "内容", post: "发布", reply: "回复", replyBody: "回复内容",
  react: "回应", LIKE: "赞", THANKS: "感谢", HUG: "拥抱", report: "举报", reportReason: "举报理由",
  reported: "已举报，版主会处理", pin: "置顶", unpin: "取消置顶", lock: "锁定", unlock: "解锁",
  hide: "隐藏", restore: "恢复", postWithdrawn: "一条回复已被版主隐藏",
  threadWithdrawn: "此帖已被版主隐藏。", reportQueue: "举报队列", pinned: "置顶", locked: "已锁定",
  draftSaved: "草稿已保存", draftLocal: "草稿已存在本机，连接恢复后同步", draftRestored: "已恢复草稿",
  moderateReason: "处理原因", done: "已完成", replies: "{n} 条回复",
  // hours
  hoursQueue: "待审核时长", approve: "通过", reject: "驳回", rejectReason: "驳回原因",
  approved: "已通过", rejected: "已驳回", noAdminTeams: "你不是任何队伍的管理员",
  error: "出错了：{msg}",
};

const en = {
  brand: "Tongxin Volunteers", skip: "Skip to main content", lang: "中文", langLabel: "Switch to Chinese",
  navActivities: "Activities", navHelp: "Help", navForum: "Forum", navMe: "Me", navHours: "Hours review",
  navLogin: "Log in", navRegister: "Register", logout: "Log out",
  live: "Live", offline: "Connection lost, reconnecting…",
  loading: "Loading…", empty: "Nothing here yet", retry: "Retry", more: "Load more",
  login: "Log in", register: "Register", phone: "Mobile number", password: "Password", realName: "Legal name",
  idNumber: "Resident ID number", district: "District", consent: "I accept the volunteer service terms",
  displayName: "Display name (optional)", skills: "Skills (comma-separated, optional)",
  hintPhone: "11 digits, mainland mobile", hintPassword: "8–128 characters", hintId: "18 characters, last may be X",
  errPhone: "Enter an 11-digit mobile number starting with 1", errPassword: "Password must be 8–128 characters",
  errIdFormat: "ID must be 17 digits and a check character", errIdCheck: "The ID check character is wrong",
  errIdBirth: "The ID holds an impossible birth date", errRequired: "Required", errConsent: "Accept the terms first", errTaken: "Already registered; log in instead",
  registered: "Registered and logged in", loggedIn: "Logged in", noAccount: "No account? Register",
  filters: "Filters", category: "Category", date: "Starting on or after", openOnly: "Open slots only",
  nearMe: "Near me (5 km)", apply: "Apply", anyDistrict: "All", remaining: "{n} of {cap} left", full: "满 Full",
  waitlist: "Waitlist {n}/{limit}", signUp: "Sign up", cancelSignUp: "Cancel sign-up",
  signedUp: "Signed up", waitlisted: "Waitlisted, position {n}", cancelled: "Sign-up cancelled",
  reasonFULL: "Slots and waitlist are full", reasonOVERLAP: "Overlaps an activity you signed up for",
  reasonDEADLINE_PASSED: "Sign-up deadline has passed", reasonNOT_OPEN: "Not taking sign-ups",
  reasonNOT_QUALIFIED: "Not qualified: {requirement}", needLogin: "Log in first",
  locating: "Locating…", noLocation: "Location unavailable; ignoring “near me”",
  activityCount: "{n} activities", hours: "{n} h",
  me: "Me", volunteerNumber: "Volunteer number", approvedHours: "Approved hours", star: "Star level",
  points: "Points", issueCert: "Issue a service-record certificate", certIssued: "Certificate {serial}, code {code}",
  mySignUps: "My sign-ups", teams: "My teams",
  helpRequests: "Help requests near me", callOuts: "Call-outs", coming: "I'm coming", cannot: "Can't come",
  answered: "Answered", needed: "{n} needed, {c} coming", newHelp: "New",
  boards: "Boards", threads: "Threads", search: "Search the forum", searchBtn: "Search", newThread: "New thread",
  title: "Title", body: "Text", post: "Post", reply: "Reply", replyBody: "Your reply",
  react: "React", LIKE: "Like", THANKS: "Thanks", HUG: "Hug", report: "Report", reportReason: "Reason",
  reported: "Reported to the moderators", pin: "Pin", unpin: "Unpin", lock: "Lock", unlock: "Unlock",
  hide: "Hide", restore: "Restore", postWithdrawn: "A reply was hidden by a moderator",
  threadWithdrawn: "This thread was hidden by a moderator.", reportQueue: "Report queue", pinned: "Pinned", locked: "Locked",
  draftSaved: "Draft saved", draftLocal: "Draft kept on this device; syncs when back online",
  draftRestored: "Draft restored", moderateReason: "Reason", done: "Done", replies: "{n} replies",
  hoursQueue: "Hours awaiting review", approve: "Approve", reject: "Reject", rejectReason: "Reason",
  approved: "Approved", rejected: "Rejected", noAdminTeams: "You administer no team",
  error: "Error: {msg}",
};

const tables = { zh, en };
export let lang = localStorage.getItem("tx.lang") === "en" ? "en" : "zh";

export function setLang(value) {
  lang = value;
  localStorage.setItem("tx.lang", value);
  document.documentElement.lang = value === "en" ? "en" : "zh-CN";
}

export function t(key, params = {}) {
  const text = tables[lang][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

export function fmtDate(iso) {
  return new Date(iso).toLocaleString(lang === "en" ? "en-GB" : "zh-CN",
    { month: "numeric", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit" });
}
