//! 协查 lists for the command and towns: the lists with their progress, the
//! upload (with a saved mapping, or a new one set from the file's headers),
//! a list's rows with their states, routing by hand, and the export.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use bihuan_domain::assist::{Field, RowState, default_categories};
use bihuan_domain::validation::FieldError;
use serde::Deserialize;

use super::{
    Base, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, ok, render, see_other,
    shanghai_time, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::assist::{ListSummary, MappingInput, Progress, RowOut};
use crate::web::{AppState, multipart};

fn lines(l: Lang, errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let label = e.field.rsplit('.').next().and_then(Field::parse).map(|f| {
                if l.is_en() {
                    f.label_en()
                } else {
                    f.label_zh()
                }
            });
            match label {
                Some(label) => format!("{label}{}{}", l.t().colon, l.field_message(e)),
                None => l.field_message(e).to_string(),
            }
        })
        .collect()
}

pub struct ListItem {
    pub href: String,
    pub name: String,
    pub imported: String,
    pub p: Progress,
}

#[derive(Template)]
#[template(path = "assist_lists.html")]
struct ListsPage {
    base: Base,
    lists: Vec<ListItem>,
    mappings: Vec<String>,
    action: String,
    csrf: String,
    name: String,
    errors: Vec<String>,
}
with_base!(ListsPage);

impl ListsPage {
    fn new(
        l: Lang,
        actor: &Actor,
        lists: Vec<ListSummary>,
        mappings: Vec<String>,
        name: String,
        errors: Vec<String>,
    ) -> Self {
        ListsPage {
            base: Base::new(l, l.t().as_title, "/assist").signed_in(actor),
            lists: lists
                .into_iter()
                .map(|s| ListItem {
                    href: l.link(&format!("/assist/{}", s.list.id)),
                    name: s.list.name,
                    imported: shanghai_time(s.list.created_at),
                    p: s.progress,
                })
                .collect(),
            mappings,
            action: l.link("/assist"),
            csrf: actor.csrf.clone(),
            name,
            errors,
        }
    }
}

async fn lists_page(
    s: &AppState,
    actor: &Actor,
    l: Lang,
    name: String,
    errors: Vec<String>,
) -> Result<ListsPage, super::PageError> {
    let lists = s.services.assist_lists(actor).await.or_page(l)?;
    let mappings = s
        .services
        .assist_mappings(actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|m| m.name)
        .collect();
    Ok(ListsPage::new(l, actor, lists, mappings, name, errors))
}

pub async fn lists(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let page = lists_page(&s, &actor, l, String::new(), Vec::new()).await?;
    Ok(no_store(ok(&page)))
}

/// The upload form: with a saved mapping the list is imported at once;
/// without, the file waits for its mapping.
pub async fn upload(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> PageResult {
    // Refused before the body is read: the form is not theirs.
    if !actor.role.can_handle_assist_lists() {
        return Err(Error::Forbidden).or_page(l);
    }
    let body = match crate::web::api::upload_body(req, &s).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parts = multipart::boundary(content_type)
        .and_then(|b| multipart::parse(&body, &b))
        .unwrap_or_default();
    check_csrf(&actor, &multipart::text(&parts, "csrf"), l)?;
    let name = multipart::text(&parts, "name");
    let mapping = multipart::text(&parts, "mapping");
    let file = parts
        .iter()
        .find(|p| p.name == "file" && !p.data.is_empty());
    let result = match file {
        None => Err(Error::field(
            "file",
            "required",
            "请选择名单文件",
            "choose the list file",
        )),
        Some(f) if mapping.is_empty() => {
            let filename = f.filename.clone().unwrap_or_default();
            match s
                .services
                .stage_assist_upload(&actor, &filename, &f.data)
                .await
            {
                Ok(id) => {
                    let to = format!("/assist/uploads/{id}?name={}", super::percent_encode(&name));
                    return Ok(see_other(&l.link(&to)));
                }
                Err(e) => Err(e),
            }
        }
        Some(f) => {
            let filename = f.filename.clone().unwrap_or_default();
            s.services
                .import_assist_list(&actor, &name, &filename, &mapping, &f.data)
                .await
                .map(|r| r.id)
        }
    };
    match result {
        Ok(id) => Ok(see_other(&l.link(&format!("/assist/{id}")))),
        Err(Error::Invalid(errors)) => {
            let page = lists_page(&s, &actor, l, name, lines(l, &errors)).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub struct FieldChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub chosen: String,
}

#[derive(Template)]
#[template(path = "assist_mapping.html")]
struct MappingPage {
    base: Base,
    action: String,
    csrf: String,
    filename: String,
    rows: usize,
    headers: Vec<String>,
    fields: Vec<FieldChoice>,
    list_name: String,
    mapping_name: String,
    categories: String,
    errors: Vec<String>,
}
with_base!(MappingPage);

#[derive(Deserialize, Default)]
pub struct NameQuery {
    #[serde(default)]
    name: String,
}

fn categories_text(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(a, b)| format!("{a}={b}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn mapping_form(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<NameQuery>,
) -> PageResult {
    let u = s.services.assist_upload(&actor, id).await.or_page(l)?;
    let fields = Field::ALL
        .into_iter()
        .map(|f| FieldChoice {
            key: f.as_str(),
            label: if l.is_en() {
                f.label_en()
            } else {
                f.label_zh()
            },
            required: f.required(),
            chosen: u.guess.get(&f).cloned().unwrap_or_default(),
        })
        .collect();
    let page = MappingPage {
        base: Base::new(l, l.t().as_map_title, &format!("/assist/uploads/{id}")).signed_in(&actor),
        action: l.link(&format!("/assist/uploads/{id}")),
        csrf: actor.csrf.clone(),
        filename: u.filename,
        rows: u.rows,
        headers: u.headers.into_iter().filter(|h| !h.is_empty()).collect(),
        fields,
        list_name: q.name,
        mapping_name: String::new(),
        categories: categories_text(&default_categories()),
        errors: Vec::new(),
    };
    Ok(no_store(ok(&page)))
}

pub async fn import_upload(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    check_csrf(&actor, &get("csrf"), l)?;
    let columns = Field::ALL
        .into_iter()
        .map(|f| (f.as_str().to_string(), get(&format!("col_{}", f.as_str()))))
        .filter(|(_, h)| !h.is_empty())
        .collect();
    let categories = get("categories")
        .lines()
        .filter_map(|line| {
            let (a, b) = line.split_once('=')?;
            Some((a.trim().to_string(), b.trim().to_string()))
        })
        .collect();
    let input = MappingInput {
        name: get("mapping_name"),
        columns,
        categories: Some(categories),
    };
    let list_name = get("list_name");
    match s
        .services
        .import_assist_upload(&actor, id, &list_name, input.clone())
        .await
    {
        Ok(r) => Ok(see_other(&l.link(&format!("/assist/{}", r.id)))),
        Err(Error::Invalid(errors)) => {
            let u = s.services.assist_upload(&actor, id).await.or_page(l)?;
            let fields = Field::ALL
                .into_iter()
                .map(|f| FieldChoice {
                    key: f.as_str(),
                    label: if l.is_en() {
                        f.label_en()
                    } else {
                        f.label_zh()
                    },
                    required: f.required(),
                    chosen: input.columns.get(f.as_str()).cloned().unwrap_or_default(),
                })
                .collect();
            let page = MappingPage {
                base: Base::new(l, l.t().as_map_title, &format!("/assist/uploads/{id}"))
                    .signed_in(&actor),
                action: l.link(&format!("/assist/uploads/{id}")),
                csrf: actor.csrf.clone(),
                filename: u.filename,
                rows: u.rows,
                headers: u.headers.into_iter().filter(|h| !h.is_empty()).collect(),
                fields,
                list_name,
                mapping_name: input.name,
                categories: get("categories"),
                errors: lines(l, &errors),
            };
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub struct RowItem {
    pub row: i64,
    pub name: String,
    pub id_number: String,
    pub category: String,
    pub state: String,
    pub state_label: String,
    pub answer: String,
    pub task_href: Option<String>,
    pub route_action: Option<String>,
}

#[derive(Template)]
#[template(path = "assist_list.html")]
struct ListPage {
    base: Base,
    name: String,
    filename: String,
    imported: String,
    p: Progress,
    export_href: String,
    csrf: String,
    rows: Vec<RowItem>,
}
with_base!(ListPage);

fn answer_of(l: Lang, r: &RowOut) -> String {
    let en = l.is_en();
    match RowState::parse(&r.state) {
        Some(RowState::Invalid) => r
            .errors
            .iter()
            .map(|e| {
                e[if en { "message_en" } else { "message" }]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(RowState::Duplicate) => {
            let n = r.same_row.unwrap_or_default();
            if en {
                format!("same as row {n}")
            } else {
                format!("同本表第 {n} 行")
            }
        }
        Some(RowState::Earlier) => {
            let name = r.same_list_name.clone().unwrap_or_default();
            let at = shanghai_time(r.same_list_at.unwrap_or_default());
            let n = r.same_row.unwrap_or_default();
            if en {
                format!("“{name}” ({at}), row {n}")
            } else {
                format!("「{name}」（{at}）第 {n} 行")
            }
        }
        Some(RowState::NotInCity) => r.answer.clone().unwrap_or_default(),
        Some(RowState::Verified) => {
            let o = r
                .outcome
                .as_deref()
                .and_then(bihuan_domain::task::Outcome::parse)
                .map(|o| if en { o.label_en() } else { o.label_zh() })
                .unwrap_or_default();
            format!(
                "{o} · {} · {}",
                r.measure.clone().unwrap_or_default(),
                shanghai_time(r.verified_at.unwrap_or_default())
            )
        }
        _ => r.grid.clone().unwrap_or_default(),
    }
}

pub async fn list(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
) -> PageResult {
    let d = s.services.assist_list(&actor, id).await.or_page(l)?;
    let rows = d
        .rows
        .iter()
        .map(|r| RowItem {
            row: r.row,
            name: r.name.clone(),
            id_number: r.id_number.clone(),
            category: r.category.clone().unwrap_or_default(),
            state: r.state.clone(),
            state_label: if l.is_en() {
                r.state_en.clone()
            } else {
                r.state_zh.clone()
            },
            answer: answer_of(l, r),
            task_href: r
                .person_id
                .filter(|_| r.task_id.is_some())
                .map(|p| l.link(&format!("/persons/{p}"))),
            route_action: (r.state == RowState::NotInCity.as_str())
                .then(|| l.link(&format!("/assist/{id}/rows/{}/route", r.id))),
        })
        .collect();
    let page = ListPage {
        base: Base::new(l, d.list.name.clone(), &format!("/assist/{id}")).signed_in(&actor),
        name: d.list.name,
        filename: d.list.filename,
        imported: shanghai_time(d.list.created_at),
        p: d.progress,
        export_href: format!("/assist/{id}/export"),
        csrf: actor.csrf.clone(),
        rows,
    };
    Ok(no_store(ok(&page)))
}

pub async fn export(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
) -> PageResult {
    let e = s.services.export_assist_list(&actor, id).await.or_page(l)?;
    Ok(crate::web::api_assist::download(e))
}

#[derive(Deserialize)]
pub struct RouteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grid: String,
}

pub async fn route(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path((id, row)): Path<(i64, i64)>,
    Form(f): Form<RouteForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services
        .route_assist_row(&actor, id, row, &f.grid)
        .await
        .or_page(l)?;
    Ok(see_other(&l.link(&format!("/assist/{id}"))))
}
