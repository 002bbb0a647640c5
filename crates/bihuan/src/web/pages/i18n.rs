//! Every word the pages show, in Simplified Chinese and in English, side by
//! side. Templates read `t.<key>`; labels for the domain's enums and the few
//! sentences with numbers in them are methods on [`Lang`].

use bihuan_domain::Date;
use bihuan_domain::access::Role;
use bihuan_domain::identity::DocumentType;
use bihuan_domain::monitoring::TestState;
use bihuan_domain::plan::PhaseKind;
use bihuan_domain::policy::{Category, Symptom, measure_text_en, measure_text_zh};
use bihuan_domain::risk::RiskLevel;
use bihuan_domain::task::{Outcome, TaskAction, TaskKind, TaskState};
use chrono::Datelike;

use crate::usecases::care::HELP_KINDS;

/// The page language: Chinese unless `?lang=en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

macro_rules! strings {
    ($($key:ident: $zh:literal, $en:literal;)*) => {
        /// The UI strings of one language.
        pub struct T { $(pub $key: &'static str,)* }
        pub static ZH: T = T { $($key: $zh,)* };
        pub static EN: T = T { $($key: $en,)* };
    };
}

strings! {
    // layout
    site: "闭环 · 永康市疫情防控", "Bihuan · Yongkang epidemic prevention";
    brand: "闭环", "Bihuan";
    required_title: "必填", "required";
    other_lang: "English", "中文";
    other_lang_code: "en", "zh";
    nav_tasks: "我的任务", "My tasks";
    nav_queue: "审核队列", "Review queue";
    nav_command: "指挥部总览", "Command overview";
    nav_risk: "风险地区", "Risk areas";
    nav_logout: "退出", "Sign out";
    nav_declare: "返永通报备", "Arrival declaration";
    nav_due: "今日应检", "Due tests";
    choose: "请选择", "Choose";
    optional: "（选填）", " (optional)";
    required_mark: "*", "*";
    submit: "提交", "Submit";
    back: "返回", "Back";
    none: "无", "None";
    colon: "：", ": ";
    list_sep: "、", ", ";
    detail_sep: "；", "; ";
    fix_these: "请修改以下内容：", "Please correct the following:";
    // declaration form
    declare_title: "返永通 · 来永返永人员报备", "Arrival declaration for Yongkang";
    declare_intro: "来永返永人员请在抵达前或抵达当天如实填报。提交后会得到一个回执页面，上面写明您需要做什么。", "If you are coming to Yongkang, please declare before or on the day you arrive. After you submit you get a receipt page that says what you need to do.";
    declare_truth: "本人承诺所填信息真实准确，如有隐瞒、虚报，愿承担相应法律责任。", "I confirm that the information is true; concealing or misreporting it has legal consequences.";
    draft_note: "填写内容会暂存在本机，未提交前关闭页面也不会丢失（证件号码除外）。", "What you type is kept on this device until you submit (except the ID number).";
    sec_person: "个人信息", "About you";
    sec_origin: "从哪里来", "Where you are coming from";
    sec_itinerary: "途经地（抵达前14天内，没有可不填）", "Places you stayed on the way (last 14 days; leave empty if none)";
    sec_abroad: "14天内境外旅居史（没有可不填）", "Abroad in the last 14 days (leave empty if not)";
    sec_arrival: "抵达永康", "Arrival in Yongkang";
    sec_destination: "在永康的住处", "Where you will stay in Yongkang";
    sec_health: "健康状况", "Health";
    f_name: "姓名", "Full name";
    f_id_type: "证件类型", "Document type";
    f_id_number: "证件号码", "Document number";
    f_phone: "手机号码", "Mobile phone";
    f_province: "省(自治区、直辖市)", "Province";
    f_city: "市(地区、州)", "City";
    f_county: "县(市、区)", "County/district";
    f_township: "乡镇(街道)", "Township/street";
    f_county_code: "县(市、区)代码（6位）", "County code (6 digits)";
    f_township_code: "乡镇(街道)代码（9位）", "Township code (9 digits)";
    code_hint: "不方便选择时，可直接填写行政区划代码。", "You may type the division codes instead.";
    risk_note: "该县(市、区)有中高风险地区，请务必选择乡镇(街道)。", "This county has a listed risk area: please choose the township.";
    f_departed_on: "出发日期", "Date you left";
    f_stop: "途经地", "Stop";
    f_from: "到达日期", "Arrived on";
    f_to: "离开日期", "Left on";
    f_country: "国家/地区代码（两位字母，如 US）", "Country code (two letters, e.g. US)";
    f_entered: "入境日期", "Entered China on";
    f_arrival_date: "抵达永康日期", "Arrival date";
    f_mode: "交通方式", "Travelling by";
    f_number: "车次/航班/车牌号", "Train, flight or plate number";
    f_village: "村(社区)", "Village/community";
    f_address: "详细地址", "Street address";
    f_health_code: "健康码颜色", "Health code colour";
    f_doses: "新冠疫苗接种剂次", "COVID-19 vaccine doses";
    f_negative: "48小时内核酸阴性检测日期", "Date of a negative test within 48 hours";
    f_symptoms: "近14天是否有以下症状", "Symptoms in the last 14 days";
    no_symptoms_hint: "没有症状则不勾选。", "Leave unticked if none.";
    mode_train: "火车", "Train";
    mode_flight: "飞机", "Flight";
    mode_car: "自驾", "Car";
    mode_bus: "客车", "Coach";
    mode_other: "其他", "Other";
    code_green: "绿码", "Green";
    code_yellow: "黄码", "Yellow";
    code_red: "红码", "Red";
    rate_limited: "提交过于频繁，请一分钟后再试。", "Too many submissions; please try again in a minute.";
    // receipt / status
    status_title: "报备回执", "Declaration receipt";
    declared_ok: "报备成功！", "Your declaration was received.";
    receipt_code: "回执编号", "Receipt code";
    bookmark: "请收藏本页或截图保存：凭回执编号可随时查看最新的管控要求。", "Bookmark this page or take a screenshot: it always shows your current requirements.";
    s_name: "姓名", "Name";
    s_arrival: "抵达日期", "Arrival date";
    s_category: "人员类别", "Your category";
    s_measure: "管控措施", "Measure";
    s_plan: "管控安排", "Schedule";
    s_tests: "核酸检测", "Tests";
    s_release: "预计解除日期", "Expected release";
    s_reasons: "研判依据", "Why";
    s_next: "下一步怎么做", "What to do next";
    s_declared_as: "申报时研判为", "Assessed at declaration as";
    s_raised: "因风险地区调整，管控要求已升级，请以本页为准。", "Your requirements were raised after the risk-area list changed; this page is current.";
    s_double: "双采", "two samples";
    s_identity_pending: "您填写的姓名、手机号或住址与该证件的登记信息不一致，已转所在网格核实。核实前本页只显示本次申报的研判结果，不能在此打卡或求助；如需帮助请联系所在村(社区)。", "The name, phone or address you gave differs from what is on file for this document; the grid will verify it. Until then this page shows only this declaration's assessment, and check-ins and help requests are not open here; please contact your village or community.";
    next_central: "请留在原地（车站、机场或住处），做好个人防护，保持电话畅通，等待网格员联系安排集中隔离；在此之前请勿外出、不乘坐公共交通。", "Stay where you are (station, airport or home), wear a mask and keep your phone on: a grid worker will call you to arrange centralised quarantine. Until then do not go out or use public transport.";
    next_home: "请直接回到住处，不外出，保持电话畅通，网格员会联系您落实居家措施。", "Go straight to where you are staying, stay in, and keep your phone on: a grid worker will call you about the home measures.";
    next_monitor: "请每日自我健康监测，按下列日期做核酸检测，不参加聚集性活动；网格员会与您联系。", "Check your health every day, take the tests on the dates below and avoid gatherings; a grid worker will contact you.";
    next_tests: "请按下列日期做核酸检测（可到就近的核酸采样点）。", "Take the tests on the dates below at any sampling point.";
    next_none: "您只需登记，无需其他措施。祝您在永康一切顺利！", "Registration only: nothing more to do. Enjoy your stay in Yongkang!";
    next_fever: "您申报了症状：请佩戴口罩，不要乘坐公共交通，工作人员将尽快联系您，安排到发热门诊就诊。", "You declared symptoms: wear a mask and avoid public transport; staff will contact you shortly to take you to a fever clinic.";
    // status: health check-in
    ci_title: "健康打卡", "Daily health check-in";
    ci_intro: "管控期间请每天如实填报体温和症状。", "While under a measure, report your temperature and any symptoms every day.";
    ci_temperature: "体温（℃）", "Temperature (°C)";
    ci_temp_hint: "如 36.5", "e.g. 36.5";
    ci_temp: "体温", "Temperature";
    ci_symptoms: "今天是否有以下症状", "Any of these symptoms today";
    ci_submit: "提交打卡", "Check in";
    ci_done: "今日已打卡", "Checked in today:";
    ci_again: "体温或症状有变化？再次打卡", "Temperature or symptoms changed? Check in again";
    ci_alarm: "您的体温偏高或有症状：请佩戴口罩、留在住处、不要乘坐公共交通，工作人员将尽快联系您，安排到发热门诊就诊。", "Your temperature is raised or you have symptoms: wear a mask, stay in and avoid public transport. A worker will contact you shortly to take you to a fever clinic.";
    // status: help
    h_title: "暖心服务", "Help while you stay in";
    h_intro: "管控期间需要生活物资、药品或就医等帮助，可在这里提出，网格员会尽快答复。", "If you need groceries, medicine or a medical visit during your measure, ask here: your grid worker will answer.";
    h_kind: "需要什么帮助", "What do you need";
    h_note: "具体说明", "Details";
    h_submit: "提交求助", "Ask for help";
    h_sent: "已收到您的求助，网格员会尽快处理。", "Your request was received; your grid worker will handle it.";
    h_mine: "我的求助", "My requests";
    h_pending: "处理中", "In progress";
    h_answered: "已答复", "Answered";
    h_answer: "答复", "Answer";
    h_rating: "为这次服务评分（5分最满意）", "Rate this service (5 is best)";
    h_rate_submit: "提交评价", "Rate";
    h_rated: "您的评价", "Your rating";
    h_thanks: "感谢您的评价！", "Thank you for your rating.";
    // status: release
    s_released: "您的管控已解除。", "Your control has been released.";
    s_release_link: "查看、打印解除管控告知书", "View and print the release notice";
    rn_title: "解除管控告知书", "Notice of release from control";
    rn_released_on: "解除日期", "Released on";
    rn_policy: "依据政策版本", "Policy version";
    rn_issuer: "永康市新冠肺炎疫情防控工作指挥部", "Yongkang COVID-19 Prevention and Control Command";
    rn_keep: "请妥善保存本告知书。", "Please keep this notice.";
    // poster
    poster_title: "返永通", "Fanyongtong";
    poster_subtitle: "来永返永人员报备", "Arrival declaration for Yongkang";
    poster_step1: "微信或手机相机扫描二维码", "Scan the QR code with your phone";
    poster_step2: "如实填写个人信息、行程和健康状况", "Fill in who you are, where you have been and how you feel";
    poster_step3: "提交后收藏回执页面，按页面要求做好防护", "Keep the receipt page and follow what it says";
    poster_print: "打印", "Print";
    // login
    login_title: "工作人员登录", "Staff sign-in";
    f_username: "用户名", "Username";
    f_password: "密码", "Password";
    login_submit: "登录", "Sign in";
    login_wrong: "用户名或密码错误。", "Wrong username or password.";
    login_locked: "尝试次数过多，账号已暂时锁定，请稍后再试。", "Too many attempts: the account is locked for a while. Try again later.";
    pw_title: "修改密码", "Change password";
    t_id_changes: "信息变更待核实", "Identity change to verify";
    t_id_region: "居住网格", "Grid";
    t_id_none: "不处理", "Leave waiting";
    t_id_confirm: "核实无误，更新登记信息", "Verified: update the record";
    t_id_reject: "不属实，保留原登记信息", "Not true: keep the record";
    pw_old: "原密码", "Current password";
    pw_new: "新密码（至少10个字符）", "New password (at least 10 characters)";
    pw_submit: "修改并重新登录", "Change and sign in again";
    pw_done: "密码已修改，所有登录已退出，请用新密码登录。", "Password changed: every session ended. Sign in with the new password.";
    // tasks
    tasks_title_grid: "我的任务", "My tasks";
    tasks_title_review: "审核队列", "Review queue";
    tab_all: "全部", "All";
    tab_escalated: "上报给我的", "Escalated to me";
    t_reason: "原因", "Reason";
    t_due: "截止", "Due";
    t_overdue: "超时", "Overdue";
    t_urgent: "紧急", "Urgent";
    t_reopen_reason: "退回原因", "Reason for returning";
    t_person: "查看人员", "Person";
    t_escalated_to: "已上报至", "Escalated to";
    t_outcome: "核查结果", "Outcome";
    t_note: "备注", "Note";
    t_report: "反馈核查结果", "Report the outcome";
    t_moved_village: "迁往的村(社区)代码（12位）", "Village/community moved to (12-digit code)";
    t_moved_town: "迁往镇街", "Moved to town";
    t_moved_address: "新地址", "New address";
    t_corrected: "更正的信息（只填需要更正的项）", "Corrections (fill only what was wrong)";
    t_new_health_code: "更正健康码颜色", "Corrected health code";
    t_no_tasks: "暂无任务。", "No tasks.";
    t_next_page: "下一页", "Next page";
    t_first_page: "第一页", "First page";
    t_task: "任务", "Task";
    // person
    person_title: "人员信息", "Person";
    p_id_type: "证件类型", "Document type";
    p_id_number: "证件号码", "Document number";
    p_phone: "手机号码", "Phone";
    p_grid: "所属网格", "Grid";
    p_unmask: "显示完整证件号（将被记录）", "Show full document number (this is recorded)";
    p_unmasked: "已显示完整信息，本次查看已记录。", "Full details shown; this view has been recorded.";
    p_control: "当前管控", "Current control";
    p_status: "状态", "Status";
    p_destination: "报备住处", "Declared place of stay";
    p_origin: "出发地", "Came from";
    p_tasks: "任务", "Tasks";
    p_timeline: "时间线", "Timeline";
    p_no_control: "暂无管控措施。", "No control.";
    p_health_code: "健康码", "Health code";
    p_check_in: "代为打卡", "Check in for the person";
    p_checked: "已代为打卡", "Checked in:";
    p_alarm: "体温偏高或有症状：已派发发热就诊转运任务。", "Raised temperature or symptoms: a fever-clinic transfer task was dispatched.";
    p_release: "确认解除管控", "Confirm release";
    p_release_hint: "解除日期已过，请核对各检测日均为阴性后确认解除。", "The release date has passed: check that every test day was negative, then confirm.";
    p_released: "已解除管控，解除通知已发送。", "Released; the person has been notified.";
    p_transfer: "转移", "Transfer";
    p_transfer_to: "转往", "Transfer to";
    p_in_city: "市内其他村(社区)", "Another village in the city";
    p_out_city: "市外（协查移交）", "Out of the city (hand-over)";
    p_transfer_village: "转往的村(社区)代码（12位）", "Village/community (12-digit code)";
    p_transfer_reason: "转移原因", "Reason";
    p_transferred: "已转移。", "Transferred.";
    p_tested: "核酸结果已录入。", "Test recorded.";
    // due tests
    d_none: "今天没有应检人员。", "Nobody is due for a test today.";
    d_record: "录入核酸", "Record a test";
    d_result: "结果", "Result";
    d_choose: "请选择", "Choose…";
    d_sampled_at: "采样时间（不填为当前时间）", "Sampled at (empty: now)";
    d_recorded: "核酸结果已录入。", "Test recorded.";
    d_double: "双采", "two samples";
    // command
    command_title: "指挥部总览", "Command overview";
    c_today: "今日报备（按镇街、类别）", "Declarations today, by town and category";
    c_tasks: "任务状态", "Tasks by state";
    c_overdue: "超时任务（按镇街）", "Overdue tasks by town";
    c_tiles: "各镇街超时情况", "Overdue by town";
    c_town: "镇街", "Town";
    c_total: "合计", "Total";
    c_count: "数量", "Count";
    c_state: "状态", "State";
    c_nothing: "暂无数据。", "Nothing yet.";
    c_help: "暖心服务待处理（按镇街）", "Open help requests by town";
    c_open: "待处理", "Open";
    c_wait: "最长等待", "Longest wait";
    c_exports: "数据导出", "Exports";
    c_export_codes: "赋码数据（xlsx）", "Health codes (xlsx)";
    c_export_handovers: "市外协查移交名单（xlsx）", "Hand-overs out of the city (xlsx)";
    // risk areas
    risk_title: "风险地区", "Risk areas";
    r_area: "地区", "Area";
    r_level: "等级", "Level";
    r_since: "起始日期", "Since";
    r_until: "解除日期", "Lifted on";
    r_active: "生效中", "In force";
    r_lift: "解除", "Lift";
    r_add: "发布风险地区", "Publish a risk area";
    r_subarea: "具体区域（小区、村等）", "Sub-area (estate, village)";
    r_high: "高风险", "High";
    r_medium: "中风险", "Medium";
    r_import: "批量导入（CSV）", "Import (CSV)";
    r_import_help: "第一行为表头（中文或英文均可），风险等级填 高 或 中，日期为 2022-01-15 这样的格式：", "The first line is the header (Chinese or English); level is high or medium, dates look like 2022-01-15:";
    r_import_headers: "县区编码,乡镇街道编码,小区,风险等级,起始日期", "county,township,subarea,level,since";
    r_import_submit: "导入", "Import";
    r_import_title: "导入结果", "Import report";
    r_row: "行", "Row";
    r_result: "结果", "Result";
    r_ok: "已导入", "Imported";
    r_none: "暂无风险地区。", "No risk areas listed.";
    r_csv: "CSV 内容", "CSV text";
    // footer
    foot_sites: "核酸采样点", "Sampling sites";
    foot_declare: "返永通报备", "Arrival declaration";
    // sampling (核酸采样)
    nav_sample: "采样", "Sampling";
    sample_title: "核酸采样", "Sampling";
    sm_open: "开管", "Open a tube";
    sm_barcode: "试管条码", "Tube barcode";
    sm_barcode_hint: "扫描或输入试管上的条码", "Scan or type the barcode on the tube";
    sm_pool: "混采规格", "Pool size";
    sm_category: "检测类别", "Category";
    sm_site: "采样点", "Site";
    sm_site_other: "其他/无", "Other / none";
    sm_open_submit: "开管", "Open the tube";
    sm_taken_link: "打开该试管", "Open that tube";
    sm_sites_link: "全市采样点一览", "All sampling sites";
    tube_title: "试管", "Tube";
    sm_scan: "扫码或输入", "Scan or type";
    sm_scan_hint: "扫描返永通码，或输入人员码（如 P123）、证件号码", "Scan a Fanyongtong code, or type a person code (e.g. P123) or a document number";
    sm_id_type: "证件类型", "Document type";
    sm_name: "姓名（新人员时填写）", "Name (for someone new)";
    sm_add: "加入试管", "Add to the tube";
    sm_full: "已满，请封管", "Full: please seal the tube";
    sm_seal: "封管", "Seal the tube";
    sm_sealed: "已封管", "Sealed";
    sm_sealed_note: "试管已封管，等待检测结果。", "The tube is sealed and waits for its result.";
    sm_sealed_now: "已封管。", "Sealed.";
    sm_result: "检测结果", "Result";
    sm_pending: "待单采复核人数", "Awaiting single re-tests";
    sm_new_tube: "开新管", "Open another tube";
    sm_scan_empty: "请扫码或输入", "scan or type something";
    sm_bad_receipt: "无效的返永通码", "not a Fanyongtong code";
    sm_bad_scan: "无法识别：请扫描返永通码，或输入人员码（P加数字）、证件号码", "not recognised: scan a Fanyongtong code, or type a person code (P and digits) or a document number";
    // sampling sites (采样点)
    sites_title: "核酸采样点", "Sampling sites";
    st_sketch: "位置示意", "Where they are";
    st_sketch_note: "示意图，非实际地图：每格一个镇街，每点一个采样点。", "A sketch, not a map: one tile per town, one dot per site.";
    st_none: "暂无采样点。", "No sampling sites yet.";
    st_kind: "类型", "Type";
    st_hours: "开放时间", "Hours";
    st_address: "地址", "Address";
    st_serves: "服务类别", "Serves";
    st_fee: "费用", "Fee";
    st_paid: "收费", "Paid";
    st_free: "免费", "Free";
    st_paid_box: "收费检测", "Tests are paid";
    st_poster: "打印海报", "Print a poster";
    st_add: "新增采样点", "Add a sampling site";
    st_name: "名称", "Name";
    st_region: "所在区域", "Region";
    st_hours_hint: "如 08:00-20:00", "e.g. 08:00-20:00";
    st_added: "已新增采样点。", "The site was added.";
    st_scan_here: "扫码查看全市核酸采样点", "Scan to see every sampling site";
    st_legend: "图例", "Legend";
    // nav: mass testing, rolling tests, zones
    nav_rounds: "全员核酸", "Mass testing";
    nav_rolling: "滚动检测", "Rolling tests";
    nav_zones: "三区管控", "Zones";
    // 全员核酸 rounds
    rd_title: "全员核酸", "Mass testing rounds";
    rd_none: "暂无核酸轮次。", "No rounds yet.";
    rd_name: "轮次", "Round";
    rd_window: "采样时间", "Sampling window";
    rd_regions: "覆盖区域", "Regions";
    rd_state: "状态", "State";
    rd_upcoming: "未开始", "Not started";
    rd_open: "进行中", "Open";
    rd_ended: "已结束", "Ended";
    rd_add: "新建轮次", "New round";
    rd_name_hint: "如 第一轮全员核酸", "e.g. First city-wide round";
    rd_towns: "覆盖镇街", "Towns covered";
    rd_starts: "开始时间", "Starts";
    rd_ends: "结束时间", "Ends";
    rd_times_hint: "北京时间。", "Beijing time (UTC+8).";
    rd_residents_link: "导入常住人口", "Import the resident roll";
    rd_coverage: "查看覆盖情况", "Coverage";
    rd_created: "已新建轮次。", "The round was created.";
    // coverage of one round
    cv_live: "实时数据：页面每 5 秒自动更新（无脚本时每 30 秒刷新）。", "Live figures: updated every 5 seconds (reloaded every 30 seconds without scripts).";
    cv_updated: "实时数据，更新于", "Live figures, updated at";
    cv_region: "区域", "Area";
    cv_residents: "常住人口", "Residents";
    cv_sampled: "已采样", "Sampled";
    cv_results: "已出结果", "Results in";
    cv_positives: "阳性", "Positive";
    cv_untested: "未检", "Not tested";
    cv_coverage: "覆盖率", "Coverage";
    cv_tiles: "各区域覆盖率", "Coverage by area";
    cv_legend: "绿色 ≥90%，橙色 60%–90%，红色 <60%，灰色 暂无人口数据。", "Green ≥90%, orange 60–90%, red <60%, grey: nobody on the roll.";
    cv_none: "该区域暂无常住人口数据。", "Nobody on the resident roll here yet.";
    cv_list: "未检名单", "Not tested";
    cv_all_done: "已全部采样", "All sampled";
    // 未检 list of one grid
    ut_title: "未检名单", "Not yet tested";
    ut_none: "本网格常住人口均已采样。", "Everyone on this grid's roll has been sampled.";
    ut_csv: "下载名单（CSV）", "Download the list (CSV)";
    ut_back: "返回覆盖情况", "Back to the coverage";
    // 常住人口 import
    rs_title: "常住人口导入", "Resident roll import";
    rs_help: "粘贴 CSV 文本，可直接从 Excel 或 WPS 复制粘贴。非身份证可加 证件类型 列。只能导入本辖区内的网格；重复导入不会重复计数。第一行为表头：", "Paste CSV text; cells copied from Excel or WPS work too. Add an id_type column for other documents. Only grids inside your region are loaded; loading the same roll again counts nobody twice. The first line is the header:";
    rs_headers: "网格编码,身份证号,姓名,手机号码", "grid,id_number,name,phone";
    im_title: "导入结果", "Import report";
    im_refused: "未导入的行", "Rows not loaded";
    im_rows_hint: "行号为数据行序号，不含表头。", "Row numbers count data rows, not the header.";
    im_all_loaded: "所有行均已导入。", "Every row was loaded.";
    im_unreadable: "无法读取粘贴的表格", "The pasted table could not be read";
    im_no_rows: "没有数据行", "there are no data rows";
    im_again: "继续导入", "Import more";
    col_grid: "网格编码", "Grid code";
    col_employer: "单位名称", "Employer";
    col_industry: "行业", "Industry";
    // 三区 zones
    zn_title: "三区管控", "Sealed, controlled and precaution zones";
    zn_mark: "划定区域", "Mark a zone";
    zn_kind: "区域类型", "Kind";
    zn_village: "村(社区)", "Village/community";
    zn_grid: "或填写网格编码（15位，填写后以网格为准）", "Or a grid code (15 digits; used instead of the village)";
    zn_starts: "开始日期", "Starts on";
    zn_none: "暂无划定的区域。", "No zones marked yet.";
    zn_lift_hint: "解除后，核酸检测均为阴性的居民解除管控，其余居民完成检测后解除。", "Lifting releases residents whose tests are all negative; the others stay until their tests are done.";
    duty_on: "值班", "on duty";
    nav_instructions: "指令", "Instructions";
    nav_duty: "值班", "Duty";
    in_title: "指令", "Instructions";
    in_inbox: "收到的指令", "Received";
    in_sent: "已发出的指令", "Sent";
    in_compose: "下发指令", "Send an instruction";
    in_subject: "标题", "Title";
    in_body: "内容", "Text";
    in_due: "截止时间", "Deadline";
    in_regions: "下发区域", "Regions";
    in_roles: "接收角色", "Roles";
    in_attachments: "附件（选填，最多5个，每个不超过2MB）", "Attachments (optional, up to 5, 2 MB each)";
    in_unread: "待签收", "To acknowledge";
    in_acked: "已签收", "Acknowledged";
    in_answered: "已反馈", "Answered";
    in_ack: "签收", "Acknowledge";
    in_answer: "反馈", "Answer";
    in_photo: "现场照片（选填）", "Photo (optional)";
    in_from: "发送人", "From";
    in_rates: "签收与反馈", "Receipts and answers";
    in_total: "合计", "Total";
    in_recipients: "应签收", "Recipients";
    in_ack_rate: "签收率", "Acknowledged";
    in_answer_rate: "反馈率", "Answered";
    in_missing: "未签收人员", "Not yet acknowledged";
    in_unanswered: "已签收未反馈", "Acknowledged, no answer yet";
    in_reaching: "下达至本辖区的指令", "Instructions reaching your region";
    in_escalated: "上报至本级的未签收", "Unacknowledged, escalated to you";
    in_answers: "反馈记录", "Answers";
    in_correction: "更正", "Correction";
    in_corrected_by: "已被更正：见指令", "Corrected by instruction";
    in_none: "暂无指令。", "No instructions.";
    in_photo_link: "查看照片", "Photo";
    role_town: "镇街", "Towns";
    role_village: "村社区", "Villages";
    role_grid_worker: "网格员", "Grid workers";
    au_title: "审计日志", "Audit log";
    au_person: "人员码", "Person";
    au_user: "操作人", "User";
    au_region: "区域编码", "Region";
    au_action: "操作", "Action";
    au_from: "自", "From";
    au_to: "至", "To";
    au_time: "时间", "Time";
    au_detail: "详情", "Detail";
    au_search: "查询", "Search";
    au_more: "更早的记录", "Older entries";
    nav_audit: "审计", "Audit";
    du_title: "值班值守", "Duty roster";
    du_add: "排班", "Add to the roster";
    du_date: "日期", "Date";
    du_shift: "班次", "Shift";
    du_region: "区域编码", "Region code";
    du_name: "值班人", "Name";
    du_phone: "联系电话", "Phone";
    du_uncovered: "今日无人值班", "Nobody on duty today";
    du_none: "暂无排班。", "No one on the roster.";
    // 场所码 and 流调
    nav_venues: "场所码", "Venue codes";
    nav_tracing: "流调溯源", "Contact tracing";
    vn_title: "场所码", "Venue codes";
    vn_register: "登记场所", "Register a venue";
    vn_name: "场所名称", "Venue name";
    vn_kind: "场所类型", "Type";
    vn_village: "所在村(社区)", "Village/community";
    vn_address: "详细地址", "Address";
    vn_state: "状态", "State";
    vn_pending: "待审核", "Pending";
    vn_approved: "已审核", "Approved";
    vn_rejected: "已驳回", "Rejected";
    vn_approve: "审核通过", "Approve";
    vn_reject: "驳回", "Reject";
    vn_poster: "打印场所码", "Print poster";
    vn_none: "暂无场所。", "No venues yet.";
    vn_registered: "已登记，待镇街审核。", "Registered; waiting for the town's approval.";
    vn_scan_here: "进入请扫码登记（亮码、扫码）", "Scan to check in as you enter";
    vn_checkin: "扫码登记", "Check in";
    vn_checkin_one_tap: "一键登记进场", "Check in now";
    vn_first_time: "首次登记请核实身份，本机将记住您。", "The first time, confirm who you are; this phone will remember you.";
    vn_remembered: "本机已记住您的身份。", "This phone remembers you.";
    vn_forget: "不是本人？重新填写", "Not you? Enter again";
    vn_for_other: "为老人、儿童代扫", "Check in a child or an elderly person";
    vn_other_name: "被代扫人姓名", "Their name";
    vn_other_id: "被代扫人证件号码", "Their ID number";
    vn_checked_in: "已登记", "Checked in";
    vn_show_staff: "请向场所工作人员出示本页面", "Show this page to the staff at the entrance";
    vn_id_number: "证件号码", "ID number";
    vn_id_type: "证件类型", "Document";
    vn_person_name: "姓名", "Name";
    vn_phone: "手机号码", "Phone";
    tr_title: "流调溯源", "Contact tracing";
    tr_open: "新建流调", "Open a case";
    tr_start: "发病或首次阳性采样日期", "Onset or first positive sample";
    tr_note: "备注", "Note";
    tr_none: "暂无流调。", "No cases yet.";
    tr_window: "传染期", "Infectious window";
    tr_case: "病例", "Case";
    tr_candidates: "候选人员", "Candidates";
    tr_confirmed: "已确认", "Confirmed";
    tr_run: "运行流调研判", "Trace now";
    tr_degree1: "密接", "Close contact";
    tr_degree2: "次密接", "Secondary contact";
    tr_evidence: "依据", "Evidence";
    tr_exposure: "末次暴露", "Last exposure";
    tr_via: "关联人员", "Via";
    tr_confirm: "确认", "Confirm";
    tr_strike: "排除", "Strike";
    tr_hand_over: "移交协查", "Hand over";
    tr_county: "居住地县(市、区)代码", "County code where they live";
    tr_household: "同住人员", "Same household";
    tr_tube: "同管混采", "Same pooled tube";
    tr_overlap: "重叠", "overlap";
    tr_minutes: "分钟", "min";
    tr_chain: "传播链", "Chain";
    tr_state_candidate: "待研判", "To review";
    tr_state_confirmed: "已确认", "Confirmed";
    tr_state_struck: "已排除", "Struck";
    tr_state_handed_over: "已移交协查", "Handed over";
    tr_nothing_found: "尚无候选人员。点击“运行流调研判”。", "No candidates yet. Press “Trace now”.";
    // 协查 lists
    as_title: "协查名单", "Assisted-verification lists";
    as_nav: "协查", "Verification lists";
    as_upload: "导入协查名单", "Import a list";
    as_file: "名单文件（.xlsx 或 .csv）", "List file (.xlsx or .csv)";
    as_list_name: "名单名称", "List name";
    as_mapping: "列映射", "Column mapping";
    as_new_mapping: "新建列映射（下一步按表头设置）", "New mapping (set it from the headers next)";
    as_none: "暂无协查名单。", "No lists yet.";
    as_rows: "行数", "Rows";
    as_open: "核查中", "Open";
    as_verified: "已核查", "Verified";
    as_not_here: "不在本地", "Not here";
    as_dups: "重复", "Repeats";
    as_invalid: "有误", "Invalid";
    as_imported: "导入时间", "Imported";
    as_export: "导出反馈表", "Export the answers";
    as_map_title: "设置列映射", "Map the columns";
    as_map_hint: "为每个字段选择文件中的列，姓名和证件号码必选。映射按名称保存，下次导入同样格式的名单时直接选用。", "Choose the file's column for each field; name and document number are required. The mapping is saved under its name for the next list of the same shape.";
    as_mapping_name: "映射名称", "Mapping name";
    as_skip: "（不导入）", "(not imported)";
    as_categories: "人员类别对应的管控类别（每行一条：名单上的类别=政策类别）", "Category labels and the policy category each means (one line each: label on the list=policy category)";
    as_import: "导入", "Import";
    as_row: "行", "Row";
    as_state: "状态", "State";
    as_answer: "结果", "Answer";
    as_route: "指派网格", "Route";
    as_grid_code: "网格编码（15位）", "Grid code (15 digits)";
    as_task: "任务", "Task";
    // rolling tests
    rl_title: "重点行业滚动检测", "Rolling tests for key industries";
    rl_overdue: "超期未检员工", "Overdue workers";
    rl_none: "暂无超期未检员工。", "Nobody is overdue.";
    rl_worker: "员工", "Worker";
    rl_last: "最近阴性", "Last negative";
    rl_never: "无记录", "none on record";
    rl_due: "应检日期", "Due on";
    rl_import: "导入员工名单（CSV）", "Import a roster (CSV)";
    rl_help: "粘贴 CSV 文本，可直接从 Excel 或 WPS 复制粘贴。网格为单位所在网格。第一行为表头：", "Paste CSV text; cells copied from Excel or WPS work too. The grid is the employer's. The first line is the header:";
    rl_headers: "单位名称,网格编码,行业,身份证号,姓名,手机号码", "employer,grid,industry,id_number,name,phone";
    rl_industries: "行业一栏可填写代码或名称", "The industry column takes the code or the name";
    rl_every: "检测间隔", "Test every";
    // errors
    error_title: "出错了", "Something went wrong";
    e_not_found: "没有找到，或不在您的管辖范围内。", "Not found, or not in your region.";
    e_conflict: "当前状态下不能这样操作（可能已被他人处理），请刷新后重试。", "That cannot be done in the current state (someone may have acted already). Reload and try again.";
    e_forbidden: "您的角色无权进行此操作。", "Your role may not do this.";
    e_unauthorized: "请先登录。", "Please sign in first.";
    e_locked: "尝试次数过多，请稍后再试。", "Too many attempts; try again later.";
    e_internal: "服务器内部错误，请稍后再试。", "Internal error; please try again later.";
    e_invalid: "填写的内容有误：", "Some fields are not right:";
    e_csrf: "页面已过期或来源不明，请返回刷新后重新提交。", "The page has expired or the request did not come from it. Go back, reload and submit again.";
    // 指挥部看板 and 日报 (issue 6 §1, §3)
    nav_dashboard: "看板", "Dashboard";
    nav_reports: "日报", "Daily reports";
    db_title: "指挥部看板", "Command dashboard";
    db_updated: "数据每5秒自动刷新，更新于", "Refreshes every 5 seconds; updated";
    db_total: "合计", "Total";
    db_direct: "本级直属", "Owned at this level";
    db_arrivals: "来返人员", "Arrivals";
    db_today: "今日", "today";
    db_arriving_today: "今日抵达（到达日期）", "arriving today (arrival date)";
    db_declared_today: "今日报备（收到日期）", "declared today (received date)";
    db_14d: "14天", "14 days";
    db_control: "在管人员", "Under measures";
    db_positives: "阳性", "Positive";
    db_tests: "今日核酸", "Tests today";
    db_tests_due: "应检", "due";
    db_tests_done: "已检", "done";
    db_tests_missed: "漏检（昨日）", "missed (yesterday)";
    db_tasks: "任务", "Tasks";
    db_open: "未办结", "open";
    db_overdue: "超时", "overdue";
    db_escalated: "已上报", "escalated";
    db_closure: "闭环率", "Closure rate";
    db_closure_of: "按时办结 / 到期", "closed in time / due";
    db_closed_in_time: "按时办结", "closed in time";
    db_due: "到期", "due";
    db_help: "待办求助", "Help waiting";
    db_trends: "近30天趋势", "Last 30 days";
    db_tr_arrivals: "来返人数（每日）", "Arrivals per day";
    db_tr_control: "在管人数", "People under measures";
    db_tr_tests: "核酸：应检（灰）与已检（绿）", "Tests: due (grey) and done (green)";
    db_tr_positives: "阳性人数", "Positives";
    db_tr_closure: "闭环率 %", "Closure rate %";
    db_list: "清单", "List";
    db_export: "导出 Excel", "Export to Excel";
    db_showing: "仅显示前1000条，完整清单请导出。", "Showing the first 1,000; export for the whole list.";
    db_col_id: "编号", "No.";
    db_col_name: "姓名", "Name";
    db_col_doc: "证件号码", "ID number";
    db_col_region: "地区", "Region";
    db_col_what: "事项", "Item";
    db_col_state: "状态", "State";
    db_col_time: "时间", "Time";
    db_no_rows: "清单为空。", "The list is empty.";
    rp_title: "疫情防控日报", "Daily report";
    rp_make: "立即生成日报", "Make today's report now";
    rp_none: "还没有日报。", "No reports yet.";
    rp_origin_job: "定时生成", "scheduled";
    rp_origin_manual: "手动生成", "on demand";
    rp_town: "镇街", "Town";
    rp_change: "较昨日", "vs. yesterday";
    rp_overdue: "超时任务", "Overdue tasks";
    rp_instructions: "未反馈指令", "Unanswered instructions";
    rp_instructions_none: "无未反馈的指令。", "No unanswered instructions.";
    rp_print: "打印", "Print";
    rp_download: "下载 Excel", "Download Excel";
    rp_generated: "生成于", "Made at";
    // the arrival's screens (receipt, recovery, itinerary, visitors)
    s_code: "健康码", "Health code";
    s_next_test: "下次核酸检测", "Next test";
    rc_link: "回执丢了？凭证件号和手机号找回", "Lost your receipt? Find it with your document and phone";
    rc_title: "找回报备回执", "Find my receipt";
    rc_intro: "输入报备时填写的证件号码和手机号，我们会向该手机发送6位验证码。", "Enter the document number and phone you declared with; we will text a 6-digit code to that phone.";
    rc_send: "发送验证码", "Send code";
    rc_sent: "如果证件号码和手机号与报备记录一致，验证码已发送到该手机，10分钟内有效。", "If the document number and phone match a declaration, a code has been sent to that phone; it is valid for 10 minutes.";
    rc_code: "短信验证码", "Code from the text message";
    rc_open: "查看回执", "Open my receipt";
    rc_again: "重新获取验证码", "Request a new code";
    f_phone_hint: "持护照、港澳台通行证等证件的，可填境外手机号码，以+和国家或地区代码开头，如 +85291234567。", "With a passport or a Hong Kong, Macao or Taiwan permit you may give an international number starting with + and the country code, e.g. +85291234567.";
    f_country_frequent: "常用", "Frequent";
    f_country_all: "全部（按拼音）", "All";

    // the grid worker's screens (task cards, confirmations, pickers)
    g_tab_tasks: "任务", "Tasks";
    g_tab_due: "应检", "Due";
    g_tab_sample: "采样", "Sample";
    g_tab_overview: "总览", "Overview";
    g_more: "更多", "More";
    g_call: "拨打", "Call";
    g_call_title: "拨打电话", "Call";
    g_call_audited: "已记录：您查看了完整手机号。", "Recorded: you viewed the full number.";
    g_back_to_tasks: "返回任务", "Back to the tasks";
    g_why: "派发依据", "Why this task";
    g_address: "地址", "Address";
    g_no_address: "未登记地址", "No address on file";
    g_done_ack: "已签收", "Acknowledged";
    g_done_report: "已反馈", "Reported";
    g_done_close: "已办结", "Closed";
    g_done_reopen: "已退回重办", "Returned for rework";
    g_task_no: "任务", "task";
    g_confirm: "确认", "Confirmation";
    g_confirm_close: "确认办结（不可撤销）", "Yes, close it (cannot be undone)";
    g_confirm_release: "确认解除管控（不可撤销）", "Yes, release (cannot be undone)";
    g_confirm_lift: "确认解除（不可撤销）", "Yes, lift it (cannot be undone)";
    g_confirm_mark: "确认封管（不可撤销）", "Yes, mark the zone (cannot be undone)";
    sm_seal_confirm: "确认封管（封管后不能再加人）", "Yes, seal it (nobody can be added after)";
    g_confirm_decide: "确认此判定（不可撤销）", "Yes, record this decision (cannot be undone)";
    g_confirm_needed: "此操作不可撤销：请勾选确认后再提交。未作任何更改。", "This cannot be undone: tick the confirmation and submit again. Nothing was changed.";
    g_person_sees: "对方可见：此内容将作为答复显示在其回执页", "The person sees this: it is shown as the answer on their receipt";
    g_unmasked_call: "用于拨打电话", "to call them";
    g_unmasked_phone: "查看完整手机号", "full phone number viewed";
    g_whole_city: "全市", "Whole city";
    g_whole_town: "全镇", "Whole town";

    // the command's screens (headline, tiles, map, exports, audit)
    hl_title: "今日要情", "Today at a glance";
    hl_control: "在管", "Under measures";
    hl_tests_due: "今日应检", "Tests due today";
    hl_tests_done: "今日已检", "Tested today";
    hl_tests_missed: "漏检（昨日）", "Missed (yesterday)";
    hl_overdue: "超时任务", "Overdue tasks";
    hl_vs_yesterday: "较昨日", "vs yesterday";
    hl_no_yesterday: "昨日无数据", "no data for yesterday";
    lg_title: "颜色", "Colours";
    lg_ok: "正常", "On track";
    lg_behind: "落后", "Behind";
    lg_far: "严重落后", "Far behind";
    lg_rule: "超时≥10%/25%，上报≥5%/15%，漏检≥5%/15%，闭环率<90%/75%，待办求助≥1/5", "overdue ≥10%/25%, escalated ≥5%/15%, missed ≥5%/15%, closure <90%/75%, help waiting ≥1/5";
    lg_worst_first: "镇街按落后程度排列，最落后的在前。", "Worst first.";
    map_title: "各地落后情况示意图（点击进入）", "Where work lags (schematic; tap to open)";
    wall_on: "大屏模式", "Wall display";
    wall_off: "退出大屏", "Leave wall display";
    au_raw: "原始记录", "Raw record";
    au_any_action: "全部操作", "Any action";
    rp_today: "今日", "Today";
    rp_task_no: "任务编号", "Task no.";
    rp_task_kind: "任务类型", "Task kind";
    rp_region: "所属地区", "Region";
    rp_person: "对象", "Person";
    rp_deadline: "截止时间", "Deadline";
    rp_instruction: "指令", "Instruction";
    rp_recipient: "接收人", "Recipient";
    // drills (应急演练)
    nav_drills: "应急演练", "Drills";
    dr_title: "应急演练", "Emergency drills";
    dr_badge: "演练", "Drill";
    dr_intro: "演练数据单独标记，不进入健康码推送、看板、日报和短信，演练结束后可一键清除（复盘报告保留）。", "Drill records are flagged: they never reach the health-code feed, dashboards, the daily report or SMS, and can be purged when the drill ends (the report is kept).";
    dr_none: "还没有演练。", "No drills yet.";
    dr_name: "名称", "Name";
    dr_kind: "类型", "Kind";
    dr_started: "开始时间", "Started";
    dr_state: "状态", "State";
    dr_tabletop: "桌面推演", "Tabletop";
    dr_functional: "功能演练", "Functional";
    dr_full_scale: "实战演练", "Full-scale";
    dr_announced: "明演", "announced";
    dr_blind: "盲演", "blind";
    dr_running: "进行中", "Running";
    dr_ended: "已结束", "Ended";
    dr_purged: "已清除", "Purged";
    dr_start: "开始演练", "Start a drill";
    dr_script: "演练脚本", "Drill script";
    dr_script_hint: "每条线索经真实入口注入（返永通报备、药店哨点、卡口、冷链批次）。已预填种子情景，可直接开始。格式：", "Each thread is one signal injected through a real intake path (declaration, pharmacy, checkpoint, cold-chain batch). The seed's scenario is filled in. Format:";
    dr_report: "演练复盘报告", "After-action report";
    dr_records: "演练记录（人员 / 任务 / 预警）", "Drill records (people / tasks / alerts)";
    dr_step: "环节", "Step";
    dr_allowed: "时限", "Allowed";
    dr_met: "按时", "Met";
    dr_missed: "超时", "Missed";
    dr_pending: "未到期", "Pending";
    dr_overdue: "逾期未完成", "Overdue";
    dr_median: "中位用时", "Median";
    dr_worst: "最长用时", "Worst";
    dr_bottleneck: "瓶颈环节", "Bottleneck";
    dr_threads: "各线索用时", "Each thread";
    dr_thread: "线索", "Thread";
    dr_signal_at: "发现信号", "Signal";
    dr_total: "全程", "Total";
    dr_h: "小时", " h ";
    dr_min: "分", " min";
    dr_end: "结束演练", "End the drill";
    dr_purge: "清除演练数据", "Purge the drill's records";
    dr_confirm_purge: "确认清除本次演练的全部记录（复盘报告保留）", "Yes, delete every record of this drill (the report is kept)";
    // sentinel pages
    nav_pharmacy: "药店哨点", "Pharmacy reports";
    nav_fever: "发热门诊", "Fever clinic";
    nav_alerts: "预警", "Alerts";
    sn_pharmacy_title: "药店哨点 · 购药登记", "Pharmacy reports · purchases";
    sn_fever_title: "发热门诊 · 就诊登记", "Fever clinic · visits";
    sn_alerts_title: "预警", "Alerts";
    sn_pharmacy: "药店", "Pharmacy";
    sn_clinic: "发热门诊", "Fever clinic";
    sn_visit_id: "就诊号", "Visit number";
    sn_purchase_id: "购药单号", "Purchase number";
    sn_record_purchase: "登记购药", "Record a purchase";
    sn_record_visit: "登记就诊", "Record a visit";
    sn_no_pharmacy: "本辖区还没有审核通过的药店，请先在场所码中登记。", "No approved pharmacy in your region yet: register one under venue codes first.";
    sn_no_clinic: "本辖区还没有审核通过的发热门诊，请先在场所码中登记。", "No approved fever clinic in your region yet: register one under venue codes first.";
    sn_health_code: "健康码", "Health code";
    sn_temperature: "体温（℃）", "Temperature (°C)";
    sn_symptoms: "症状", "Symptoms";
    sn_drugs: "药品", "Drugs";
    sn_drug_no: "药品", "Drug";
    sn_drug_class: "类别", "Class";
    sn_drug_name: "药品名称", "Drug name";
    sn_qty: "数量", "Quantity";
    sn_drugs_hint: "至少填写一种药品；不用的行留空。", "Fill in at least one drug; leave unused rows empty.";
    sn_for_other: "代他人购买", "Bought for someone else";
    sn_recorded: "已登记购药", "Purchase recorded";
    sn_transfer_opened: "，已派发发热就诊转运任务", "; a fever-clinic transfer task was dispatched";
    sn_visit_recorded: "已登记就诊", "Visit recorded";
    sn_recent_purchases: "本辖区最近购药", "Recent purchases in your region";
    sn_recent_visits: "本辖区最近就诊", "Recent visits in your region";
    sn_none_yet: "暂无记录。", "Nothing recorded yet.";
    sn_fever_transfer: "发热就诊转运", "Fever-clinic transfer";
    sn_bought_for_other: "代购", "For someone else";
    sn_test_due: "应检截止", "Test due by";
    sn_export: "导出某日购药（Excel）", "Export a day's purchases (Excel)";
    sn_export_day: "日期", "Date";
    sn_export_button: "导出", "Export";
    sn_import: "导入购药登记文件", "Import a purchase file";
    sn_import_hint: "Excel 或 CSV，第一行为表头，每行一种药品。必填列：", "Excel or CSV with a header row, one drug a row. Required columns:";
    sn_import_optional: "选填列：", "Optional columns:";
    sn_import_rule: "每行单独登记：有错的行不载入并列出原因，其余行照常登记。", "Each row is recorded on its own: rows with errors are listed with the reason and not loaded; the other rows are recorded.";
    sn_file: "文件", "File";
    sn_import_button: "上传并导入", "Upload and import";
    sn_import_title: "购药登记导入结果", "Purchase import";
    sn_row: "行", "Row";
    sn_why: "原因", "Reason";
    sn_all_loaded: "所有行均已载入。", "Every row was loaded.";
    sn_barcode: "采样管条码", "Tube barcode";
    sn_sampled_at: "采样时间", "Sampled at";
    sn_result: "检测结果", "Result";
    sn_pending: "待出", "Pending";
    sn_negative: "阴性", "Negative";
    sn_positive: "阳性", "Positive";
    sn_transfers_closed: "已闭环药店转运", "Pharmacy referrals closed";
    sn_kind_febrile: "发热红黄码购药", "Febrile buyer with a red or yellow code";
    sn_kind_surge: "激增", " surge";
    sn_source_pharmacy: "药店购药", "Pharmacy purchases";
    sn_source_fever: "发热门诊就诊", "Fever-clinic visits";
    sn_source_other: "哨点信号", "Sentinel signals";
    sn_state_open: "待签收", "Awaiting sign-off";
    sn_state_acked: "已签收待研判", "Signed, awaiting judgement";
    sn_false_alarm: "误报", "False alarm";
    sn_suspected: "疑似事件", "Suspected event";
    sn_ack: "签收", "Sign for it";
    sn_judge: "研判", "Judge";
    sn_verdict: "研判结论", "Verdict";
    sn_note: "研判说明", "Note on the judgement";
    sn_ack_due: "签收时限", "Sign by";
    sn_late: "已超时", "Late";
    sn_escalated: "已上报市级", "Sent up to the city";
    sn_acked_by: "签收", "Signed";
    sn_judged_by: "研判", "Judged";
    sn_people: "涉及人员", "Persons behind it";
    sn_more_people: "人数较多，仅列出前20人；研判为疑似事件后全部派发核查任务。", "Only the first 20 are listed; a suspected event sends verification tasks for all of them.";
    sn_no_alerts: "本辖区暂无预警。", "No alerts in your region.";
    sn_acked_flash: "已签收，请研判。", "Signed for: now judge it.";
    sn_judged_flash: "已研判。", "Judgement recorded.";
    sn_suspected_hint: "研判为疑似事件将向涉及人员所在网格派发核查任务。", "A suspected event sends a verification task to each person's grid.";
    // gate pages
    nav_gatherings: "集聚性活动报备", "Gathering reports";
    foot_gathering: "办酒报备", "Report a gathering";
    gt_form_title: "集聚性活动报备", "Report a gathering";
    gt_form_intro: "举办宴会、婚礼、丧事等集聚性活动，请主办人如实报备。提交后得到一个回执页面，可随时查看审核进度和场所码。", "Hosts of banquets, weddings, funerals and other gatherings report them here. You get a receipt page showing the review and, once approved, the venue code.";
    gt_sec_event: "活动信息", "The event";
    gt_sec_people: "主办人和厨师", "Host and cook";
    gt_kind: "活动类型", "Kind";
    gt_kind_banquet: "宴会", "Banquet";
    gt_kind_wedding: "婚礼", "Wedding";
    gt_kind_funeral: "丧事", "Funeral";
    gt_kind_other: "其他集聚性活动", "Other gathering";
    gt_date: "举办日期", "Date";
    gt_date_hint: "50人及以上须提前5个工作日报备。", "50 people or more: report 5 working days ahead.";
    gt_village: "举办地村(社区)", "Village or community";
    gt_address: "举办地址", "Venue address";
    gt_tables: "桌数", "Tables";
    gt_headcount: "人数", "Headcount";
    gt_out_of_town: "外地来客人数", "Guests from out of town";
    gt_out_of_town_short: "外地", "Out of town";
    gt_host_name: "主办人", "Host";
    gt_host_phone: "主办人手机", "Host's phone";
    gt_cook_name: "厨师", "Cook";
    gt_cook_phone: "厨师手机", "Cook's phone";
    gt_cook_cert: "厨师持有健康证", "The cook holds a health certificate";
    gt_cook_no_cert: "厨师无健康证", "No health certificate";
    gt_guests: "宾客名单", "Guest list";
    gt_guests_label: "每行一位：姓名,身份证号,手机号（外地来客在末尾加 ,外地）", "One guest a line: name, ID number, phone (add \",out\" for a guest from out of town)";
    gt_guests_hint: "可从表格直接粘贴。", "You may paste it from a spreadsheet.";
    gt_guests_max: "最多行数：", "At most this many lines: ";
    gt_line_before: "第", "Line ";
    gt_line_after: "行", "";
    gt_pledge: "本人承诺：活动期间落实测温、扫码、通风等防控措施，有发热等症状者不参加。", "I pledge temperature checks, venue-code scans and ventilation at the event, and that anyone with fever or symptoms stays away.";
    gt_pledge_label: "健康承诺", "Health pledge";
    gt_submit: "提交报备", "Submit the report";
    gt_paused_title: "宴会缓办", "Gatherings postponed";
    gt_paused_body: "全市暂停受理集聚性活动报备，请推迟举办，恢复受理后再报备。", "The city has stopped taking gathering reports for now. Please postpone the event and report it once reports reopen.";
    gt_paused_reason: "原因", "Reason";
    gt_receipt_title: "集聚性活动报备回执", "Gathering report receipt";
    gt_received: "报备已提交。请保存本页链接，随时查看审核进度。", "Report received. Keep this page's link to follow the review.";
    gt_state: "审核状态", "State";
    gt_tier: "审批层级", "Approved by";
    gt_tier_self: "自行管理（村社区备案）", "Self-managed (filed with the village)";
    gt_tier_town: "镇街审批", "The town";
    gt_tier_city: "市级审批", "The city";
    gt_st_submitted: "已提交，待村社区审核", "Submitted, waiting for the village";
    gt_st_village_checked: "村社区已审核，待批准", "Checked by the village, waiting for approval";
    gt_st_approved: "已批准", "Approved";
    gt_st_ongoing: "进行中", "Under way";
    gt_st_ended: "已结束", "Ended";
    gt_st_rejected: "已驳回", "Refused";
    gt_st_cancelled: "已取消", "Cancelled";
    gt_venue_code: "活动场所码", "Venue code of the event";
    gt_venue_code_hint: "请打印或展示此码，所有来宾入场时扫码登记。", "Print or show this code: every guest scans it on arrival.";
    gt_keep_link: "批准后，本页会显示活动场所码。", "Once approved, this page shows the event's venue code.";
    gt_review_title: "集聚性活动审核", "Gathering reviews";
    gt_none: "暂无报备。", "No reports.";
    gt_yours: "待您审核", "Waiting for you";
    gt_done: "已处理。", "Done.";
    gt_approve: "批准", "Approve";
    gt_reject: "驳回", "Refuse";
    gt_start: "活动开始", "Started";
    gt_finish: "活动结束", "Ended";
    gt_cancel: "取消活动", "Cancel the event";
    gt_confirm_reject: "确认驳回（不可撤销）", "Yes, refuse it (cannot be undone)";
    gt_confirm_cancel: "确认取消（不可撤销）", "Yes, cancel it (cannot be undone)";
    gt_no_guests: "未填宾客名单。", "No guest list.";
    gt_pause_title: "宴会缓办", "Postpone gatherings";
    gt_pause_on: "已开启：暂停受理报备", "On: no new reports";
    gt_pause_off: "未开启：正常受理", "Off: reports are taken";
    gt_pause_reason_label: "原因（选填）", "Reason (optional)";
    gt_pause_set: "开启宴会缓办", "Postpone gatherings city-wide";
    gt_pause_lift: "解除宴会缓办", "Take reports again";
    nav_overrides: "镇街加严申请", "Towns' stricter rules";
    po_title: "镇街加严申请（不得层层加码）", "Towns' stricter rules (no piling on)";
    po_intro: "镇街只能在全市规定基础上加严，且须经市级批准后生效。", "A town may only make the city's rules stricter, and only once the city approves.";
    po_none: "暂无申请。", "No proposals.";
    po_propose: "申请加严", "Propose a stricter rule";
    po_rule: "规则", "Rule";
    po_value: "本镇街取值", "Value for the town";
    po_base: "全市规定", "City rule";
    po_reason: "理由", "Reason";
    po_lower: "调低为更严", "lower is stricter";
    po_higher: "调高为更严", "higher is stricter";
    po_pending: "待市级审批", "Waiting for the city";
    po_approved: "已批准，生效中", "Approved, in force";
    po_rejected: "未批准", "Refused";
    po_approve: "批准", "Approve";
    po_reject: "不批准", "Refuse";
    po_submit: "提交申请", "Submit";
    nav_checkpoints: "卡口登记", "Checkpoint passages";
    nav_transfers: "转运交接", "Transfer hand-overs";
    cp_title: "卡口通行登记", "Checkpoint passages";
    cp_no_checkpoints: "本辖区没有已审核的卡口。卡口先在场所码页面登记（类型：卡口）并经镇街审核。", "No approved checkpoint in your area. Register one on the venue page (kind: checkpoint) for the town to approve.";
    cp_record: "登记一次通行", "Record a passage";
    cp_record_button: "登记通行", "Record the passage";
    cp_recorded: "已登记，人数：", "Recorded. Travellers: ";
    cp_checkpoint: "卡口", "Checkpoint";
    cp_plate: "车牌", "Plate";
    cp_plate_hint: "步行人员不填；车辆登记全部乘车人员。", "Leave empty for a walker; for a vehicle, record everyone in it.";
    cp_traveller: "通行人员", "Traveller";
    cp_add_traveller: "同车人员", "Another traveller:";
    cp_origin_county: "来源地县(市、区)代码", "County code of origin";
    cp_origin_country: "境外国家或地区", "Country or region abroad";
    cp_origin: "来源地", "Origin";
    cp_health_code: "健康码", "Health code";
    cp_code_green: "绿码", "Green";
    cp_code_yellow: "黄码", "Yellow";
    cp_code_red: "红码", "Red";
    cp_trip_star: "行程卡带星", "Trip card starred";
    cp_negative_48h: "持48小时内核酸阴性证明", "Showed a negative test from the last 48 hours";
    cp_destination: "目的地村(社区)", "Destination village";
    cp_destination_address: "目的地地址", "Destination address";
    cp_decision: "处置", "Decision";
    cp_declaration: "申报", "Declaration";
    cp_declared: "已申报", "Declared";
    cp_on_behalf: "卡口代申报", "Declared at the checkpoint";
    cp_undeclared: "未申报", "Not declared";
    cp_day_list: "当日通行记录", "Passages of the day";
    cp_day: "日期", "Date";
    cp_show_day: "查看", "Show";
    cp_no_passages: "当日暂无通行记录。", "No passages that day.";
    cp_xlsx: "下载当日通行表（xlsx）", "Download the day's sheet (xlsx)";
    cp_time: "时间", "Time";
    cp_transfers_title: "转运交接", "Transfer hand-overs";
    cp_transfers_intro: "卡口转运到本辖区的人员：待接收 → 已派车 → 已接到 → 已交接，每步点一次。", "Travellers a checkpoint transfers to your area: awaiting pickup → vehicle sent → picked up → handed over, one tap per step.";
    cp_no_transfers: "暂无转运交接。", "No hand-overs.";
    cp_pickup_by: "接收截止", "Pick up by";
    cp_do_dispatch: "已派车", "Vehicle sent";
    cp_do_pick_up: "已接到", "Picked up";
    cp_do_hand_over: "已交接", "Handed over";
    cp_step_done: "已更新。", "Updated.";
    nav_goods: "人物同防", "Goods and people";
    gd_title: "进口冷链货物批次", "Goods batches";
    gd_none: "暂无货物批次。", "No batches.";
    gd_origin: "产地", "Origin";
    gd_holder: "货主单位", "Holder";
    gd_quantity: "数量", "Quantity";
    gd_inspection: "检验检疫证明", "Inspection certificate";
    gd_nucleic_acid: "核酸检测证明", "Nucleic-acid certificate";
    gd_disinfection: "消毒证明", "Disinfection certificate";
    gd_positive: "阳性", "Positive";
    gd_negative: "阴性", "Negative";
    gd_moves: "流向", "Movements";
    gd_jobs_title: "集中监管仓作业", "Supervised warehouse";
    gd_no_jobs: "暂无监管仓作业。", "No warehouse jobs.";
    gd_next: "下一步：", "Next: ";
    gd_step_done: "已更新。", "Updated.";
    gd_unfit_title: "不宜上岗人员", "Not fit for work";
    gd_unfit_intro: "冷链从业人员未按时完成核酸检测，暂不宜上岗。", "Cold-chain workers overdue for their rolling test should not work for now.";
    gd_no_unfit: "没有不宜上岗人员。", "Nobody is unfit for work.";
    gd_last_negative: "最近阴性", "Last negative";
    gd_never: "无", "None";
    // goods recording pages
    gr_new_title: "登记货物批次", "Register a batch";
    gr_batch_form: "新批次", "New batch";
    gr_no_holders: "请先在下方登记货主单位。", "Register a holder below first.";
    gr_trace_code: "追溯码", "Trace code";
    gr_trace_code_hint: "8至32位大写字母、数字或连字符，如 CC2022-0001", "8 to 32 capital letters, digits or hyphens, like CC2022-0001";
    gr_product: "品名", "Product";
    gr_certificates: "随附证明", "Certificates";
    gr_certificates_hint: "缺少任一证明的批次将预约进入集中监管仓。", "A batch missing any certificate is booked into the supervised warehouse.";
    gr_register: "登记批次", "Register batch";
    gr_holder_form: "登记货主单位", "Register a holder";
    gr_holder_name: "单位名称", "Holder name";
    gr_kind: "类型", "Kind";
    gr_kind_place: "其他场所", "Other place";
    gr_grid: "所在网格编码", "Grid code";
    gr_grid_hint: "15位网格编码，如 330784001001001", "The 15-digit grid code, like 330784001001001";
    gr_add_holder: "登记单位", "Add holder";
    gr_holder_added: "单位已登记，可以登记批次。", "Holder registered; you can register its batches.";
    gr_batch_title: "批次", "Batch";
    gr_registered: "批次已登记。", "Batch registered.";
    gr_moved: "流向已记录。", "Movement recorded.";
    gr_tested: "检测结果已记录。", "Test result recorded.";
    gr_no_moves: "尚无流向记录。", "No movements yet.";
    gr_move_form: "记录流向", "Record a movement";
    gr_from: "发货单位", "From";
    gr_to: "收货单位", "To";
    gr_at: "时间", "Time";
    gr_at_hint: "不填为现在。", "Leave empty for now.";
    gr_move: "记录流向", "Record movement";
    gr_result_form: "检测结果", "Test result";
    gr_result_hint: "阳性将立即启动溯源：下游单位2小时内封存，并生成协查名单。", "A positive starts the trace-back at once: downstream holders sealed within 2 hours and the exposed listed for assistance checks.";
    gr_trace_started: "已启动溯源。", "Trace-back started.";
    gr_trace_open: "查看封存任务和协查名单", "See the seal tasks and the assist list";
    gr_trace_title: "溯源", "Trace-back";
    gr_cause: "起因", "Cause";
    gr_env_cause: "环境样本阳性", "A positive environment sample";
    gr_due: "时限", "Due";
    gr_assist_list: "协查名单", "Assist list";
    gr_no_exposed: "无需协查人员。", "Nobody to assist-check.";
    gr_export: "下载溯源链（xlsx）", "Download the chain (xlsx)";
    gr_seals: "封存任务", "Seal tasks";
    gr_no_seals: "没有下游单位需要封存。", "No downstream holder to seal.";
    gr_env_title: "环境采样", "Environment sampling";
    gr_due_title: "今日应采样", "Due for sampling";
    gr_none_due: "今日没有应采样的点位。", "No site is due today.";
    gr_last_sampled: "上次采样", "Last sampled";
    gr_every: "每", "every ";
    gr_days: "天", " days";
    gr_sampled_on: "采样日期", "Sampled on";
    gr_sampled: "采样结果已记录。", "Sample recorded.";
    gr_site_form: "登记采样点位", "Register a sampling site";
    gr_site_holder: "货主单位", "Holder";
    gr_site_other: "其他场所", "Another place";
    gr_site_name: "场所名称", "Place name";
    gr_add_site: "登记点位", "Add site";
    gr_site_added: "点位已登记。", "Site registered.";
}

impl Lang {
    /// `?lang=en` anywhere in a query string picks English.
    pub fn from_query(query: Option<&str>) -> Lang {
        let en = query
            .unwrap_or_default()
            .split('&')
            .any(|kv| kv == "lang=en");
        if en { Lang::En } else { Lang::Zh }
    }

    pub fn t(self) -> &'static T {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    pub fn is_en(self) -> bool {
        self == Lang::En
    }

    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Appended to a path without a query: "" or "?lang=en".
    pub fn q(self) -> &'static str {
        match self {
            Lang::Zh => "",
            Lang::En => "?lang=en",
        }
    }

    /// Appended to a path that has a query already: "" or "&lang=en".
    pub fn amp(self) -> &'static str {
        match self {
            Lang::Zh => "",
            Lang::En => "&lang=en",
        }
    }

    /// Adds the language to a local path, query or not.
    pub fn link(self, path: &str) -> String {
        match (self, path.contains('?')) {
            (Lang::Zh, _) => path.to_string(),
            (Lang::En, true) => format!("{path}&lang=en"),
            (Lang::En, false) => format!("{path}?lang=en"),
        }
    }

    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn date(self, d: Date) -> String {
        match self {
            Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            Lang::En => d.format("%-d %b %Y").to_string(),
        }
    }

    /// A date given as YYYY-MM-DD; shown as is when it does not parse.
    pub fn date_str(self, s: &str) -> String {
        s.parse::<Date>()
            .map(|d| self.date(d))
            .unwrap_or_else(|_| s.to_string())
    }

    pub fn span(self, from: Date, to: Date) -> String {
        match self {
            Lang::Zh => format!("{} 至 {}", self.date(from), self.date(to)),
            Lang::En => format!("{} to {}", self.date(from), self.date(to)),
        }
    }

    pub fn day_n(self, n: i64) -> String {
        match self {
            Lang::Zh => format!("第{n}天"),
            Lang::En => format!("day {n}"),
        }
    }

    pub fn phase(self, k: PhaseKind) -> &'static str {
        self.pick(k.label_zh(), k.label_en())
    }

    pub fn category_label(self, c: Option<&Category>, name: &str) -> String {
        match c {
            Some(c) => self.pick_owned(&c.label_zh, &c.label_en),
            None => name.to_string(),
        }
    }

    pub fn measure(self, c: &Category) -> String {
        match self {
            Lang::Zh => measure_text_zh(c),
            Lang::En => measure_text_en(c),
        }
    }

    pub fn pick_owned(self, zh: &str, en: &str) -> String {
        match self {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
        }
    }

    pub fn task_kind(self, s: &str) -> String {
        TaskKind::parse(s).map_or_else(
            || s.to_string(),
            |k| self.pick(k.label_zh(), k.label_en()).into(),
        )
    }

    pub fn task_state(self, s: &str) -> String {
        TaskState::parse(s).map_or_else(
            || s.to_string(),
            |k| self.pick(k.label_zh(), k.label_en()).into(),
        )
    }

    pub fn outcome(self, s: &str) -> String {
        Outcome::parse(s).map_or_else(
            || s.to_string(),
            |k| self.pick(k.label_zh(), k.label_en()).into(),
        )
    }

    pub fn task_action(self, s: &str) -> String {
        TaskAction::parse(s).map_or_else(
            || s.to_string(),
            |k| self.pick(k.label_zh(), k.label_en()).into(),
        )
    }

    pub fn role(self, r: Role) -> &'static str {
        self.pick(r.label_zh(), r.label_en())
    }

    pub fn doc_type(self, s: &str) -> String {
        DocumentType::parse(s).map_or_else(
            || s.to_string(),
            |k| self.pick(k.label_zh(), k.label_en()).into(),
        )
    }

    pub fn symptom(self, s: Symptom) -> &'static str {
        self.pick(s.label_zh(), s.label_en())
    }

    pub fn risk_level(self, l: RiskLevel) -> &'static str {
        self.pick(l.label_zh(), l.label_en())
    }

    pub fn control_status(self, s: &str) -> String {
        let zh_en = match s {
            "active" => ("进行中", "running"),
            "pending" => ("待开始", "not started"),
            "released" => ("已解除", "released"),
            "registered" => ("已登记", "registered"),
            "due_for_release" => ("待解除", "due for release"),
            "positive" => ("核酸阳性（转病例管理）", "positive (case management)"),
            "transferred_out" => ("已转出本市（协查移交）", "handed over out of the city"),
            other => return other.to_string(),
        };
        self.pick(zh_en.0, zh_en.1).into()
    }

    /// What a timeline entry's kind means, in words.
    pub fn event_kind(self, kind: &str) -> String {
        let (zh, en) = match kind {
            "declared" => ("申报", "declared"),
            "control_set" => ("确定管控措施", "control set"),
            "control_raised" => ("管控升级", "control raised"),
            "task_created" => ("派发任务", "task dispatched"),
            "task_attached" => ("任务追加原因", "reason added to task"),
            "task_ack" => ("签收", "acknowledged"),
            "task_report" => ("反馈", "reported"),
            "task_close" => ("办结", "closed"),
            "task_reopen" => ("退回", "reopened"),
            "task_escalated" => ("超时上报", "escalated (overdue)"),
            "facts_corrected" => ("更正信息", "facts corrected"),
            "unmasked" => ("查看完整证件号", "full number viewed"),
            "checked_in" => ("健康打卡", "health check-in"),
            "test_recorded" => ("录入核酸", "test recorded"),
            "control_positive" => ("核酸阳性", "positive test"),
            "health_code_changed" => ("赋码变更", "health code changed"),
            "control_released" => ("解除管控", "control released"),
            "notification_sent" => ("短信已发送", "text message sent"),
            "notification_failed" => ("短信发送失败（将重试）", "text message failed (will retry)"),
            "help_requested" => ("暖心服务求助", "help requested"),
            "help_rated" => ("服务评价", "help rated"),
            "transferred" => ("转移", "transferred"),
            "handed_over" => ("市外协查移交", "handed over out of the city"),
            "health_codes_read" => ("赋码数据读取", "health codes read"),
            "control_restored" => ("恢复管控", "control restored"),
            "notification_undeliverable" => ("短信无法送达", "text message undeliverable"),
            "person_created" => ("建档", "record created"),
            "contact_confirmed" => ("确认为密接", "contact confirmed"),
            "contact_struck" => ("排除密接", "contact struck"),
            "traced" => ("流调追踪", "traced"),
            "zone_marked" => ("划定管控区", "zone marked"),
            "zone_lifted" => ("解除管控区", "zone lifted"),
            "lab_result" => ("检测结果回传", "lab result"),
            "check_in_missed" => ("未打卡", "check-in missed"),
            "test_missed" => ("漏检", "test missed"),
            "tube_sealed" => ("封管", "tube sealed"),
            "venue_registered" => ("场所码登记", "venue registered"),
            "venue_decided" => ("场所码审核", "venue decided"),
            "round_created" => ("创建全员核酸", "round created"),
            "residents_loaded" => ("导入常住人口", "residents loaded"),
            "roster_loaded" => ("导入滚动检测名单", "roster loaded"),
            "assist_row_routed" => ("协查分派", "assist row routed"),
            "identity_confirmed" => ("确认信息变更", "identity change confirmed"),
            "identity_rejected" => ("驳回信息变更", "identity change rejected"),
            // Anything else still reads as words, never a raw code.
            _ => ("其他操作", "other action"),
        };
        self.pick(zh, en).into()
    }

    /// 生活物资, 药品, 就医, 其他: the kinds of 暖心服务 (care::HELP_KINDS).
    pub fn help_kind(self, kind: &str) -> String {
        HELP_KINDS.iter().find(|k| k.0 == kind).map_or_else(
            || kind.to_string(),
            |k| match self {
                Lang::Zh => k.1.to_string(),
                Lang::En => {
                    let mut c = k.2.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect())
                        .unwrap_or_default()
                }
            },
        )
    }

    pub fn test_state(self, s: TestState) -> &'static str {
        match s {
            TestState::Due => self.pick("待检", "due"),
            TestState::Done => self.pick("已采样", "sampled"),
            TestState::Missed => self.pick("漏检", "missed"),
            TestState::Positive => self.pick("阳性", "positive"),
        }
    }

    pub fn test_result(self, r: &str) -> String {
        let (zh, en) = match r {
            "negative" => ("阴性", "negative"),
            "positive" => ("阳性", "positive"),
            "pending" => ("待出结果", "pending"),
            "invalid" => ("无效（需重采）", "invalid (resample)"),
            other => return other.to_string(),
        };
        self.pick(zh, en).into()
    }

    pub fn health_code(self, colour: &str) -> String {
        let (zh, en) = match colour {
            "green" => ("绿码", "Green"),
            "yellow" => ("黄码", "Yellow"),
            "red" => ("红码", "Red"),
            other => return other.to_string(),
        };
        self.pick(zh, en).into()
    }

    /// "1小时5分钟": how long the oldest open help request has waited.
    pub fn minutes(self, m: i64) -> String {
        let (h, m) = (m.max(0) / 60, m.max(0) % 60);
        match (self, h) {
            (Lang::Zh, 0) => format!("{m}分钟"),
            (Lang::Zh, _) => format!("{h}小时{m}分钟"),
            (Lang::En, 0) => format!("{m} min"),
            (Lang::En, _) => format!("{h} h {m} min"),
        }
    }

    /// The sentence of the release notice.
    pub fn released_from(self, d: Date) -> String {
        match self {
            Lang::Zh => format!(
                "经核查，你已按要求完成管控措施，自{}月{}日起解除管控。",
                d.month(),
                d.day()
            ),
            Lang::En => format!(
                "Having checked, you have completed the required measures and are released from control from {}.",
                self.date(d)
            ),
        }
    }

    /// "已打卡 36.5℃" and the like: a label and a temperature.
    pub fn celsius(self, label: &str, t: &str) -> String {
        match self {
            Lang::Zh => format!("{label} {t}℃"),
            Lang::En => format!("{label} {t} °C"),
        }
    }

    /// "村(社区) 330784001001": where an escalated task now sits.
    pub fn region_code(self, code: &str) -> String {
        match bihuan_domain::regions::RegionCode::parse(code, "region") {
            Ok(c) => {
                let level = c.level();
                format!("{} {code}", self.pick(level.label_zh(), level.label_en()))
            }
            Err(_) => code.to_string(),
        }
    }

    pub fn published(self, reassessed: usize, raised: usize) -> String {
        match self {
            Lang::Zh => format!("已重新研判 {reassessed} 人，升级 {raised} 人。"),
            Lang::En => format!("{reassessed} people re-assessed, {raised} raised."),
        }
    }

    pub fn imported(self, added: usize, reassessed: usize, raised: usize) -> String {
        match self {
            Lang::Zh => {
                format!("新增 {added} 条；已重新研判 {reassessed} 人，升级 {raised} 人。")
            }
            Lang::En => {
                format!("{added} added; {reassessed} people re-assessed, {raised} raised.")
            }
        }
    }

    pub fn lifted(self, id: i64) -> String {
        match self {
            Lang::Zh => format!("已解除第 {id} 号风险地区。"),
            Lang::En => format!("Risk area #{id} lifted."),
        }
    }

    pub fn stop_n(self, n: usize) -> String {
        match self {
            Lang::Zh => format!("途经地 {n}"),
            Lang::En => format!("Stop {n}"),
        }
    }

    /// 固定采样点, 方舱采样点, 流动采样点.
    pub fn site_kind(self, kind: &str) -> String {
        let (zh, en) = match kind {
            "fixed" => ("固定采样点", "Fixed site"),
            "fangcang" => ("方舱采样点", "Fangcang (cabin) site"),
            "mobile" => ("流动采样点", "Mobile site"),
            other => return other.to_string(),
        };
        self.pick(zh, en).into()
    }

    /// 应检尽检, 定期抽检, 愿检尽检: whom a tube or a site is for.
    pub fn sample_category(self, c: &str) -> String {
        let (zh, en) = match c {
            "mandatory" => ("应检尽检", "Mandatory"),
            "periodic" => ("定期抽检", "Periodic sampling"),
            "voluntary" => ("愿检尽检", "Voluntary"),
            other => return other.to_string(),
        };
        self.pick(zh, en).into()
    }

    /// 单采, 5合1, 10合1, 20合1.
    pub fn pool(self, n: i64) -> String {
        match (self, n) {
            (Lang::Zh, 1) => "单采".into(),
            (Lang::En, 1) => "single".into(),
            (Lang::Zh, n) => format!("{n}合1"),
            (Lang::En, n) => format!("{n} in 1"),
        }
    }

    /// "已采 7/10".
    pub fn collected(self, members: i64, pool: i64) -> String {
        match self {
            Lang::Zh => format!("已采 {members}/{pool}"),
            Lang::En => format!("{members}/{pool} sampled"),
        }
    }

    /// "已加入：张* (8/10)".
    pub fn added_to_tube(self, who: &str, members: i64, pool: i64) -> String {
        match self {
            Lang::Zh => format!("已加入：{who} ({members}/{pool})"),
            Lang::En => format!("Added: {who} ({members}/{pool})"),
        }
    }

    pub fn paid(self, paid: bool) -> &'static str {
        if paid {
            self.t().st_paid
        } else {
            self.t().st_free
        }
    }

    /// 封控区, 管控区, 防范区.
    pub fn zone_kind(self, kind: &str) -> String {
        let (zh, en) = match kind {
            "sealed" => ("封控区", "Sealed zone"),
            "controlled" => ("管控区", "Controlled zone"),
            "precaution" => ("防范区", "Precaution zone"),
            other => return other.to_string(),
        };
        self.pick(zh, en).into()
    }

    pub fn zone_marked(self, placed: usize, kept: usize) -> String {
        match self {
            Lang::Zh => {
                format!("已划定区域：{placed} 人纳入管控，{kept} 人保持原有更严格的管控措施。")
            }
            Lang::En => format!(
                "Zone marked: {placed} people placed under its measure, {kept} keep a stricter plan."
            ),
        }
    }

    pub fn zone_lifted(self, released: usize, remaining: usize) -> String {
        match self {
            Lang::Zh => {
                format!("已解除区域：{released} 人解除管控，{remaining} 人完成核酸检测后解除。")
            }
            Lang::En => format!(
                "Zone lifted: {released} people released, {remaining} stay until their tests are done."
            ),
        }
    }

    /// What an import loaded and refused.
    pub fn roll_loaded(self, loaded: usize, refused: usize) -> String {
        match self {
            Lang::Zh => format!("已导入 {loaded} 行，未导入 {refused} 行。"),
            Lang::En => format!("{loaded} rows loaded, {refused} refused."),
        }
    }

    /// "第 3 行" / "Row 3".
    pub fn row_n(self, n: usize) -> String {
        match self {
            Lang::Zh => format!("第 {n} 行"),
            Lang::En => format!("Row {n}"),
        }
    }

    /// Who did something, for the timeline and the audit: a username, or
    /// one of the non-users that act (a person on a public page, the
    /// command line, the server's own jobs).
    pub fn actor(self, who: &str) -> String {
        match who {
            "public" => self
                .pick("本人（公众页面）", "the person (public page)")
                .into(),
            "cli" => self.pick("命令行", "command line").into(),
            "system" => self.pick("系统", "system").into(),
            other => other.to_string(),
        }
    }

    /// The printed page's watermark: who printed it and when (export.rs
    /// writes the same line into files, in Chinese).
    pub fn printed_mark(self, who: &str, at: &str) -> String {
        match self {
            Lang::Zh => format!("打印人：{who}　打印时间：{at}　仅限疫情防控工作使用"),
            Lang::En => format!("Printed by {who} at {at} · for epidemic prevention work only"),
        }
    }

    /// "87.5%", or a dash when nobody is on the roll.
    pub fn percent(self, tenths: Option<i64>) -> String {
        match tenths {
            Some(t) => format!("{}.{}%", t / 10, t % 10),
            None => "—".into(),
        }
    }

    pub fn people(self, n: i64) -> String {
        match self {
            Lang::Zh => format!("{n} 人"),
            Lang::En if n == 1 => "1 person".into(),
            Lang::En => format!("{n} people"),
        }
    }

    pub fn every_days(self, n: u32) -> String {
        match self {
            Lang::Zh if n == 1 => "每天".into(),
            Lang::Zh => format!("每 {n} 天"),
            Lang::En if n == 1 => "every day".into(),
            Lang::En => format!("every {n} days"),
        }
    }

    /// A form field's name as the user reads it ("村(社区)", not `village`);
    /// nested keys (`itinerary.0.to`) by their last part. Unknown: "".
    pub fn field_label(self, field: &str) -> &'static str {
        let field = field.split('[').next().unwrap_or(field);
        let mut key = field
            .rsplit('.')
            .find(|p| !p.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(field);
        // A form's own prefix (`origin_county`, `itinerary_0_to`) falls away.
        loop {
            if let Some((zh, en)) = Self::field_words(key) {
                return self.pick(zh, en);
            }
            match key.split_once('_') {
                Some((_, rest)) => key = rest,
                None => return "",
            }
        }
    }

    fn field_words(key: &str) -> Option<(&'static str, &'static str)> {
        Some(match key {
            "village" | "destination" => ("村(社区)", "Village"),
            "address" => ("地址", "Address"),
            "due_at" => ("截止时间", "Deadline"),
            "roles" | "role" => ("角色", "Roles"),
            "region" | "regions" | "scope" | "serves" => ("地区", "Region"),
            "grid" => ("网格", "Grid"),
            "county" => ("县(区)", "County"),
            "township" => ("乡镇(街道)", "Township"),
            "name" => ("名称", "Name"),
            "id_number" => ("证件号码", "ID number"),
            "id_type" => ("证件类型", "ID type"),
            "phone" => ("手机号", "Phone"),
            "outcome" => ("核查结果", "Outcome"),
            "note" => ("备注", "Note"),
            "reason" => ("原因", "Reason"),
            "result" => ("检测结果", "Result"),
            "sampled_at" | "tested_at" => ("采样时间", "Sampled at"),
            "at" => ("时间", "Time"),
            "level" => ("风险等级", "Risk level"),
            "since" => ("起始日期", "Since"),
            "starts_on" | "start_date" => ("开始日期", "Starts on"),
            "ends_at" => ("结束时间", "Ends at"),
            "shift" => ("班次", "Shift"),
            "kind" => ("类型", "Kind"),
            "category" => ("类别", "Category"),
            "person" | "person_id" => ("人员", "Person"),
            "decision" => ("判定", "Decision"),
            "venue" => ("场所", "Venue"),
            "industry" => ("行业", "Industry"),
            "left_at" => ("离开时间", "Left at"),
            "barcode" => ("条码", "Barcode"),
            "scan" => ("扫码", "Scan"),
            "receipt" => ("回执", "Receipt"),
            "file" | "csv" => ("文件", "File"),
            "attachments" => ("附件", "Attachments"),
            "username" => ("用户名", "Username"),
            "password" => ("新密码", "New password"),
            "old_password" => ("原密码", "Current password"),
            "corrections" | "corrects" => ("更正内容", "Corrections"),
            "health_code" => ("健康码", "Health code"),
            "temperature" => ("体温", "Temperature"),
            "symptoms" => ("症状", "Symptoms"),
            "rating" => ("评价", "Rating"),
            "expires_days" => ("有效天数", "Valid for (days)"),
            "state" => ("状态", "State"),
            "tests" => ("检测", "Tests"),
            "mapping" => ("列对应", "Column mapping"),
            "format" => ("格式", "Format"),
            "rows" => ("行", "Rows"),
            "declaration_id" => ("信息变更", "Identity change"),
            "origin_departed_on" | "departed_on" => ("离开日期", "Departed on"),
            "confirm" => ("确认", "Confirmation"),
            "to" => ("地点", "Place"),
            "employer" => ("单位名称", "Employer"),
            "pool_size" => ("混采", "Pooling"),
            "site" => ("采样点", "Sampling site"),
            "hours" => ("开放时间", "Opening hours"),
            "title" => ("标题", "Subject"),
            "body" => ("内容", "Message"),
            "list_name" => ("名单名称", "List name"),
            _ => return None,
        })
    }

    pub fn field_message(self, e: &bihuan_domain::validation::FieldError) -> &str {
        match self {
            Lang::Zh => &e.message,
            Lang::En => &e.message_en,
        }
    }
}

// issue 12: the command's audit in words (the audit page's own mapping; the
// person timeline keeps `event_kind`).
impl Lang {
    /// An audited action in words: what happened, not its operation code.
    pub fn audit_action(self, kind: &str) -> String {
        let (zh, en) = match kind {
            "login" => ("登录", "signed in"),
            "login_failed" => ("登录失败", "sign-in failed"),
            "password_changed" => ("修改密码", "password changed"),
            "password_set" => ("重置密码", "password set"),
            "user_added" => ("新增用户", "user added"),
            "user_enabled" => ("启用/停用用户", "user enabled or disabled"),
            "token_added" => ("新增接口令牌", "API token added"),
            "token_revoked" => ("吊销接口令牌", "API token revoked"),
            "audit_searched" => ("查询审计日志", "audit log searched"),
            "unmasked" => ("查看完整证件号/手机号", "full ID or phone viewed"),
            "dashboard_exported" => ("导出看板清单", "dashboard list exported"),
            "daily_report_made" => ("生成日报", "daily report made"),
            "daily_report_exported" => ("导出日报", "daily report exported"),
            "daily_report_printed" => ("打印日报", "daily report printed"),
            "handovers_exported" => ("导出协查移交名单", "hand-over list exported"),
            "untested_exported" => ("导出未检名单", "untested list exported"),
            "assist_list_imported" => ("导入协查名单", "assistance list imported"),
            "assist_list_exported" => ("导出协查反馈", "assistance answers exported"),
            "assist_mapping_saved" => ("保存协查表头对应", "assistance mapping saved"),
            "assist_row_routed" => ("协查名单分派", "assistance row routed"),
            "instruction_sent" => ("下发指令", "instruction sent"),
            "instruction_acknowledged" => ("签收指令", "instruction acknowledged"),
            "instruction_answered" => ("反馈指令", "instruction answered"),
            "instruction_escalated" => ("指令超时上报", "instruction escalated"),
            "duty_added" => ("排班", "duty added"),
            "roster_loaded" => ("导入值班表", "duty roster loaded"),
            "risk_area_added" => ("公布风险地区", "risk area added"),
            "risk_area_lifted" => ("解除风险地区", "risk area lifted"),
            "risk_area_since_moved" => ("调整风险地区起始日期", "risk area start moved"),
            "zone_marked" => ("划定管控区域", "zone marked"),
            "zone_lifted" => ("解除管控区域", "zone lifted"),
            "round_created" => ("发起全员核酸", "testing round created"),
            "residents_loaded" | "grids_imported" => {
                ("导入常住人口/网格", "residents or grids loaded")
            }
            "person_created" => ("新增人员", "person added"),
            "site_added" => ("新增采样点", "sampling site added"),
            "sampled" => ("采样", "sampled"),
            "tube_sealed" => ("封管", "tube sealed"),
            "lab_result" => ("检测结果回传", "lab result received"),
            "checkins_received" => ("场所码扫码记录", "venue check-ins received"),
            "venue_registered" => ("场所申请场所码", "venue registered"),
            "venue_decided" => ("审核场所", "venue decided"),
            "trace_case_opened" => ("流调立案", "trace case opened"),
            "traced" => ("流调排查", "contacts traced"),
            "contact_confirmed" => ("确认密接", "contact confirmed"),
            "contact_struck" => ("排除密接", "contact struck"),
            "notification_undeliverable" => ("短信无法送达", "text undeliverable"),
            "task_escalated" => ("任务超时上报", "task escalated (overdue)"),
            _ => return self.event_kind(kind),
        };
        self.pick(zh, en).into()
    }

    /// An event's detail in words: each known field named, values as text;
    /// fields without a name here are left to the raw record.
    /// An audit record's detail in words: each known key named, and each
    /// coded value (role, shift, kind, state, colour, level, category) in
    /// words; `category` names a policy category, looked up by the caller.
    /// Text people typed or the policy worded (names, reasons, notes) is
    /// `recorded`: shown as it was kept, in whatever language it was kept.
    pub fn audit_detail(
        self,
        detail: &serde_json::Value,
        category: &dyn Fn(&str) -> String,
    ) -> Vec<DetailPart> {
        use serde_json::Value;
        let Value::Object(map) = detail else {
            return Vec::new();
        };
        let words = |key: &str, v: &str| -> String {
            match key {
                "role" | "roles" => {
                    return Role::parse(v).map_or_else(|| v.to_string(), |r| self.role(r).into());
                }
                "shift" => {
                    return bihuan_domain::duty::Shift::parse(v).map_or_else(
                        || v.to_string(),
                        |s| self.pick(s.label_zh(), s.label_en()).into(),
                    );
                }
                "kind" => {
                    // 预警 kinds (alert events) before zones and tasks.
                    match v {
                        "febrile_red_yellow" => return self.t().sn_kind_febrile.into(),
                        "surge" => return self.pick("激增", "surge").into(),
                        _ => {}
                    }
                    // A goods holder's kind (冷库 …), else a zone's or a task's.
                    if let Some((_, zh, en)) = bihuan_domain::goods::HOLDER_KINDS
                        .iter()
                        .find(|(k, _, _)| *k == v)
                    {
                        return self.pick(zh, en).into();
                    }
                    let zone = self.zone_kind(v);
                    return if zone != v { zone } else { self.task_kind(v) };
                }
                "colour" => return self.health_code(v),
                "level" => {
                    return RiskLevel::parse(v)
                        .map_or_else(|| v.to_string(), |l| self.risk_level(l).into());
                }
                "category" | "from" => return category(v),
                "outcome" => return self.outcome(v),
                "result" => return self.test_result(v),
                _ => {}
            }
            let (zh, en) = match v {
                "phone" => ("手机号码", "phone"),
                "id_number" => ("证件号码", "ID number"),
                "job" => ("定时生成", "scheduled"),
                "manual" => ("手动生成", "on demand"),
                "team" => ("流调组立案", "opened by the team"),
                "positive" => ("阳性自动立案", "opened on a positive test"),
                "approved" => ("已通过", "approved"),
                "rejected" => ("已驳回", "rejected"),
                "pending" => ("待审核", "pending"),
                "new" => ("新登记", "new"),
                "same" => ("一致", "same"),
                "moved" => ("已迁移", "moved"),
                "confirmed" => ("已确认", "confirmed"),
                other => return other.to_string(),
            };
            self.pick(zh, en).into()
        };
        let value = |key: &str, v: &Value| -> String {
            match v {
                Value::Null => "—".into(),
                Value::Bool(b) => self
                    .pick(if *b { "是" } else { "否" }, if *b { "yes" } else { "no" })
                    .into(),
                Value::String(s) => words(key, s),
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => words(key, s),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(self.pick("、", ", ")),
                other => other.to_string(),
            }
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let label = match k.as_str() {
                "region" => self.pick("地区", "region"),
                "rows" => self.pick("行数", "rows"),
                "id" => self.pick("编号", "no."),
                "round" => self.pick("轮次", "round"),
                "metric" => self.pick("清单", "list"),
                "category" => self.pick("类别", "category"),
                "direct" => self.pick("本级直属", "own level"),
                "date" | "on_date" => self.pick("日期", "date"),
                "origin" => self.pick("方式", "how"),
                "unmasked" => self.pick("完整显示", "shown in full"),
                "reason" => self.pick("原因", "reason"),
                "username" => self.pick("用户", "user"),
                "role" => self.pick("角色", "role"),
                "kind" => self.pick("类型", "kind"),
                "name" => self.pick("名称", "name"),
                "title" => self.pick("标题", "title"),
                "task" | "task_id" => self.pick("任务", "task"),
                "person" | "person_id" => self.pick("人员", "person"),
                "count" => self.pick("数量", "count"),
                "level" => self.pick("等级", "level"),
                "county" => self.pick("县区", "county"),
                "township" => self.pick("乡镇街道", "township"),
                "since" => self.pick("起始日期", "since"),
                "barcode" => self.pick("条码", "barcode"),
                "note" => self.pick("备注", "note"),
                "outcome" | "result" => self.pick("结果", "result"),
                "colour" => self.pick("颜色", "colour"),
                "state" => self.pick("状态", "state"),
                "shift" => self.pick("班次", "shift"),
                "recipients" => self.pick("接收人数", "recipients"),
                _ => continue,
            };
            out.push(DetailPart {
                label,
                value: value(k, v),
                recorded: RECORDED_TEXT.contains(&k.as_str()),
            });
        }
        out
    }
}

/// One "label: value" of an audit record's detail.
pub struct DetailPart {
    pub label: &'static str,
    pub value: String,
    /// Typed or worded text kept as it was (not translated).
    pub recorded: bool,
}

/// Detail keys whose values are text as typed or worded, not codes.
const RECORDED_TEXT: &[&str] = &["name", "title", "reason", "note", "username"];
