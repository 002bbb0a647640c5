//! 重点行业滚动检测: the workers overdue for their next test, by employer,
//! as cards a grid worker reads on a phone; and for the levels above the
//! grid, the paste-CSV import of employers' rosters.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use bihuan_domain::policy::Policy;

use super::forms::pasted_table;
use super::rounds::{PasteForm, field_lines, read_form, report_page, unreadable};
use super::{
    Base, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, ok, render, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::rolling::{Overdue, RosterInput};
use crate::web::AppState;

pub struct WorkerItem {
    pub href: String,
    pub name: String,
    pub last_negative: String,
    pub due_on: String,
}

pub struct EmployerGroup {
    pub id: i64,
    pub name: String,
    pub industry: String,
    pub grid: String,
    /// "2 人".
    pub count: String,
    pub workers: Vec<WorkerItem>,
}

/// The roster import, for town, village and command users.
pub struct RosterImport {
    pub action: String,
    pub csrf: String,
    pub csv: String,
    pub errors: Vec<String>,
    /// (name to write, label, interval) of each key industry.
    pub industries: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "rolling.html")]
struct RollingPage {
    base: Base,
    groups: Vec<EmployerGroup>,
    import: Option<RosterImport>,
}
with_base!(RollingPage);

fn industry_label(l: Lang, policy: &Policy, name: &str) -> String {
    policy.industry(name).map_or_else(
        || name.to_string(),
        |i| {
            if l.is_en() {
                i.label_en.clone()
            } else {
                i.label_zh.clone()
            }
        },
    )
}

/// The overdue list grouped by employer, in the order the list names them.
fn groups(l: Lang, policy: &Policy, overdue: Vec<Overdue>) -> Vec<EmployerGroup> {
    let mut groups: Vec<EmployerGroup> = Vec::new();
    for o in overdue {
        let worker = WorkerItem {
            href: l.link(&format!("/persons/{}", o.person_id)),
            name: o.name,
            last_negative: o
                .last_negative
                .as_deref()
                .map_or_else(|| l.t().rl_never.to_string(), |d| l.date_str(d)),
            due_on: l.date(o.due_on),
        };
        match groups.iter_mut().find(|g| g.id == o.employer_id) {
            Some(g) => g.workers.push(worker),
            None => groups.push(EmployerGroup {
                id: o.employer_id,
                name: o.employer,
                industry: industry_label(l, policy, &o.industry),
                grid: o.grid,
                count: String::new(),
                workers: vec![worker],
            }),
        }
    }
    for g in &mut groups {
        g.count = l.people(g.workers.len() as i64);
    }
    groups
}

impl RollingPage {
    fn new(
        l: Lang,
        actor: &Actor,
        policy: &Policy,
        overdue: Vec<Overdue>,
        csv: String,
        errors: Vec<String>,
    ) -> Self {
        let t = l.t();
        let import = actor.role.can_review().then(|| RosterImport {
            action: l.link("/rolling/import"),
            csrf: actor.csrf.clone(),
            csv,
            errors,
            industries: policy
                .industries
                .iter()
                .map(|i| {
                    (
                        i.name.clone(),
                        industry_label(l, policy, &i.name),
                        l.every_days(i.every_days),
                    )
                })
                .collect(),
        });
        RollingPage {
            base: Base::new(l, t.rl_title, "/rolling").signed_in(actor),
            groups: groups(l, policy, overdue),
            import,
        }
    }
}

pub async fn rolling(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let overdue = s.services.rolling_overdue(&actor).await.or_page(l)?;
    let page = RollingPage::new(
        l,
        &actor,
        s.services.policy(),
        overdue,
        String::new(),
        Vec::new(),
    );
    Ok(no_store(ok(&page)))
}

/// A roster typed in Chinese names its industry by label (快递外卖): the
/// policy's name for it (courier), which is what the roster stores.
fn industry_names(policy: &Policy, mut rows: Vec<RosterInput>) -> Vec<RosterInput> {
    for r in &mut rows {
        let typed = r.industry.trim();
        if let Some(i) = policy.industries.iter().find(|i| {
            i.name == typed || i.label_zh == typed || i.label_en.eq_ignore_ascii_case(typed)
        }) {
            r.industry = i.name.clone();
        }
    }
    rows
}

pub async fn import_roster(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    req: Request,
) -> PageResult {
    // Refused before the text is read: the form is not theirs.
    if !actor.role.can_review() {
        return Err(Error::Forbidden).or_page(l);
    }
    let f: PasteForm = match read_form(req, &s).await {
        Ok(f) => f,
        Err(refused) => return Ok(refused),
    };
    check_csrf(&actor, &f.csrf, l)?;
    let policy = s.services.policy();
    let again = |errors: Vec<String>, overdue: Vec<Overdue>| {
        let page = RollingPage::new(l, &actor, policy, overdue, f.csv.clone(), errors);
        Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
    };
    let parsed = crate::import::parse_off_thread(pasted_table(&f.csv), crate::import::roster_rows)
        .await
        .or_page(l)?;
    let rows = match parsed {
        Ok(rows) if !rows.is_empty() => industry_names(policy, rows),
        Ok(_) => {
            let overdue = s.services.rolling_overdue(&actor).await.or_page(l)?;
            return again(vec![unreadable(l, l.t().im_no_rows)], overdue);
        }
        Err(e) => {
            let overdue = s.services.rolling_overdue(&actor).await.or_page(l)?;
            return again(vec![unreadable(l, &e.to_string())], overdue);
        }
    };
    match s.services.import_roster(&actor, rows).await {
        Ok(r) => Ok(no_store(ok(&report_page(
            l,
            &actor,
            l.t().rl_title,
            r.loaded,
            &r.refused,
            "/rolling",
        )))),
        // A grid that is not in the tree refuses the whole roster.
        Err(Error::Invalid(errors)) => {
            let overdue = s.services.rolling_overdue(&actor).await.or_page(l)?;
            again(field_lines(l, &errors), overdue)
        }
        Err(e) => Err(e).or_page(l),
    }
}
