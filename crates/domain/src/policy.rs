//! The prevention policy: versioned data, and triage as a pure function of a
//! person's facts, the risk-area list and the policy.

use chrono::{Datelike, Duration};
use serde::{Deserialize, Serialize};

use crate::Date;
use crate::plan::{PhaseSpec, Plan, PlanSpec};
use crate::regions::Divisions;
use crate::risk::RiskArea;

/// The policy the system ships with (POLICY.md), as a data file.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../policy/zj-2022-01-27.toml");

/// What makes a category apply. The vocabulary is code; which triggers a
/// policy uses, in which order and with which plan, is data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Abroad,
    RedCode,
    RiskStreet,
    YellowCode,
    RiskCounty,
    OutOfProvince,
    Always,
    /// Never found by triage: assigned by an event (a positive pooled tube,
    /// a zone drawn around someone's home).
    Assigned,
}

/// Which day counts as day 1 of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOne {
    EntryIntoChina,
    Exposure,
    Arrival,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub name: String,
    pub label_zh: String,
    pub label_en: String,
    pub trigger: Trigger,
    pub day_one: DayOne,
    pub measure_zh: String,
    pub measure_en: String,
    pub phases: Vec<PhaseSpec>,
    pub test_days: Vec<u32>,
    #[serde(default)]
    pub double_test_days: Vec<u32>,
    /// No verification task when absent (registration only).
    pub verify_within_hours: Option<u32>,
    #[serde(default)]
    pub negative_test_waives_arrival_test: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymptomRule {
    pub task_hours: u32,
    pub task_zh: String,
    pub task_en: String,
}

/// Deadlines of the daily work a running control creates, in hours, and
/// the hour by which the day's check-in is due (Asia/Shanghai).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    pub check_in_by_hour: u32,
    pub check_in_missed_hours: u32,
    pub test_missed_hours: u32,
    pub positive_hours: u32,
    pub release_hours: u32,
    pub help_hours: u32,
    pub transfer_in_hours: u32,
    /// A 协查 row's verification when the list gives no deadline.
    pub assist_hours: u32,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            check_in_by_hour: 20,
            check_in_missed_hours: 12,
            test_missed_hours: 24,
            positive_hours: 2,
            release_hours: 24,
            help_hours: 4,
            transfer_in_hours: 12,
            assist_hours: 24,
        }
    }
}

/// 流调: how far before onset (or the first positive sample) a case is
/// taken to be infectious.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingRule {
    pub days_before: u32,
}

impl Default for TracingRule {
    fn default() -> Self {
        TracingRule { days_before: 4 }
    }
}

/// A kind of venue: how long a stay without a leaving time lasts, and how
/// far stays are widened on each side when looking for overlaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueType {
    pub name: String,
    pub label_zh: String,
    pub label_en: String,
    pub typical_stay_minutes: u32,
    pub widen_minutes: u32,
}

/// A key industry whose workers are tested on a rolling schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Industry {
    pub name: String,
    pub label_zh: String,
    pub label_en: String,
    /// A worker is overdue once this many days have passed since their last
    /// negative test.
    pub every_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub version: String,
    pub title_zh: String,
    pub title_en: String,
    pub home_province: String,
    pub window_days: u32,
    pub symptoms: SymptomRule,
    #[serde(default)]
    pub deadlines: Deadlines,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
    #[serde(default, rename = "industry")]
    pub industries: Vec<Industry>,
    #[serde(default)]
    pub tracing: TracingRule,
    #[serde(default, rename = "venue_type")]
    pub venue_types: Vec<VenueType>,
    #[serde(default)]
    pub pharmacy: PharmacyRule,
    #[serde(default)]
    pub drill: crate::drill::DrillRule,
    #[serde(default)]
    pub surge: crate::surge::SurgeRule,
    #[serde(default)]
    pub checkpoint: crate::checkpoint::CheckpointRule,
    #[serde(default)]
    pub gathering: crate::gathering::GatheringRule,
    #[serde(default)]
    pub goods: crate::goods::GoodsRule,
}

/// A class of drug whose purchase a pharmacy reports (药店哨点).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugClass {
    pub name: String,
    pub label_zh: String,
    pub label_en: String,
}

/// 药店哨点: the reported drug classes, and the test a buyer owes: one within
/// `test_within_hours` unless they had a negative one in the last
/// `negative_within_hours`. A febrile buyer's 发热就诊转运 is due within
/// `referral_within_hours`: a fever-clinic visit in that window closes it,
/// else it escalates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PharmacyRule {
    #[serde(rename = "drug_class")]
    pub drug_classes: Vec<DrugClass>,
    pub negative_within_hours: u32,
    pub test_within_hours: u32,
    #[serde(default = "default_referral_within_hours")]
    pub referral_within_hours: u32,
}

fn default_referral_within_hours() -> u32 {
    24
}

impl Default for PharmacyRule {
    /// No class reported until a policy names them.
    fn default() -> Self {
        PharmacyRule {
            drug_classes: Vec::new(),
            negative_within_hours: 48,
            test_within_hours: 72,
            referral_within_hours: default_referral_within_hours(),
        }
    }
}

impl Policy {
    /// Parses and checks a policy document.
    pub fn from_toml(text: &str) -> Result<Policy, String> {
        let p: Policy = toml::from_str(text).map_err(|e| e.to_string())?;
        p.check()?;
        Ok(p)
    }

    pub fn default_policy() -> Policy {
        Policy::from_toml(DEFAULT_POLICY_TOML).expect("the shipped policy is valid")
    }

    fn check(&self) -> Result<(), String> {
        if self.categories.last().map(|c| c.trigger) != Some(Trigger::Always) {
            return Err("the last category must have trigger = \"always\"".into());
        }
        for c in &self.categories {
            if c.phases.iter().any(|p| p.days == 0) || c.test_days.contains(&0) {
                return Err(format!("{}: phases and test days count from 1", c.name));
            }
        }
        self.drill.check()
    }

    /// Severity rank of a category name: 0 is the most severe.
    pub fn rank(&self, category: &str) -> usize {
        self.categories
            .iter()
            .position(|c| c.name == category)
            .unwrap_or(self.categories.len())
    }

    pub fn industry(&self, name: &str) -> Option<&Industry> {
        self.industries.iter().find(|i| i.name == name)
    }

    pub fn venue_type(&self, name: &str) -> Option<&VenueType> {
        self.venue_types.iter().find(|v| v.name == name)
    }

    pub fn drug_class(&self, name: &str) -> Option<&DrugClass> {
        self.pharmacy.drug_classes.iter().find(|d| d.name == name)
    }

    pub fn category(&self, name: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCode {
    Green,
    Yellow,
    Red,
}

impl HealthCode {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthCode::Green => "green",
            HealthCode::Yellow => "yellow",
            HealthCode::Red => "red",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "green" => Some(HealthCode::Green),
            "yellow" => Some(HealthCode::Yellow),
            "red" => Some(HealthCode::Red),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Symptom {
    Fever,
    Cough,
    SoreThroat,
    Fatigue,
    LossOfSmellTaste,
}

impl Symptom {
    pub const ALL: [Symptom; 5] = [
        Symptom::Fever,
        Symptom::Cough,
        Symptom::SoreThroat,
        Symptom::Fatigue,
        Symptom::LossOfSmellTaste,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Symptom::Fever => "fever",
            Symptom::Cough => "cough",
            Symptom::SoreThroat => "sore_throat",
            Symptom::Fatigue => "fatigue",
            Symptom::LossOfSmellTaste => "loss_of_smell_taste",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Symptom::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Symptom::Fever => "发热",
            Symptom::Cough => "咳嗽",
            Symptom::SoreThroat => "咽痛",
            Symptom::Fatigue => "乏力",
            Symptom::LossOfSmellTaste => "嗅(味)觉减退",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Symptom::Fever => "fever",
            Symptom::Cough => "cough",
            Symptom::SoreThroat => "sore throat",
            Symptom::Fatigue => "fatigue",
            Symptom::LossOfSmellTaste => "loss of smell or taste",
        }
    }
}

/// A place in China at county level, optionally narrowed to a township.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub county: String,
    pub township: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    pub place: Place,
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Abroad {
    pub country: String,
    pub entered_china_on: Date,
}

/// Everything triage reads about one arrival.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub arrival: Date,
    pub origin: Place,
    pub departed_on: Date,
    pub itinerary: Vec<Stop>,
    pub abroad: Option<Abroad>,
    pub health_code: HealthCode,
    pub symptoms: Vec<Symptom>,
    pub negative_test_48h: Option<Date>,
}

impl Facts {
    fn window_start(&self, policy: &Policy) -> Date {
        self.arrival - Duration::days(i64::from(policy.window_days))
    }

    /// Presences inside the window: the origin from the window's start to the
    /// departure, and each stop; those that end before the window are dropped.
    pub fn presences(&self, policy: &Policy) -> Vec<Stop> {
        let start = self.window_start(policy);
        std::iter::once(Stop {
            place: self.origin.clone(),
            from: start,
            to: self.departed_on,
        })
        .chain(self.itinerary.iter().cloned())
        .filter(|s| s.to >= start)
        .map(|s| Stop {
            from: s.from.max(start),
            ..s
        })
        .collect()
    }
}

/// One reason, ready to be read aloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub zh: String,
    pub en: String,
}

/// Triage's answer for one set of facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub category: String,
    pub measure: String,
    pub policy_version: String,
    pub day_one: Date,
    pub reasons: Vec<Reason>,
    pub plan: Plan,
    pub verify_within_hours: Option<u32>,
    /// Symptoms were declared: an urgent fever-clinic transfer is due.
    pub fever_transfer_within_hours: Option<u32>,
    /// Ids of the risk-area entries that decided the category.
    pub risk_area_ids: Vec<i64>,
}

impl Assessment {
    /// Orders two assessments by severity: `Greater` means `self` is stricter.
    /// Category order decides; on a tie the later release date is stricter.
    pub fn strictness_cmp(&self, other: &Assessment, policy: &Policy) -> std::cmp::Ordering {
        policy
            .rank(&other.category)
            .cmp(&policy.rank(&self.category))
            .then(self.plan.release_on.cmp(&other.plan.release_on))
    }
}

struct Decision<'a> {
    category: &'a Category,
    day_one: Date,
    facts_zh: String,
    facts_en: String,
    areas: Vec<i64>,
}

/// The category, measure, plan and reasons for `facts` under `policy`, given
/// the risk-area list (lifted entries included: they still count up to `until`).
pub fn triage(policy: &Policy, areas: &[RiskArea], facts: &Facts) -> Assessment {
    let presences = facts.presences(policy);
    let decision = policy
        .categories
        .iter()
        .find_map(|c| decide(policy, c, areas, facts, &presences))
        .expect("the last category always applies");
    let c = decision.category;
    let spec = PlanSpec {
        phases: &c.phases,
        test_days: &c.test_days,
        double_test_days: &c.double_test_days,
        negative_test_waives_arrival_test: c.negative_test_waives_arrival_test,
    };
    let mut plan = Plan::build(
        &spec,
        decision.day_one,
        facts.arrival,
        facts.negative_test_48h.is_some(),
    );
    let mut reasons = vec![Reason {
        zh: format!(
            "{} → {}：{}",
            decision.facts_zh,
            c.label_zh,
            measure_text_zh(c)
        ),
        en: format!(
            "{} → {}: {}",
            decision.facts_en,
            c.label_en,
            measure_text_en(c)
        ),
    }];
    if c.negative_test_waives_arrival_test && facts.negative_test_48h.is_some() {
        reasons.push(Reason {
            zh: "已申报48小时内核酸阴性证明，核查时须查验".into(),
            en: "a negative test within 48 hours was declared; check it at verification".into(),
        });
    }
    let mut fever = None;
    if !facts.symptoms.is_empty() {
        plan = plan.with_symptom_test(facts.arrival, decision.day_one);
        let zh: Vec<_> = facts.symptoms.iter().map(|s| s.label_zh()).collect();
        let en: Vec<_> = facts.symptoms.iter().map(|s| s.label_en()).collect();
        let r = &policy.symptoms;
        reasons.push(Reason {
            zh: format!(
                "申报有{}症状 → {}（{}小时内），到达当日核酸检测",
                zh.join("、"),
                r.task_zh,
                r.task_hours
            ),
            en: format!(
                "declared {} → {} within {} hours, and a test on the arrival day",
                en.join(", "),
                r.task_en,
                r.task_hours
            ),
        });
        fever = Some(r.task_hours);
    }
    Assessment {
        category: c.name.clone(),
        measure: c.measure_zh.clone(),
        policy_version: policy.version.clone(),
        day_one: decision.day_one,
        reasons,
        plan,
        verify_within_hours: c.verify_within_hours,
        fever_transfer_within_hours: fever,
        risk_area_ids: decision.areas,
    }
}

fn decide<'a>(
    policy: &Policy,
    c: &'a Category,
    areas: &[RiskArea],
    facts: &Facts,
    presences: &[Stop],
) -> Option<Decision<'a>> {
    let arrival = facts.arrival;
    let simple = |day_one: Date, zh: String, en: String| Decision {
        category: c,
        day_one,
        facts_zh: zh,
        facts_en: en,
        areas: vec![],
    };
    match c.trigger {
        Trigger::Abroad => {
            let a = facts.abroad.as_ref()?;
            // The country by name where the code is known (日本, Japan).
            let country = crate::countries::by_code(&a.country);
            let zh = country.map_or(a.country.as_str(), |c| c.zh);
            let en = country.map_or(a.country.as_str(), |c| c.en);
            (a.entered_china_on >= facts.window_start(policy)).then(|| {
                simple(
                    a.entered_china_on,
                    format!("{}从境外（{zh}）入境", md_zh(a.entered_china_on)),
                    format!(
                        "entered China from abroad ({en}) on {}",
                        md_en(a.entered_china_on)
                    ),
                )
            })
        }
        Trigger::RedCode => (facts.health_code == HealthCode::Red)
            .then(|| simple(arrival, "健康码为红码".into(), "red health code".into())),
        Trigger::YellowCode => (facts.health_code == HealthCode::Yellow)
            .then(|| simple(arrival, "健康码为黄码".into(), "yellow health code".into())),
        Trigger::RiskStreet | Trigger::RiskCounty => {
            risk_decision(c, areas, presences, c.trigger == Trigger::RiskStreet)
        }
        Trigger::OutOfProvince => {
            let outside = presences
                .iter()
                .find(|p| !p.place.county.starts_with(&policy.home_province))?;
            let name = Divisions::get().place_name(&outside.place.county, None);
            Some(simple(
                arrival,
                format!("14天内到过省外（{name}）"),
                format!("within 14 days was outside the province ({name})"),
            ))
        }
        Trigger::Assigned => None,
        Trigger::Always => Some(simple(
            arrival,
            "14天内无省外及中高风险地区旅居史".into(),
            "no stay outside the province or in a risk area within 14 days".into(),
        )),
    }
}

/// The matching presence with the latest exposure day decides day 1.
fn risk_decision<'a>(
    c: &'a Category,
    areas: &[RiskArea],
    presences: &[Stop],
    same_street: bool,
) -> Option<Decision<'a>> {
    let mut best: Option<(Date, &Stop, &RiskArea)> = None;
    let mut ids = Vec::new();
    for p in presences {
        for a in areas.iter().filter(|a| a.county == p.place.county) {
            let covers = a.covers_township(p.place.township.as_deref());
            if covers != same_street {
                continue;
            }
            if let Some(day) = a.exposure(p.from, p.to) {
                ids.push(a.id);
                if best.is_none_or(|(d, _, _)| day > d) {
                    best = Some((day, p, a));
                }
            }
        }
    }
    let (day_one, p, a) = best?;
    ids.sort_unstable();
    ids.dedup();
    let names = Divisions::get();
    let stay = names.place_name(&p.place.county, p.place.township.as_deref());
    let area = area_name(a);
    let (zh, en) = if same_street {
        (
            format!(
                "{}在 {}（{}地区，{}以来）停留",
                span_zh(p.from, p.to),
                stay,
                a.level.label_zh(),
                md_zh(a.since)
            ),
            format!(
                "stayed in {} {} ({} area since {})",
                stay,
                span_en(p.from, p.to),
                a.level.label_en(),
                md_en(a.since)
            ),
        )
    } else {
        (
            format!(
                "{}在 {} 停留，该县（市、区）有{}地区 {}（{}以来）",
                span_zh(p.from, p.to),
                stay,
                a.level.label_zh(),
                area,
                md_zh(a.since)
            ),
            format!(
                "stayed in {} {}, a county with the {} area {} (since {})",
                stay,
                span_en(p.from, p.to),
                a.level.label_en(),
                area,
                md_en(a.since)
            ),
        )
    };
    Some(Decision {
        category: c,
        day_one,
        facts_zh: zh,
        facts_en: en,
        areas: ids,
    })
}

/// An assessment for a category set by an event rather than by triage (a
/// positive pooled tube): day 1 is `today`, with the given reason.
pub fn assign(policy: &Policy, category: &str, today: Date, reason: Reason) -> Option<Assessment> {
    let c = policy.category(category)?;
    let spec = PlanSpec {
        phases: &c.phases,
        test_days: &c.test_days,
        double_test_days: &c.double_test_days,
        negative_test_waives_arrival_test: true,
    };
    Some(Assessment {
        category: c.name.clone(),
        measure: c.measure_zh.clone(),
        policy_version: policy.version.clone(),
        day_one: today,
        reasons: vec![Reason {
            zh: format!("{} → {}：{}", reason.zh, c.label_zh, measure_text_zh(c)),
            en: format!("{} → {}: {}", reason.en, c.label_en, measure_text_en(c)),
        }],
        // No arrival here: only the category's own test days.
        plan: Plan::build(&spec, today, today, true),
        verify_within_hours: c.verify_within_hours,
        fever_transfer_within_hours: None,
        risk_area_ids: vec![],
    })
}

/// "北京市丰台区 西罗园街道 某小区".
pub fn area_name(a: &RiskArea) -> String {
    let mut s = Divisions::get().place_name(&a.county, a.township.as_deref());
    if let Some(sub) = &a.subarea {
        s.push(' ');
        s.push_str(sub);
    }
    s
}

/// Explains why a re-assessment raised a control, naming the new listing.
pub fn raise_reason(a: &RiskArea) -> Reason {
    Reason {
        zh: format!(
            "{}新增：{} {}地区，{}以来",
            md_zh(a.listed_on),
            area_name(a),
            a.level.label_zh(),
            md_zh(a.since)
        ),
        en: format!(
            "listed on {}: {} {} area, since {}",
            md_en(a.listed_on),
            area_name(a),
            a.level.label_en(),
            md_en(a.since)
        ),
    }
}

/// "14天集中隔离 + 7天居家健康观察，核酸检测：第1、3、7、14、16、21天".
pub fn measure_text_zh(c: &Category) -> String {
    let mut s = if c.phases.is_empty() {
        c.measure_zh.clone()
    } else {
        c.phases
            .iter()
            .map(|p| format!("{}天{}", p.days, p.kind.label_zh()))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    if !c.test_days.is_empty() {
        let days: Vec<_> = c.test_days.iter().map(u32::to_string).collect();
        s.push_str(&format!("，核酸检测：第{}天", days.join("、")));
    }
    s
}

pub fn measure_text_en(c: &Category) -> String {
    let mut s = if c.phases.is_empty() {
        c.measure_en.clone()
    } else {
        c.phases
            .iter()
            .map(|p| format!("{} days {}", p.days, p.kind.label_en()))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    if !c.test_days.is_empty() {
        let days: Vec<_> = c.test_days.iter().map(u32::to_string).collect();
        s.push_str(&format!("; tests on days {}", days.join(", ")));
    }
    s
}

/// "1月20日".
pub fn md_zh(d: Date) -> String {
    format!("{}月{}日", d.month(), d.day())
}

/// "Jan 20".
pub fn md_en(d: Date) -> String {
    d.format("%b %-d").to_string()
}

fn span_zh(from: Date, to: Date) -> String {
    if from == to {
        md_zh(from)
    } else {
        format!("{}至{}", md_zh(from), md_zh(to))
    }
}

fn span_en(from: Date, to: Date) -> String {
    if from == to {
        format!("on {}", md_en(from))
    } else {
        format!("from {} to {}", md_en(from), md_en(to))
    }
}

#[cfg(test)]
mod tests;
