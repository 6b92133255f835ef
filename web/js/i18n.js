// Chinese first, English on request. t(key, params) fills {name} placeholders.
const zh = {
  brand: "同心志愿", skip: "跳到主要内容", lang: "English",
  navActivities: "活动", navHelp: "求助", navForum: "论坛", navMe: "我的", navHours: "时长审核",
  navLogin: "登录", navRegister: "注册", logout: "退出",
  live: "实时连接", offline: "连接中断，正在重连…",
  // chat, stations, insurance (issue 31)
  navChat: "群聊", chatTEAM: "队伍", chatACTIVITY: "活动", chatMessage: "消息",
  navStations: "服务站", stWeekdays: "周一,周二,周三,周四,周五,周六,周日", stOperating: "运营中", stClosed: "未运营", stRate: "运营率",
  stBy: "按", stByWEEK: "周", stByDISTRICT: "区", stByTEAM: "队伍", stBySTATION: "服务站", stByCITY: "全市",
  stTarget: "目标 {p}（值守时段 ÷ 开放时段）", stScheduled: "开放时段", stStaffed: "值守时段", stBelow: "未达标",
  insUncovered: "未投保的班次", insNo: "未投保", insYes: "已投保", insRoster: "投保名单",
  loading: "加载中…", empty: "暂无内容", retry: "重试", more: "加载更多",
  // auth
  login: "登录", register: "注册", phone: "手机号", password: "密码", realName: "真实姓名",
  idNumber: "身份证号", district: "所在区", consent: "我已阅读并同意志愿服务协议",
  displayName: "昵称（选填）", skills: "技能（逗号分隔，选填）",
  hintPhone: "11 位大陆手机号", hintPassword: "8–128 个字符", hintId: "18 位，末位可为 X",
  errPhone: "请输入以 1 开头的 11 位手机号", errPassword: "密码需 8–128 个字符",
  errIdFormat: "身份证号须为 17 位数字加校验位", errIdCheck: "身份证号校验位不正确",
  errIdBirth: "身份证号中的出生日期无效", errRequired: "此项必填", errConsent: "请先同意服务协议", errTaken: "该号码已注册，请直接登录",
  registeredToast: "注册成功，已登录", loggedIn: "登录成功", noAccount: "还没有账号？去注册",
  // activities
  filters: "筛选", category: "类别", date: "开始日期不早于", openOnly: "只看有空位", nearMe: "我附近（5 公里）",
  apply: "应用筛选", anyDistrict: "全部", remaining: "剩余 {n} / {cap}", full: "满",
  waitlist: "候补 {n}/{limit}", signUp: "报名", cancelSignUp: "取消报名",
  signedUp: "报名成功", waitlisted: "已进入候补，第 {n} 位", cancelled: "已取消报名",
  reasonFULL: "名额和候补都已满", reasonOVERLAP: "与你已报名的活动时间冲突",
  reasonDEADLINE_PASSED: "报名已截止", reasonNOT_OPEN: "该活动当前不接受报名",
  reasonNOT_QUALIFIED: "不符合报名条件：{requirement}", needLogin: "请先登录",
  locating: "正在获取位置…", noLocation: "无法获取位置，已忽略“我附近”",
  activityCount: "共 {n} 个活动", hours: "{n}\u00a0小时",
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
  approve: "通过", reject: "驳回", approved: "已通过", rejected: "已驳回", noAdminTeams: "你不是任何队伍的管理员",
  error: "出错了：{msg}",
  // shared
  statusCONFIRMED: "已报名", statusWAITLISTED: "候补中", statusOFFERED: "名额保留中", statusCANCELLED: "已取消",
  waitPos: "候补第 {n} 位", offerUntil: "空出的名额为你保留到 {time}，请确认", acceptOffer: "确认参加", declineOffer: "放弃名额",
  offerAccepted: "已确认参加", offerDeclined: "已放弃名额", checkedIn: "已签到 {time}",
  details: "查看详情", backToList: "返回活动列表", organiser: "组织队伍", place: "地点", time: "时间",
  requirements: "报名条件", noRequirements: "无特殊要求，任何人都可报名", minimumAge: "年满 {n} 岁",
  qualification: "资质：{q}", skillsWanted: "需要技能", description: "活动介绍", experiences: "志愿心得",
  deadline: "报名截止 {time}", statusLabel: "活动状态", ACT_DRAFT: "草稿", ACT_PUBLISHED: "报名中", ACT_FINISHED: "已结束", ACT_CANCELLED: "已取消",
  moreShifts: "另有 {n} 个班次", otherShifts: "其他班次", share: "复制链接", copied: "链接已复制",
  notFound: "找不到这个活动（可能已删除，或你无权查看）", mySignUpState: "我的报名",
  // errors by code
  codeUNAUTHENTICATED: "请先登录", codeFORBIDDEN: "你没有权限进行这个操作", codeNOT_FOUND: "找不到该内容",
  codeBAD_USER_INPUT: "填写的内容有误，请检查", codeBAD_USER_INPUTfield: "“{field}”填写有误，请检查",
  codeCONFLICT: "操作与当前状态冲突，请刷新后重试", codeRATE_LIMITED: "操作太频繁，请稍后再试",
  codeINTERNAL: "服务器出错了，请稍后再试", codeQUERY_TOO_COMPLEX: "请求过于复杂", codeNETWORK: "网络连接失败，请检查网络后重试",
  codeLOGIN: "手机号或密码不正确",
  // help
  postHelp: "发布求助", helpTitle: "求助标题", helpDescription: "需要什么帮助", address: "详细地址（选填）",
  urgency: "紧急程度", LOW: "不急", NORMAL: "一般", URGENT: "紧急", helpPosted: "求助已发布", claim: "我来帮忙",
  claimed: "已认领，感谢你的帮助", claimedBy: "{name} 已认领", mine: "我发布的", helpLogin: "登录后可查看附近的求助、发布求助和认领求助。",
  // first run, terms
  welcome: "欢迎加入同心志愿！", welcomeLead: "接下来可以这样开始：",
  step1: "浏览活动，挑一个时间合适的报名", step2: "在“求助”里看看邻居需要什么帮助", step3: "去论坛认识其他志愿者",
  step4: "参加活动后签到，时长审核通过后会计入“已认证时长”",
  terms: "志愿服务协议", readTerms: "查看《志愿服务协议》",
  termsText: "一、志愿者应遵守法律法规，自愿、无偿提供志愿服务。二、平台依法收集实名信息（姓名、身份证号、手机号），仅用于身份核验、服务记录与证明开具，不向无关方公开。三、报名后如不能参加，请及时取消，以便名额留给候补的志愿者。四、服务时长以组织方审核为准。五、志愿者可随时申请注销账号。",
  checkInCode: "签到码", checkIn: "签到", youLack: "你还不符合：{what}", youMeet: "你符合全部报名条件", manageThis: "管理此活动",
  navManage: "组织管理", startsAtBj: "开始时间（北京时间）", endsAtBj: "结束时间（北京时间）", capacity: "名额", hoursCredit: "志愿时长（小时）",
  newActivity: "新建活动", createDraft: "保存为草稿", marked: "已为 {name} 签到", markPresent: "标记到场", markFailed: "未能签到（{outcome}）",
  exportXlsx: "导出名单（Excel）", periodFrom: "从", periodTo: "至", exportHoursCsv: "导出时长（CSV）", exportHoursXlsx: "导出时长（Excel）",
  roster: "报名名单", rosterCounts: "已报名 {c} / {cap}，候补 {w}，保留中 {o}", exportCsv: "导出名单（CSV）",
  offerHeldUntil: "名额保留至 {time}", sendCallOut: "发出紧急召集", callMessage: "召集内容", callNeeded: "需要人数",
  callAnswers: "已发出：需要 {n} 人，{c} 人能到，{x} 人去不了", saved: "已保存", cancelReasonRequired: "取消活动时请填写原因",
  activityCancelled: "活动已取消，已报名的志愿者会收到通知", publicPage: "公开页面", published: "已发布，志愿者现在可以报名", publish: "发布活动",
  codeHint: "志愿者到场后在活动页面输入此签到码", editActivity: "编辑活动", save: "保存", qualificationsList: "所需资质（用顿号分隔）",
  minimumAgeLabel: "最低年龄（选填）", cancelActivity: "取消活动", cancelReason: "取消原因",
  membersAndApplications: "成员 {m} 人 · 入队申请 {a} 个", applications: "入队申请", members: "成员", decline: "拒绝",
  applicantApproved: "已同意 {name} 入队", applicantDeclined: "已拒绝 {name} 的申请",
  moderationLog: "处理记录", modHIDE: "隐藏", modRESTORE: "恢复", modPIN: "置顶", modUNPIN: "取消置顶", modLOCK: "锁定",
  modUNLOCK: "解锁", modMOVE: "移动", modSUSPEND_USER: "暂停发言",
  navHonours: "荣誉榜", leaderboard: "时长排行", period: "时间范围", periodWEEK: "本周", periodMONTH: "本月", periodYEAR: "今年",
  periodALL_TIME: "全部", byTeams: "按队伍排行", myHonours: "我的荣誉", awards: "表彰项目", awardRule: "时长满 {h} 小时、{s} 星以上",
  nominationNOMINATED: "已提名", nominationAWARDED: "已授予", nominationDECLINED: "未通过",
  navProjects: "项目", navPoints: "服务阵地", perShift: "每班 {n} 人", remainingShort: "剩余 {n}", positions: "岗位",
  projectStats: "已开展 {a} 次活动 · 服务 {v} 人次 · {h} 小时", walkMinutes: "步行约 {n} 分钟", openingHours: "开放时间",
  mainNav: "主导航", navAnnouncements: "公告", navFeed: "动态", feedActivity: "新活动", feedAnnouncement: "公告", feedExperiencePost: "志愿心得", feedHelpRequest: "求助", feedPost: "回复",
  writeExperience: "写志愿心得", postPublished: "已发布",
  mySchedule: "我的日程", scheduleOffered: "名额保留中（请尽快确认）", scheduleUpcoming: "即将参加", schedulePast: "已参加",
  myHours: "我的时长", hoursPENDING: "待审核", hoursAPPROVED: "已通过", hoursREJECTED: "已驳回",
  navImport: "导入志愿者", navStats: "数据统计", dataTable: "查看数据表", registered: "注册志愿者", activeVolunteers: "活跃志愿者", teamCount: "队伍数",
  activityTotal: "活动数", registeredVsActive: "注册与活跃", pendingConsent: "待确认导入", people: "人数", byDistrict: "各区志愿者",
  byGender: "性别", byAgeBand: "年龄段", byTeamType: "队伍类型", hoursByMonth: "每月认证时长",
  genderMALE: "男", genderFEMALE: "女", teamCOMMUNITY: "社区", teamPARTY_MEMBER: "党员", teamCIVILIZATION_PRACTICE: "新时代文明实践",
  teamYOUTH: "青年", teamWOMEN: "巾帼", teamSELF_ORGANIZED: "自组织", teamPROFESSIONAL: "专业", teamEMERGENCY: "应急",
  navLearn: "培训", navBank: "爱心银行", navNotifications: "通知", unreadSuffix: " 条未读", unread: "未读",
  answerAll: "请回答所有题目", passScore: "{n} 分及格", submitQuiz: "交卷", quizPassed: "通过！得分 {score}，已获得资质：{q}",
  quizFailed: "未通过（得分 {score}），可以复习后再试", grants: "结业获得：{q}", validMonths: "有效期 {n} 个月",
  courseDone: "已结业", enrolled: "学习中", video: "视频", material: "资料", lessonDone: "已学完", markLessonDone: "标记为已学完",
  takeQuiz: "参加测验", enroll: "报名学习", myQualifications: "我的资质", validUntil: "有效期至 {date}", noExpiry: "长期有效",
  expired: "已过期", noQualifications: "还没有资质，完成下面的课程即可获得。", courses: "课程",
  redeemed: "已兑换：{title}（{n} 积分）", kindREWARD: "礼品", kindSERVICE: "服务", costPoints: "{n} 积分", stock: "库存 {n}",
  outOfStock: "已兑完", notEnoughPoints: "积分不足", redeem: "兑换", donated: "已捐赠 {n} 积分", myPoints: "我的积分",
  catalogue: "可兑换", donate: "捐赠积分", donatePoints: "捐赠积分数", donateNote: "留言（选填）", statement: "积分明细",
  entry: "事项", change: "变动", balance: "余额", pointsEARN: "服务获得", pointsREDEEM: "兑换", pointsDONATE_OUT: "捐出",
  pointsDONATE_IN: "受赠", pointsEXPIRE: "过期",
  verifyTitle: "证明验证", certNotFound: "没有这份证明（验证码不正确或已作废）", certificate: "志愿服务记录证明", serial: "证明编号", verifyAt: "验证链接", printCert: "打印", pdf: "PDF 版本",
  idMasked: "证件号码", certHours: "累计服务时长", issuer: "出具单位", issuedAt: "出具时间", superseded: "此证明已被新证明取代",
  firstRun: "下一步", noSignUpsYet: "你还没有报名任何活动。", goActivities: "去看看活动",
  navDesk: "在线客服", navMessages: "队伍消息",
};

const en = {
  brand: "Tongxin Volunteers", skip: "Skip to main content", lang: "中文",
  navActivities: "Activities", navHelp: "Help", navForum: "Forum", navMe: "Me", navHours: "Hours review",
  navLogin: "Log in", navRegister: "Register", logout: "Log out",
  live: "Live", offline: "Connection lost, reconnecting…",
  navChat: "Chat", chatTEAM: "team", chatACTIVITY: "activity", chatMessage: "Message",
  navStations: "Stations", stWeekdays: "Mon,Tue,Wed,Thu,Fri,Sat,Sun", stOperating: "Operating", stClosed: "Not operating", stRate: "Operating rate",
  stBy: "By", stByWEEK: "Week", stByDISTRICT: "District", stByTEAM: "Team", stBySTATION: "Station", stByCITY: "City",
  stTarget: "Target {p} (staffed ÷ scheduled slots)", stScheduled: "Scheduled", stStaffed: "Staffed", stBelow: "below target",
  insUncovered: "Uncovered shifts", insNo: "not insured", insYes: "insured", insRoster: "Insurer rosters",
  loading: "Loading…", empty: "Nothing here yet", retry: "Retry", more: "Load more",
  login: "Log in", register: "Register", phone: "Mobile number", password: "Password", realName: "Legal name",
  idNumber: "Resident ID number", district: "District", consent: "I accept the volunteer service terms",
  displayName: "Display name (optional)", skills: "Skills (comma-separated, optional)",
  hintPhone: "11 digits, mainland mobile", hintPassword: "8–128 characters", hintId: "18 characters, last may be X",
  errPhone: "Enter an 11-digit mobile number starting with 1", errPassword: "Password must be 8–128 characters",
  errIdFormat: "ID must be 17 digits and a check character", errIdCheck: "The ID check character is wrong",
  errIdBirth: "The ID holds an impossible birth date", errRequired: "Required", errConsent: "Accept the terms first", errTaken: "Already registered; log in instead",
  registeredToast: "Registered and logged in", loggedIn: "Logged in", noAccount: "No account? Register",
  filters: "Filters", category: "Category", date: "Starting on or after", openOnly: "Open slots only",
  nearMe: "Near me (5 km)", apply: "Apply", anyDistrict: "All", remaining: "{n} of {cap} left", full: "满 Full",
  waitlist: "Waitlist {n}/{limit}", signUp: "Sign up", cancelSignUp: "Cancel sign-up",
  signedUp: "Signed up", waitlisted: "Waitlisted, position {n}", cancelled: "Sign-up cancelled",
  reasonFULL: "Slots and waitlist are full", reasonOVERLAP: "Overlaps an activity you signed up for",
  reasonDEADLINE_PASSED: "Sign-up deadline has passed", reasonNOT_OPEN: "Not taking sign-ups",
  reasonNOT_QUALIFIED: "Not qualified: {requirement}", needLogin: "Log in first",
  locating: "Locating…", noLocation: "Location unavailable; ignoring “near me”",
  activityCount: "{n} activities", hours: "{n}\u00a0h",
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
  approve: "Approve", reject: "Reject", approved: "Approved", rejected: "Rejected", noAdminTeams: "You administer no team",
  error: "Error: {msg}",
  statusCONFIRMED: "Signed up", statusWAITLISTED: "Waitlisted", statusOFFERED: "Place held for you", statusCANCELLED: "Cancelled",
  waitPos: "Waitlist position {n}", offerUntil: "A freed place is held for you until {time}; please confirm", acceptOffer: "Take the place", declineOffer: "Give it up",
  offerAccepted: "You are in", offerDeclined: "Place given up", checkedIn: "Checked in {time}",
  details: "Details", backToList: "Back to activities", organiser: "Organising team", place: "Place", time: "Time",
  requirements: "Requirements", noRequirements: "None: anyone may sign up", minimumAge: "Aged {n} or over",
  qualification: "Qualification: {q}", skillsWanted: "Skills wanted", description: "About", experiences: "Experience posts",
  deadline: "Sign-ups close {time}", statusLabel: "Status", ACT_DRAFT: "Draft", ACT_PUBLISHED: "Open", ACT_FINISHED: "Finished", ACT_CANCELLED: "Cancelled",
  moreShifts: "{n} more shifts", otherShifts: "Other shifts", share: "Copy link", copied: "Link copied",
  notFound: "No such activity (deleted, or not visible to you)", mySignUpState: "My sign-up",
  codeUNAUTHENTICATED: "Log in first", codeFORBIDDEN: "You are not allowed to do that", codeNOT_FOUND: "Not found",
  codeBAD_USER_INPUT: "Please check what you entered", codeBAD_USER_INPUTfield: "Please check “{field}”",
  codeCONFLICT: "That conflicts with the current state; reload and try again", codeRATE_LIMITED: "Too many attempts; try again later",
  codeINTERNAL: "Server error; try again later", codeQUERY_TOO_COMPLEX: "Request too complex", codeNETWORK: "Network error; check the connection",
  codeLOGIN: "Wrong phone number or password",
  postHelp: "Ask for help", helpTitle: "Title", helpDescription: "What do you need", address: "Address (optional)",
  urgency: "Urgency", LOW: "Low", NORMAL: "Normal", URGENT: "Urgent", helpPosted: "Request posted", claim: "I'll help",
  claimed: "Claimed; thank you", claimedBy: "Claimed by {name}", mine: "Mine", helpLogin: "Log in to see help requests near you, post one or claim one.",
  welcome: "Welcome to Tongxin!", welcomeLead: "Here is how to start:",
  step1: "Browse activities and sign up for one that fits", step2: "See what neighbours need under Help", step3: "Meet other volunteers in the forum",
  step4: "Check in on site; approved hours count towards your record",
  terms: "Volunteer service terms", readTerms: "Read the service terms",
  termsText: "1. Volunteers obey the law and serve voluntarily and unpaid. 2. Real-name data (name, ID number, phone) is collected only for identity checks, service records and certificates, and is not disclosed to unrelated parties. 3. If you cannot attend, cancel in time so the place goes to the waitlist. 4. Hours count once the organiser approves them. 5. You may close your account at any time.",
  checkInCode: "Check-in code", checkIn: "Check in", youLack: "You do not yet meet: {what}", youMeet: "You meet every requirement", manageThis: "Manage this activity",
  navManage: "Organise", startsAtBj: "Start (Beijing time)", endsAtBj: "End (Beijing time)", capacity: "Places", hoursCredit: "Hours credited",
  newActivity: "New activity", createDraft: "Save as draft", marked: "{name} checked in", markPresent: "Mark present", markFailed: "Not checked in ({outcome})",
  exportXlsx: "Download roster (Excel)", periodFrom: "From", periodTo: "To", exportHoursCsv: "Download hours (CSV)", exportHoursXlsx: "Download hours (Excel)",
  roster: "Roster", rosterCounts: "{c} / {cap} signed up, {w} waitlisted, {o} held", exportCsv: "Download roster (CSV)",
  offerHeldUntil: "place held until {time}", sendCallOut: "Send a call-out", callMessage: "Message", callNeeded: "People needed",
  callAnswers: "Sent: {n} needed, {c} coming, {x} can't", saved: "Saved", cancelReasonRequired: "A reason is required to cancel",
  activityCancelled: "Cancelled; everyone signed up is notified", publicPage: "Public page", published: "Published: volunteers can sign up", publish: "Publish",
  codeHint: "Volunteers type this code on the activity page on site", editActivity: "Edit", save: "Save", qualificationsList: "Qualifications needed (comma-separated)",
  minimumAgeLabel: "Minimum age (optional)", cancelActivity: "Cancel the activity", cancelReason: "Reason",
  membersAndApplications: "{m} members · {a} applications", applications: "Applications", members: "Members", decline: "Decline",
  applicantApproved: "{name} joined the team", applicantDeclined: "{name}'s application declined",
  moderationLog: "Moderation log", modHIDE: "Hidden", modRESTORE: "Restored", modPIN: "Pinned", modUNPIN: "Unpinned", modLOCK: "Locked",
  modUNLOCK: "Unlocked", modMOVE: "Moved", modSUSPEND_USER: "Suspended",
  navHonours: "Honours", leaderboard: "Leaderboard", period: "Period", periodWEEK: "This week", periodMONTH: "This month", periodYEAR: "This year",
  periodALL_TIME: "All time", byTeams: "Rank teams", myHonours: "My honours", awards: "Awards", awardRule: "{h} h and {s} stars or more",
  nominationNOMINATED: "Nominated", nominationAWARDED: "Awarded", nominationDECLINED: "Not awarded",
  navProjects: "Projects", navPoints: "Service points", perShift: "{n} per shift", remainingShort: "{n} left", positions: "Positions",
  projectStats: "{a} activities · {v} volunteers served · {h} h", walkMinutes: "about {n} min walk", openingHours: "Opening hours",
  mainNav: "Main", navAnnouncements: "Announcements", navFeed: "Feed", feedActivity: "New activity", feedAnnouncement: "Announcement", feedExperiencePost: "Experience", feedHelpRequest: "Help request", feedPost: "Reply",
  writeExperience: "Write about it", postPublished: "Published",
  mySchedule: "My schedule", scheduleOffered: "Places held for you (confirm soon)", scheduleUpcoming: "Upcoming", schedulePast: "Past",
  myHours: "My hours", hoursPENDING: "Pending review", hoursAPPROVED: "Approved", hoursREJECTED: "Rejected",
  navImport: "Import volunteers", navStats: "Statistics", dataTable: "Data table", registered: "Registered", activeVolunteers: "Active", teamCount: "Teams",
  activityTotal: "Activities", registeredVsActive: "Registered vs active", pendingConsent: "Imported, pending", people: "People", byDistrict: "By district",
  byGender: "Gender", byAgeBand: "Age band", byTeamType: "Team type", hoursByMonth: "Approved hours by month",
  genderMALE: "Male", genderFEMALE: "Female", teamCOMMUNITY: "Community", teamPARTY_MEMBER: "Party members", teamCIVILIZATION_PRACTICE: "Civilisation practice",
  teamYOUTH: "Youth", teamWOMEN: "Women", teamSELF_ORGANIZED: "Self-organised", teamPROFESSIONAL: "Professional", teamEMERGENCY: "Emergency",
  navLearn: "Training", navBank: "Time bank", navNotifications: "Notifications", unreadSuffix: " unread", unread: "Unread",
  answerAll: "Answer every question", passScore: "Pass mark {n}", submitQuiz: "Submit", quizPassed: "Passed with {score}; qualification granted: {q}",
  quizFailed: "Not passed ({score}); review and try again", grants: "Grants: {q}", validMonths: "valid {n} months",
  courseDone: "Completed", enrolled: "Enrolled", video: "Video", material: "Material", lessonDone: "Done", markLessonDone: "Mark as done",
  takeQuiz: "Take the quiz", enroll: "Enrol", myQualifications: "My qualifications", validUntil: "valid until {date}", noExpiry: "no expiry",
  expired: "expired", noQualifications: "No qualifications yet; complete a course below.", courses: "Courses",
  redeemed: "Redeemed: {title} ({n} points)", kindREWARD: "Reward", kindSERVICE: "Service", costPoints: "{n} points", stock: "{n} left",
  outOfStock: "Out of stock", notEnoughPoints: "Not enough points", redeem: "Redeem", donated: "Donated {n} points", myPoints: "My points",
  catalogue: "Catalogue", donate: "Donate points", donatePoints: "Points to donate", donateNote: "Note (optional)", statement: "Statement",
  entry: "Entry", change: "Change", balance: "Balance", pointsEARN: "Earned", pointsREDEEM: "Redeemed", pointsDONATE_OUT: "Donated",
  pointsDONATE_IN: "Received", pointsEXPIRE: "Expired",
  verifyTitle: "Certificate check", certNotFound: "No such certificate (wrong code, or withdrawn)", certificate: "Volunteer service record certificate", serial: "Serial number", verifyAt: "Verify at", printCert: "Print", pdf: "PDF",
  idMasked: "ID number", certHours: "Total service hours", issuer: "Issued by", issuedAt: "Issued", superseded: "Superseded by a newer certificate",
  firstRun: "Next steps", noSignUpsYet: "You have not signed up for anything yet.", goActivities: "Browse activities",
  navDesk: "Service desk", navMessages: "Team messages",
};

const tables = { zh, en };

// A page's own strings, added when its module loads (web/js/strings/), so the home page's first
// paint does not wait for every page's text.
export function addStrings(more) {
  Object.assign(zh, more.zh);
  Object.assign(en, more.en);
}
export let lang = localStorage.getItem("tx.lang") === "en" ? "en" : "zh";

const langListeners = new Set();
// Called after the language changes (ws.js reconnects so live updates speak it too).
export function onLang(fn) { langListeners.add(fn); return () => langListeners.delete(fn); }

export function setLang(value) {
  const changed = value !== lang;
  lang = value;
  localStorage.setItem("tx.lang", value);
  document.documentElement.lang = value === "en" ? "en" : "zh-CN";
  if (changed) langListeners.forEach((fn) => fn(value));
}

export function t(key, params = {}) {
  const text = tables[lang][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// Beijing time whatever the browser's zone (the deployment's zone: Asia/Shanghai).
export const ZONE = "Asia/Shanghai";
const formats = {};
function format(kind) {
  const key = `${lang}:${kind}`;
  if (!formats[key]) {
    const options = kind === "date" ? { year: "numeric", month: "numeric", day: "numeric", weekday: "short" }
      : kind === "time" ? { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
        : { month: "numeric", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    formats[key] = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", { timeZone: ZONE, ...options });
  }
  return formats[key];
}

export function fmtDate(iso) { return iso ? format("datetime").format(new Date(iso)) : ""; }
export function fmtTime(iso) { return iso ? format("time").format(new Date(iso)) : ""; }
export function fmtDay(iso) { return iso ? format("date").format(new Date(iso)) : ""; }
// "6月7日周日 07:30–11:30": a range on one day shows the day once.
export function fmtRange(start, end) {
  const sameDay = fmtDay(start) === fmtDay(end);
  return `${fmtDate(start)}–${sameDay ? fmtTime(end) : fmtDate(end)}`;
}
// The first instant of a Beijing calendar day (yyyy-mm-dd from a date input).
export function beijingDayStart(day) { return new Date(`${day}T00:00:00+08:00`); }

const FIELD_NAMES = { title: "标题", description: "内容", body: "内容", district: "所在区", phone: "手机号",
  password: "密码", reason: "原因", capacity: "名额", startsAt: "开始时间", endsAt: "结束时间", hoursCredit: "时长",
  address: "地址", idNumber: "身份证号", realName: "真实姓名", message: "内容", code: "签到码" };
const HAN = /[\u3400-\u9fff]/;

// What to tell a person about a failed request, in the UI language: a server message already in
// that language is shown as is; otherwise the stable extensions.code (and field) pick the text.
export function errorText(error) {
  const message = error?.message || "";
  if (lang === "zh" ? HAN.test(message) : (message && !HAN.test(message) && error.code !== "NETWORK")) return message;
  const code = error?.code || "INTERNAL";
  const field = (error?.field || "").split(".").pop();
  if (code === "BAD_USER_INPUT" && field) {
    return t("codeBAD_USER_INPUTfield", { field: lang === "zh" ? FIELD_NAMES[field] || field : field });
  }
  return tables[lang][`code${code}`] ? t(`code${code}`) : t("codeINTERNAL");
}
