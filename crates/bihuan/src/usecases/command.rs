//! 指挥部: the duty roster (值班值守) and instructions (指令) that every
//! recipient acknowledges (签收) and answers (反馈), escalating unacknowledged
//! ones at the deadline to the region above and whoever is on duty there.

use bihuan_domain::access::Role;
use bihuan_domain::duty::{self, Rates, Receipt, Shift};
use bihuan_domain::identity::Phone;
use bihuan_domain::regions::RegionCode;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use chrono::Timelike;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::command::{self as store, NewAnswer, NewDuty, NewInstruction};
use crate::storage::repo;

pub const MAX_ATTACHMENTS: usize = 5;
pub const MAX_ATTACHMENT_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutyInput {
    pub region: String,
    pub on_date: String,
    pub shift: String,
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    pub name: String,
    pub content_type: String,
    /// The file, base64-encoded.
    pub data: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructionInput {
    pub title: String,
    pub body: String,
    /// RFC 3339.
    pub due_at: String,
    /// Towns, villages or grids inside the sender's region.
    pub regions: Vec<String>,
    /// Roles that receive it: town, village, grid_worker.
    pub roles: Vec<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
    /// The instruction this one corrects.
    #[serde(default)]
    pub corrects: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    pub body: String,
    #[serde(default)]
    pub photo: Option<AttachmentInput>,
    #[serde(default)]
    pub corrects: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionRates {
    pub region: String,
    pub name: String,
    #[serde(flatten)]
    pub rates: Rates,
    pub ack_percent: u32,
    pub answer_percent: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstructionView {
    pub instruction: store::InstructionRow,
    pub attachments: Vec<(i64, String, String)>,
    /// The viewer's own receipt, when they are a recipient.
    pub mine: Option<store::RecipientRow>,
    /// For senders and the regions above: rates per region and who is missing.
    pub rates: Vec<RegionRates>,
    pub total: Option<RegionRates>,
    pub missing: Vec<store::RecipientRow>,
    /// Acknowledged, but no answer yet: whom to chase for the 反馈.
    pub unanswered: Vec<store::RecipientRow>,
    pub answers: Vec<store::AnswerRow>,
    pub corrected_by: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    pub instruction: store::InstructionRow,
    pub acked_at: Option<i64>,
    pub answered_at: Option<i64>,
}

fn may_send(actor: &Actor) -> Result<()> {
    if matches!(actor.role, Role::Command | Role::Town) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn decode_file(
    e: &mut FieldErrors,
    field: &str,
    f: &AttachmentInput,
    images_only: bool,
) -> Option<(String, String, Vec<u8>)> {
    use base64::Engine;
    let name = e.take(validation::text(&format!("{field}.name"), &f.name, 100));
    let ct = f.content_type.trim().to_ascii_lowercase();
    let allowed = if images_only {
        ["image/jpeg", "image/png", "image/webp"].contains(&ct.as_str())
    } else {
        ct.len() <= 100 && ct.contains('/') && ct.is_ascii() && !ct.contains(['\r', '\n'])
    };
    if !allowed {
        e.push(FieldError::new(
            format!("{field}.content_type"),
            "content_type",
            if images_only {
                "照片须为 JPEG、PNG 或 WebP"
            } else {
                "文件类型无效"
            },
            if images_only {
                "a JPEG, PNG or WebP photo"
            } else {
                "not a content type"
            },
        ));
    }
    let data = match base64::engine::general_purpose::STANDARD.decode(f.data.trim()) {
        Ok(d) if d.is_empty() => {
            e.push(FieldError::new(
                format!("{field}.data"),
                "empty",
                "文件为空",
                "the file is empty",
            ));
            None
        }
        Ok(d) if d.len() > MAX_ATTACHMENT_BYTES => {
            e.push(FieldError::new(
                format!("{field}.data"),
                "too_large",
                "单个文件不能超过2MB",
                "at most 2 MB a file",
            ));
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            e.push(FieldError::new(
                format!("{field}.data"),
                "base64",
                "文件编码无效(应为base64)",
                "not base64",
            ));
            None
        }
    };
    Some((name?, ct, data?)).filter(|_| allowed)
}

impl Services {
    // ---------- duty roster ----------

    /// Puts someone on a region's roster (the region's own staff or above).
    pub async fn add_duty(&self, actor: &Actor, input: DutyInput) -> Result<store::DutyRow> {
        if actor.role == Role::GridWorker {
            return Err(Error::Forbidden);
        }
        let mut e = FieldErrors::default();
        let region = e.take(RegionCode::parse(&input.region, "region"));
        if region.as_ref().is_some_and(|r| !actor.region.contains(r)) {
            e.push(FieldError::new(
                "region",
                "scope",
                "区域须在本辖区内",
                "a region inside yours",
            ));
        }
        let on_date = e.take(validation::date("on_date", &input.on_date));
        let shift = Shift::parse(input.shift.trim());
        if shift.is_none() {
            e.push(FieldError::new(
                "shift",
                "shift",
                "班次应为白班、夜班或全天",
                "day, night or all",
            ));
        }
        let name = e.take(validation::text("name", &input.name, 30));
        if input.name.contains(['"', '\\', '<', '>']) {
            e.push(FieldError::new(
                "name",
                "chars",
                "姓名含有无效字符",
                "the name has characters not allowed",
            ));
        }
        let phone = e.take(Phone::parse(&input.phone, "phone"));
        let (Some(region), Some(on_date), Some(shift), Some(name), Some(phone)) =
            (region, on_date, shift, name, phone)
        else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (svc, who, now) = (self.clone(), actor.username.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if repo::region(c, region.as_str()).await?.is_none() {
                        return Err(Error::field("region", "unknown", "区域不存在", "no such region"));
                    }
                    let date = on_date.to_string();
                    let added = store::insert_duty(
                        c,
                        &NewDuty {
                            region: region.as_str(),
                            on_date: &date,
                            shift: shift.as_str(),
                            name: &name,
                            phone_enc: &svc.vault.encrypt(phone.as_str()),
                            phone_masked: &phone.masked(),
                            created_by: &who,
                        },
                        now,
                    )
                    .await?;
                    if !added {
                        return Err(Error::Refused {
                            code: "duplicate",
                            zh: "此人已在该班次",
                            en: "already on this shift",
                        });
                    }
                    repo::insert_event(c, now, &who, None, None, "duty_added", &json!({"region": region.as_str(), "on_date": date, "shift": shift.as_str(), "name": name}))
                        .await?;
                    svc.open_duties(store::duty_of(c, region.as_str(), &date, shift.as_str()).await?)
                        .into_iter()
                        .find(|d| d.name == name)
                        .ok_or(Error::NotFound)
                })
            })
            .await
    }

    pub async fn duty_roster(&self, actor: &Actor) -> Result<Vec<store::DutyRow>> {
        let mut c = self.db.pool().acquire().await?;
        let from = self
            .clock
            .today()
            .pred_opt()
            .unwrap_or(self.clock.today())
            .to_string();
        Ok(self.open_duties(store::duties_in(&mut c, actor.scope(), &from).await?))
    }

    /// Fills in each entry's phone from its encrypted copy.
    fn open_duties(&self, mut rows: Vec<store::DutyRow>) -> Vec<store::DutyRow> {
        for d in &mut rows {
            d.phone = self
                .vault
                .decrypt(&d.phone_enc)
                .unwrap_or_else(|| d.phone_masked.clone());
        }
        rows
    }

    /// Regions one level below `actor`'s (and their own) with nobody on the
    /// roster today: flagged for the command.
    pub async fn regions_without_duty(&self, actor: &Actor) -> Result<Vec<repo::RegionRow>> {
        self.regions_without_duty_under(actor.scope()).await
    }

    /// The same for any region (the caller has checked the viewer's scope).
    pub async fn regions_without_duty_under(&self, scope: &str) -> Result<Vec<repo::RegionRow>> {
        let mut c = self.db.pool().acquire().await?;
        let today = self.clock.today().to_string();
        let on = store::regions_on_duty(&mut c, scope, &today).await?;
        let mut out = Vec::new();
        if let Some(own) = repo::region(&mut c, scope).await?
            && !on.contains(&own.code)
        {
            out.push(own);
        }
        for child in repo::children(&mut c, scope).await? {
            if !on.contains(&child.code) {
                out.push(child);
            }
        }
        Ok(out)
    }

    /// Whoever is on duty in `region` now, as "name phone" for escalations.
    async fn on_duty(&self, c: &mut AnyConnection, region: &str) -> Result<Option<String>> {
        let local = crate::clock::shanghai(self.clock.now());
        for (date, shift) in duty::on_duty_at(local.date_naive(), local.hour()) {
            // Kept on the task and in the event log, so masked: the roster
            // has the number in full for whoever needs to call.
            let found = store::duty_of(c, region, &date.to_string(), shift.as_str()).await?;
            if !found.is_empty() {
                let names: Vec<String> = found
                    .iter()
                    .map(|d| format!("{} {}", d.name, d.phone_masked))
                    .collect();
                return Ok(Some(names.join("、")));
            }
        }
        Ok(None)
    }

    /// The per-minute escalation: overdue tasks and unacknowledged
    /// instructions go one region up, to whoever is on duty there.
    pub(crate) async fn escalate_all(&self, c: &mut AnyConnection, now: i64) -> Result<u64> {
        use crate::storage::monitoring as jobs;
        let mut n = repo::escalate_overdue(c, now).await?;
        // Each region and each receipt is a row of the job: one that fails
        // is rolled back alone and logged, and the others still escalate.
        for (i, region) in store::escalated_task_targets(c, now)
            .await?
            .iter()
            .enumerate()
        {
            jobs::row_begin(c).await?;
            let r = self.task_duty(c, region, now).await;
            jobs::row_end(c, "escalate_tasks", i64::try_from(i).unwrap_or(-1), r).await?;
        }
        for (instruction, user, region) in store::overdue_receipts(c, now).await? {
            jobs::row_begin(c).await?;
            let r = self.escalate_one(c, instruction, user, &region, now).await;
            n += u64::from(
                jobs::row_end(c, "escalate_receipts", instruction, r)
                    .await?
                    .unwrap_or_default(),
            );
        }
        Ok(n)
    }

    /// Names who is on duty on the tasks just escalated to `region`.
    async fn task_duty(&self, c: &mut AnyConnection, region: &str, now: i64) -> Result<()> {
        if let Some(duty) = self.on_duty(c, region).await? {
            store::set_task_duty(c, now, region, &duty).await?;
        }
        Ok(())
    }

    /// Escalates one overdue receipt one region up; whether it did.
    async fn escalate_one(
        &self,
        c: &mut AnyConnection,
        instruction: i64,
        user: i64,
        region: &str,
        now: i64,
    ) -> Result<bool> {
        let Some(to) = duty::escalation_target(region) else {
            return Ok(false);
        };
        let duty = self.on_duty(c, to).await?;
        if !store::escalate_receipt(c, instruction, user, to, duty.as_deref(), now).await? {
            return Ok(false);
        }
        repo::insert_event(
            c,
            now,
            "system",
            None,
            None,
            "instruction_escalated",
            &json!({"instruction": instruction, "user": user, "to": to, "region": to, "duty": duty}),
        )
        .await?;
        Ok(true)
    }

    // ---------- instructions ----------

    /// The command or a town sends an instruction to roles in regions
    /// inside its own; every matching user becomes a recipient now.
    pub async fn send_instruction(
        &self,
        actor: &Actor,
        input: InstructionInput,
    ) -> Result<serde_json::Value> {
        may_send(actor)?;
        let mut e = FieldErrors::default();
        let title = e.take(validation::text("title", &input.title, 100));
        let body = e.take(validation::text("body", &input.body, 5000));
        let due_at = match chrono::DateTime::parse_from_rfc3339(input.due_at.trim()) {
            Ok(t) if t.timestamp() > self.clock.timestamp() => Some(t.timestamp()),
            Ok(_) => {
                e.push(FieldError::new(
                    "due_at",
                    "range",
                    "截止时间须晚于现在",
                    "the deadline must be in the future",
                ));
                None
            }
            Err(_) => {
                e.push(FieldError::new(
                    "due_at",
                    "datetime",
                    "截止时间格式应为 2022-01-28T21:00:00+08:00",
                    "an RFC 3339 time such as 2022-01-28T21:00:00+08:00",
                ));
                None
            }
        };
        let mut regions = Vec::new();
        if input.regions.is_empty() || input.regions.len() > 50 {
            e.push(FieldError::new(
                "regions",
                "count",
                "请选择1至50个区域",
                "choose 1 to 50 regions",
            ));
        }
        for (i, r) in input.regions.iter().enumerate() {
            match RegionCode::parse(r, &format!("regions[{i}]")) {
                Ok(code) if actor.region.contains(&code) => regions.push(code.as_str().to_string()),
                Ok(_) => e.push(FieldError::new(
                    format!("regions[{i}]"),
                    "scope",
                    "区域须在本辖区内",
                    "a region inside yours",
                )),
                Err(err) => e.push(err),
            }
        }
        let mut roles = Vec::new();
        for (i, r) in input.roles.iter().enumerate() {
            match Role::parse(r) {
                Some(role) if role != Role::Command => roles.push(role.as_str().to_string()),
                _ => e.push(FieldError::new(
                    format!("roles[{i}]"),
                    "role",
                    "角色应为镇街、村社区或网格员",
                    "town, village or grid_worker",
                )),
            }
        }
        if input.roles.is_empty() {
            e.push(FieldError::new(
                "roles",
                "required",
                "请选择接收角色",
                "choose who receives it",
            ));
        }
        if input.attachments.len() > MAX_ATTACHMENTS {
            e.push(FieldError::new(
                "attachments",
                "count",
                "附件最多5个",
                "at most 5 attachments",
            ));
        }
        let files: Vec<_> = input
            .attachments
            .iter()
            .enumerate()
            .map(|(i, f)| decode_file(&mut e, &format!("attachments[{i}]"), f, false))
            .collect();
        let (Some(title), Some(body), Some(due_at)) = (title, body, due_at) else {
            return Err(e.into());
        };
        e.into_result(())?;
        roles.sort();
        roles.dedup();
        let files: Vec<_> = files.into_iter().flatten().collect();
        let (actor, now) = (actor.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if let Some(old) = input.corrects {
                        let o = store::instruction(c, old).await?.ok_or(Error::NotFound)?;
                        if !o.sender_region.starts_with(actor.scope()) {
                            return Err(Error::NotFound);
                        }
                    }
                    let id = store::insert_instruction(
                        c,
                        &NewInstruction {
                            title: &title,
                            body: &body,
                            sender: &actor.username,
                            sender_region: actor.scope(),
                            regions: &regions.join(","),
                            roles: &roles.join(","),
                            due_at,
                            corrects: input.corrects,
                        },
                        now,
                    )
                    .await?;
                    for (name, ct, data) in &files {
                        store::insert_attachment(c, id, name, ct, data).await?;
                    }
                    let recipients = store::add_recipients(c, id, &regions, &roles).await?;
                    if recipients == 0 {
                        return Err(Error::field("regions", "nobody", "所选区域和角色下没有用户", "no users of those roles in those regions"));
                    }
                    repo::insert_event(c, now, &actor.username, None, None, "instruction_sent", &json!({"instruction": id, "recipients": recipients, "corrects": input.corrects}))
                        .await?;
                    Ok(json!({"id": id, "recipients": recipients}))
                })
            })
            .await
    }

    pub async fn inbox(&self, actor: &Actor) -> Result<Vec<InboxItem>> {
        let mut c = self.db.pool().acquire().await?;
        Ok(store::inbox(&mut c, actor.user_id)
            .await?
            .into_iter()
            .map(|(instruction, acked_at, answered_at)| InboxItem {
                instruction,
                acked_at,
                answered_at,
            })
            .collect())
    }

    pub async fn sent_instructions(&self, actor: &Actor) -> Result<Vec<store::InstructionRow>> {
        may_send(actor)?;
        let mut c = self.db.pool().acquire().await?;
        store::sent_in(&mut c, actor.scope()).await
    }

    /// One instruction as the viewer may see it: a recipient sees it and
    /// their own receipt and answers; the sender's region and those above
    /// see the rates per region and who is missing, and a leader whose
    /// region holds recipients sees the same for those.
    pub async fn instruction_view(&self, actor: &Actor, id: i64) -> Result<InstructionView> {
        let mut c = self.db.pool().acquire().await?;
        let i = store::instruction(&mut c, id)
            .await?
            .ok_or(Error::NotFound)?;
        let recipients = store::recipients(&mut c, id).await?;
        let mine = recipients
            .iter()
            .find(|r| r.user_id == actor.user_id)
            .cloned();
        // The sender's region and those above follow every recipient; a
        // leader below (a town under the city's instruction, a village an
        // unread receipt escalated to) follows the recipients in their region.
        let follows_all = matches!(actor.role, Role::Command | Role::Town)
            && i.sender_region.starts_with(actor.scope());
        let base = if follows_all {
            i.sender_region.clone()
        } else {
            actor.scope().to_string()
        };
        let followed: Vec<&store::RecipientRow> = match actor.role {
            Role::GridWorker => Vec::new(),
            _ => recipients
                .iter()
                .filter(|r| r.region.starts_with(&base))
                .collect(),
        };
        if mine.is_none() && followed.is_empty() {
            return Err(Error::NotFound);
        }
        let mut answers = store::answers(&mut c, id).await?;
        answers.retain(|a| {
            a.user_id == actor.user_id || followed.iter().any(|r| r.user_id == a.user_id)
        });
        let (mut rates, mut total) = (Vec::new(), None);
        let (mut missing, mut unanswered) = (Vec::new(), Vec::new());
        if !followed.is_empty() {
            let mut by: std::collections::BTreeMap<String, Rates> = Default::default();
            let mut all = Rates::default();
            for r in followed {
                let receipt = Receipt {
                    acknowledged: r.acked_at.is_some(),
                    answered: r.answered_at.is_some(),
                };
                by.entry(duty::rollup_region(&base, &r.region).to_string())
                    .or_default()
                    .add(receipt);
                all.add(receipt);
                match (r.acked_at, r.answered_at) {
                    (None, None) => missing.push(r.clone()),
                    (Some(_), None) => unanswered.push(r.clone()),
                    _ => {}
                }
            }
            for (region, r) in by {
                let name = repo::region(&mut c, &region)
                    .await?
                    .map(|x| x.name)
                    .unwrap_or_default();
                rates.push(RegionRates {
                    ack_percent: r.ack_percent(),
                    answer_percent: r.answer_percent(),
                    region,
                    name,
                    rates: r,
                });
            }
            total = Some(RegionRates {
                ack_percent: all.ack_percent(),
                answer_percent: all.answer_percent(),
                region: base.clone(),
                name: String::new(),
                rates: all,
            });
        }
        let corrected_by = store::corrections_of(&mut c, id).await?;
        Ok(InstructionView {
            attachments: store::attachments(&mut c, id).await?,
            instruction: i,
            mine,
            rates,
            total,
            missing,
            unanswered,
            answers,
            corrected_by,
        })
    }

    /// 签收.
    pub async fn acknowledge_instruction(&self, actor: &Actor, id: i64) -> Result<()> {
        let (actor, now) = (actor.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if !store::is_recipient(c, id, actor.user_id).await? {
                        return Err(Error::NotFound);
                    }
                    if store::acknowledge(c, id, actor.user_id, now).await? {
                        repo::insert_event(
                            c,
                            now,
                            &actor.username,
                            None,
                            None,
                            "instruction_acknowledged",
                            &json!({"instruction": id}),
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// 反馈: text and an optional photo; a correction is a new answer.
    /// NotFound unless the actor is one of the instruction's recipients:
    /// a cheap check before an answer's body is read.
    pub async fn check_recipient(&self, actor: &Actor, id: i64) -> Result<()> {
        let mut c = self.db.pool().acquire().await?;
        if store::is_recipient(&mut c, id, actor.user_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    pub async fn answer_instruction(
        &self,
        actor: &Actor,
        id: i64,
        input: AnswerInput,
    ) -> Result<i64> {
        let mut e = FieldErrors::default();
        let body = e.take(validation::text("body", &input.body, 2000));
        let photo = input
            .photo
            .as_ref()
            .and_then(|p| decode_file(&mut e, "photo", p, true));
        let Some(body) = body else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (actor, now) = (actor.clone(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if !store::is_recipient(c, id, actor.user_id).await? {
                        return Err(Error::NotFound);
                    }
                    if let Some(old) = input.corrects
                        && store::answer_owner(c, old).await? != Some((id, actor.user_id))
                    {
                        return Err(Error::field(
                            "corrects",
                            "unknown",
                            "只能更正自己的反馈",
                            "you can only correct your own answer",
                        ));
                    }
                    let answer = store::insert_answer(
                        c,
                        &NewAnswer {
                            instruction_id: id,
                            user_id: actor.user_id,
                            username: &actor.username,
                            body: &body,
                            photo: photo.as_ref().map(|p| (p.2.as_slice(), p.1.as_str())),
                            corrects: input.corrects,
                        },
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "instruction_answered",
                        &json!({"instruction": id, "answer": answer, "corrects": input.corrects}),
                    )
                    .await?;
                    Ok(answer)
                })
            })
            .await
    }

    pub async fn instruction_attachment(
        &self,
        actor: &Actor,
        id: i64,
        file: i64,
    ) -> Result<(String, String, Vec<u8>)> {
        self.instruction_view(actor, id).await?;
        let mut c = self.db.pool().acquire().await?;
        store::attachment(&mut c, id, file)
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn answer_photo(
        &self,
        actor: &Actor,
        id: i64,
        answer: i64,
    ) -> Result<(String, Vec<u8>)> {
        let v = self.instruction_view(actor, id).await?;
        if !v.answers.iter().any(|a| a.id == answer) {
            return Err(Error::NotFound);
        }
        let mut c = self.db.pool().acquire().await?;
        store::answer_photo(&mut c, id, answer)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Instructions sent from outside the actor's region that reach
    /// recipients inside it, newest first (a town under the city's
    /// instruction, a village whose workers it names).
    pub async fn instructions_reaching(&self, actor: &Actor) -> Result<Vec<store::InstructionRow>> {
        if actor.role == Role::GridWorker {
            return Ok(Vec::new());
        }
        let mut c = self.db.pool().acquire().await?;
        store::reaching(&mut c, actor.scope()).await
    }

    /// Unacknowledged instructions escalated to the viewer's region.
    pub async fn instruction_escalations(&self, actor: &Actor) -> Result<Vec<EscalatedReceipt>> {
        let mut c = self.db.pool().acquire().await?;
        Ok(store::escalations_in(&mut c, actor.scope())
            .await?
            .into_iter()
            .map(
                |(instruction, title, username, escalated_to, duty)| EscalatedReceipt {
                    instruction,
                    title,
                    username,
                    escalated_to,
                    duty,
                },
            )
            .collect())
    }
}

/// An unacknowledged receipt that went up to a leader.
#[derive(Debug, Clone, Serialize)]
pub struct EscalatedReceipt {
    pub instruction: i64,
    pub title: String,
    pub username: String,
    pub escalated_to: String,
    /// Who was on duty there, masked phone included.
    pub duty: Option<String>,
}

/// The audit search as typed: every field optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    /// YYYY-MM-DD, Asia/Shanghai, inclusive.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
}

pub const AUDIT_PAGE: i64 = 200;

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Services {
    /// 审计: the command searches the event log by person, user, region,
    /// action and time. The search itself is audited.
    pub async fn audit(&self, actor: &Actor, q: &AuditQuery) -> Result<Vec<store::AuditRow>> {
        if actor.role != Role::Command {
            return Err(Error::Forbidden);
        }
        let mut e = FieldErrors::default();
        let id = |e: &mut FieldErrors, field: &str, v: Option<&str>| -> Option<i64> {
            let v = v?;
            match v.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    e.push(FieldError::new(
                        field,
                        "number",
                        "应为正整数",
                        "a positive number",
                    ));
                    None
                }
            }
        };
        let person_id = id(&mut e, "person", blank(&q.person));
        let before_id = id(&mut e, "before", blank(&q.before));
        let region = blank(&q.region).and_then(|r| e.take(RegionCode::parse(r, "region")));
        let day = |e: &mut FieldErrors, field: &str, v: Option<&str>| {
            v.and_then(|v| e.take(validation::date(field, v)))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc().timestamp() - 8 * 3600)
        };
        let from = day(&mut e, "from", blank(&q.from));
        let to = day(&mut e, "to", blank(&q.to)).map(|t| t + 86_400);
        for (field, v, max) in [
            ("user", blank(&q.user), 64),
            ("action", blank(&q.action), 64),
        ] {
            if let Some(v) = v
                && (v.chars().count() > max || v.chars().any(char::is_control))
            {
                e.push(FieldError::new(field, "text", "内容无效", "not valid here"));
            }
        }
        e.into_result(())?;
        let filter = store::EventFilter {
            person_id,
            actor: blank(&q.user).map(str::to_string),
            region: region.map(|r| r.as_str().to_string()),
            kind: blank(&q.action).map(str::to_string),
            from,
            to,
            before_id,
        };
        let rows = {
            let mut c = self.db.pool().acquire().await?;
            store::search_events(&mut c, &filter, AUDIT_PAGE).await?
        };
        let (who, now) = (actor.username.clone(), self.clock.timestamp());
        let what = serde_json::to_value(q).unwrap_or_default();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    repo::insert_event(c, now, &who, None, None, "audit_searched", &what).await
                })
            })
            .await?;
        Ok(rows)
    }
}
