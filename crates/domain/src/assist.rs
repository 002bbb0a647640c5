//! 协查 lists pushed down from the province or other cities: which source
//! column holds which field (a mapping the user saves), what a row's cells
//! mean, which rows of a list repeat one another, and which village an
//! address names. Pure: the use case brings the headers, rows and villages.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::identity::DocumentType;
use crate::validation::FieldError;

/// A list longer than this is refused whole (a province list is hundreds or
/// a few thousand rows; more is a wrong file).
pub const MAX_ROWS: usize = 10_000;
/// Columns past this are refused whole.
pub const MAX_COLUMNS: usize = 100;
/// A cell longer than this many characters is refused whole.
pub const MAX_CELL: usize = 1_000;

/// The fields a 协查 row may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    IdType,
    IdNumber,
    Phone,
    Reason,
    Category,
    Deadline,
    /// An address or village, used to find the grid of someone we do not know.
    Address,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Name,
        Field::IdType,
        Field::IdNumber,
        Field::Phone,
        Field::Reason,
        Field::Category,
        Field::Deadline,
        Field::Address,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::IdType => "id_type",
            Field::IdNumber => "id_number",
            Field::Phone => "phone",
            Field::Reason => "reason",
            Field::Category => "category",
            Field::Deadline => "deadline",
            Field::Address => "address",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Field::Name => "姓名",
            Field::IdType => "证件类型",
            Field::IdNumber => "证件号码",
            Field::Phone => "手机号码",
            Field::Reason => "协查原因",
            Field::Category => "人员类别",
            Field::Deadline => "反馈时限",
            Field::Address => "地址/村社区",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::IdType => "document type",
            Field::IdNumber => "document number",
            Field::Phone => "phone",
            Field::Reason => "reason",
            Field::Category => "category",
            Field::Deadline => "deadline",
            Field::Address => "address or village",
        }
    }

    /// A list cannot be read without these.
    pub fn required(self) -> bool {
        matches!(self, Field::Name | Field::IdNumber)
    }

    /// Headers that usually hold this field: the first guess of a new mapping.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["姓名", "name", "人员姓名"],
            Field::IdType => &["证件类型", "id_type", "证件种类"],
            Field::IdNumber => &[
                "身份证号",
                "身份证号码",
                "证件号码",
                "证件号",
                "公民身份号码",
                "id_number",
            ],
            Field::Phone => &["手机号码", "手机号", "联系电话", "电话", "phone"],
            Field::Reason => &["协查原因", "原因", "事由", "reason"],
            Field::Category => &["人员类别", "类别", "人员类型", "category"],
            Field::Deadline => &["反馈时限", "时限", "截止时间", "反馈时间", "deadline"],
            Field::Address => &[
                "地址",
                "现住址",
                "住址",
                "居住地址",
                "村社区",
                "所在村社区",
                "address",
            ],
        }
    }
}

/// The 协查 categories most lists use, and the policy category each means.
pub fn default_categories() -> Vec<(String, String)> {
    [
        ("密接", "close_contact"),
        ("密切接触者", "close_contact"),
        ("次密接", "secondary_contact"),
        ("次密切接触者", "secondary_contact"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// Which source column holds which field, and what the list's category
/// labels mean in the policy. Saved per region under a name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Mapping {
    /// Field → the header of the source column holding it.
    pub columns: BTreeMap<Field, String>,
    /// The list's own category label → a policy category name. Labels not
    /// here get a verification only.
    pub categories: Vec<(String, String)>,
}

/// Where each mapped field sits in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns(HashMap<Field, usize>);

impl Columns {
    /// The trimmed cell of `field` in `row`; empty when unmapped or short.
    pub fn get<'a>(&self, row: &'a [String], field: Field) -> &'a str {
        self.0
            .get(&field)
            .and_then(|&i| row.get(i))
            .map_or("", |s| s.trim())
    }

    pub fn index(&self, field: Field) -> Option<usize> {
        self.0.get(&field).copied()
    }
}

fn same_header(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl Mapping {
    /// Checks a mapping as the user sent it: the required fields mapped, no
    /// column used twice, every category a policy category.
    pub fn check(&self, is_category: impl Fn(&str) -> bool) -> Result<(), Vec<FieldError>> {
        let mut e = Vec::new();
        for f in Field::ALL {
            let header = self.columns.get(&f).map(|h| h.trim());
            if f.required() && header.is_none_or(str::is_empty) {
                e.push(FieldError::new(
                    format!("columns.{}", f.as_str()),
                    "required",
                    format!("请选择「{}」所在的列", f.label_zh()),
                    format!("choose the column holding the {}", f.label_en()),
                ));
            }
            if let Some(h) = header
                && self
                    .columns
                    .iter()
                    .any(|(g, other)| *g < f && same_header(other, h))
            {
                e.push(FieldError::new(
                    format!("columns.{}", f.as_str()),
                    "same_column",
                    format!("「{h}」列已映射给另一个字段"),
                    format!("the column “{h}” is already mapped to another field"),
                ));
            }
            if header.is_some_and(|h| h.chars().count() > 100) {
                e.push(FieldError::new(
                    format!("columns.{}", f.as_str()),
                    "too_long",
                    "列名不能超过100个字符",
                    "at most 100 characters",
                ));
            }
        }
        for (i, (label, category)) in self.categories.iter().enumerate() {
            if label.trim().is_empty() || label.chars().count() > 50 {
                e.push(FieldError::new(
                    format!("categories.{i}.label"),
                    "label",
                    "类别名称应为1至50个字符",
                    "a category label is 1 to 50 characters",
                ));
            }
            if !is_category(category) {
                e.push(FieldError::new(
                    format!("categories.{i}.category"),
                    "category",
                    format!("政策中没有类别 {category}"),
                    format!("the policy has no category {category}"),
                ));
            }
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }

    /// Finds every mapped column among a file's headers; a mapped header the
    /// file lacks is an error naming the field.
    pub fn locate(&self, headers: &[String]) -> Result<Columns, Vec<FieldError>> {
        let mut found = HashMap::new();
        let mut e = Vec::new();
        for (&f, h) in &self.columns {
            if h.trim().is_empty() {
                continue;
            }
            match headers.iter().position(|x| same_header(x, h)) {
                Some(i) => {
                    found.insert(f, i);
                }
                None => e.push(FieldError::new(
                    format!("columns.{}", f.as_str()),
                    "missing_column",
                    format!("文件中没有「{}」列（{}）", h.trim(), f.label_zh()),
                    format!("the file has no column “{}” ({})", h.trim(), f.label_en()),
                )),
            }
        }
        if e.is_empty() {
            Ok(Columns(found))
        } else {
            Err(e)
        }
    }

    /// The policy category a row's category label means, if any.
    pub fn category_for(&self, label: &str) -> Option<&str> {
        let label = label.trim();
        if label.is_empty() {
            return None;
        }
        self.categories
            .iter()
            .find(|(l, _)| l.trim() == label)
            .map(|(_, c)| c.as_str())
    }
}

/// A first guess of a new mapping from a file's headers.
pub fn guess(headers: &[String]) -> BTreeMap<Field, String> {
    let mut out = BTreeMap::new();
    for f in Field::ALL {
        if let Some(h) = headers
            .iter()
            .find(|h| f.aliases().iter().any(|a| same_header(h, a)))
        {
            out.insert(f, h.trim().to_string());
        }
    }
    out
}

/// A document type as lists write it; blank means 居民身份证.
pub fn document_type(raw: &str) -> Option<DocumentType> {
    let s = raw.trim();
    if s.is_empty() {
        return Some(DocumentType::Resident);
    }
    if let Some(t) = DocumentType::parse(s) {
        return Some(t);
    }
    match s {
        "居民身份证" | "身份证" | "二代身份证" => Some(DocumentType::Resident),
        "护照" => Some(DocumentType::Passport),
        "港澳居民来往内地通行证" | "港澳通行证" | "回乡证" => {
            Some(DocumentType::HkMacauPermit)
        }
        "台湾居民来往大陆通行证" | "台胞证" | "台湾通行证" => {
            Some(DocumentType::TaiwanPermit)
        }
        "外国人永久居留身份证" | "外国人永久居留证" | "永居证" => {
            Some(DocumentType::ForeignPermanent)
        }
        _ => None,
    }
}

/// A deadline cell: `2022-01-30`, `2022/1/30`, `2022年1月30日`, optionally
/// with `HH:MM[:SS]`. A date alone means the end of that day. Blank is none.
pub fn parse_deadline(raw: &str, field: &str) -> Result<Option<NaiveDateTime>, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let norm: String = s
        .replace(['/', '.', '年', '月'], "-")
        .replace(['日', 'T'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let (d, t) = norm.split_once(' ').unwrap_or((norm.as_str(), ""));
    let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let time = if t.is_empty() {
        Some(None)
    } else {
        NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()
            .map(Some)
    };
    match (date, time) {
        (Some(d), Some(Some(t))) => Ok(Some(d.and_time(t))),
        (Some(d), Some(None)) => Ok(Some(d.and_hms_opt(23, 59, 59).expect("valid"))),
        _ => Err(FieldError::new(
            field,
            "deadline",
            "反馈时限应为日期，如 2022-01-30 或 2022-01-30 18:00",
            "a deadline is a date such as 2022-01-30, or 2022-01-30 18:00",
        )),
    }
}

/// For each key, the index of the first earlier entry with the same key
/// (an in-list duplicate), or `None` for a first occurrence or no key.
pub fn first_of<K: Eq + Hash + Clone>(keys: &[Option<K>]) -> Vec<Option<usize>> {
    let mut seen: HashMap<K, usize> = HashMap::new();
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let k = k.as_ref()?;
            match seen.get(k) {
                Some(&first) => Some(first),
                None => {
                    seen.insert(k.clone(), i);
                    None
                }
            }
        })
        .collect()
}

/// A village of the city, with its town's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VillageName {
    pub code: String,
    pub name: String,
    pub town: String,
}

/// The village an address names: the longest village name in it; when
/// several villages share that name, the one whose town the address also
/// names. Ambiguous or nothing found: `None` (a person then decides).
pub fn match_village<'a>(address: &str, villages: &'a [VillageName]) -> Option<&'a str> {
    let address = address.trim();
    if address.is_empty() {
        return None;
    }
    let longest = villages
        .iter()
        .filter(|v| !v.name.is_empty() && address.contains(v.name.as_str()))
        .map(|v| v.name.chars().count())
        .max()?;
    let hits: Vec<&VillageName> = villages
        .iter()
        .filter(|v| v.name.chars().count() == longest && address.contains(v.name.as_str()))
        .collect();
    match hits.as_slice() {
        [one] => Some(one.code.as_str()),
        many => {
            let in_town: Vec<&&VillageName> = many
                .iter()
                .filter(|v| !v.town.is_empty() && address.contains(v.town.as_str()))
                .collect();
            match in_town.as_slice() {
                [one] => Some(one.code.as_str()),
                _ => None,
            }
        }
    }
}

/// Where a row of a list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// A cell failed to parse; kept with its errors, never sent.
    Invalid,
    /// The same document earlier in the same list.
    Duplicate,
    /// Already sent in an earlier list.
    Earlier,
    /// No grid found: not in the city (or not in the importer's region).
    NotInCity,
    /// A verification task is open.
    Tasked,
    /// The task closed; the outcome is on the row.
    Verified,
}

impl RowState {
    pub const ALL: [RowState; 6] = [
        RowState::Invalid,
        RowState::Duplicate,
        RowState::Earlier,
        RowState::NotInCity,
        RowState::Tasked,
        RowState::Verified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Invalid => "invalid",
            RowState::Duplicate => "duplicate",
            RowState::Earlier => "earlier",
            RowState::NotInCity => "not_in_city",
            RowState::Tasked => "tasked",
            RowState::Verified => "verified",
        }
    }

    pub fn parse(s: &str) -> Option<RowState> {
        RowState::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RowState::Invalid => "数据有误",
            RowState::Duplicate => "本表重复",
            RowState::Earlier => "已在前批协查",
            RowState::NotInCity => "不在本地",
            RowState::Tasked => "核查中",
            RowState::Verified => "已核查",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RowState::Invalid => "invalid",
            RowState::Duplicate => "duplicate in this list",
            RowState::Earlier => "in an earlier list",
            RowState::NotInCity => "not here",
            RowState::Tasked => "being verified",
            RowState::Verified => "verified",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    fn mapping(pairs: &[(Field, &str)]) -> Mapping {
        Mapping {
            columns: pairs.iter().map(|(f, h)| (*f, h.to_string())).collect(),
            categories: default_categories(),
        }
    }

    #[test]
    fn a_mapping_needs_name_and_number_once_each_and_known_categories() {
        let known = |c: &str| c == "close_contact" || c == "secondary_contact";
        assert!(
            mapping(&[(Field::Name, "姓名"), (Field::IdNumber, "身份证号")])
                .check(known)
                .is_ok()
        );
        let e = mapping(&[(Field::Name, "姓名")]).check(known).unwrap_err();
        assert_eq!(e[0].field, "columns.id_number");
        assert_eq!(e[0].code, "required");
        let e = mapping(&[(Field::Name, "姓名"), (Field::IdNumber, " 姓名 ")])
            .check(known)
            .unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].code),
            ("columns.id_number", "same_column")
        );
        let mut m = mapping(&[(Field::Name, "姓名"), (Field::IdNumber, "证件号码")]);
        m.categories.push(("密接".into(), "case".into()));
        let e = m.check(known).unwrap_err();
        assert_eq!(e[0].field, "categories.4.category");
    }

    #[test]
    fn columns_are_found_by_header_in_any_order_and_missing_ones_named() {
        let m = mapping(&[
            (Field::Name, "姓名"),
            (Field::IdNumber, "身份证号"),
            (Field::Category, "人员类别"),
        ]);
        let h = headers(&["序号", "人员类别", "身份证号", " 姓名 "]);
        let c = m.locate(&h).unwrap();
        let row = headers(&["1", "密接", "330784199001010012", "张三"]);
        assert_eq!(c.get(&row, Field::Name), "张三");
        assert_eq!(c.get(&row, Field::Category), "密接");
        assert_eq!(c.get(&row, Field::Phone), "", "unmapped is blank");
        assert_eq!(c.get(&headers(&["1"]), Field::Name), "", "short row");
        let e = m.locate(&headers(&["姓名", "证件号码"])).unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(e.iter().all(|x| x.code == "missing_column"));
        assert!(e.iter().any(|x| x.field == "columns.id_number"
            && x.message.contains("身份证号")
            && x.message_en.contains("身份证号")));
    }

    #[test]
    fn guesses_and_categories() {
        let g = guess(&headers(&[
            "序号",
            "联系电话",
            "姓名",
            "公民身份号码",
            "类别",
        ]));
        assert_eq!(g[&Field::Name], "姓名");
        assert_eq!(g[&Field::IdNumber], "公民身份号码");
        assert_eq!(g[&Field::Phone], "联系电话");
        assert_eq!(g[&Field::Category], "类别");
        assert!(!g.contains_key(&Field::Deadline));
        let m = mapping(&[]);
        assert_eq!(m.category_for(" 密接 "), Some("close_contact"));
        assert_eq!(m.category_for("次密切接触者"), Some("secondary_contact"));
        assert_eq!(m.category_for("时空伴随"), None);
        assert_eq!(m.category_for(""), None);
    }

    #[test]
    fn document_types_as_lists_write_them() {
        assert_eq!(document_type(""), Some(DocumentType::Resident));
        assert_eq!(document_type("身份证"), Some(DocumentType::Resident));
        assert_eq!(document_type("护照"), Some(DocumentType::Passport));
        assert_eq!(document_type("回乡证"), Some(DocumentType::HkMacauPermit));
        assert_eq!(
            document_type("taiwan_permit"),
            Some(DocumentType::TaiwanPermit)
        );
        assert_eq!(document_type("驾驶证"), None);
    }

    #[test]
    fn deadlines_in_the_shapes_lists_use() {
        let at = |s: &str| parse_deadline(s, "deadline").unwrap().unwrap().to_string();
        assert_eq!(at("2022-01-30"), "2022-01-30 23:59:59");
        assert_eq!(at("2022/1/30 18:00"), "2022-01-30 18:00:00");
        assert_eq!(at("2022年1月30日"), "2022-01-30 23:59:59");
        assert_eq!(at("2022-01-30T08:30:00"), "2022-01-30 08:30:00");
        assert_eq!(parse_deadline("  ", "deadline").unwrap(), None);
        assert_eq!(
            parse_deadline("明天", "deadline").unwrap_err().code,
            "deadline"
        );
        assert!(parse_deadline("2022-02-30", "deadline").is_err());
    }

    #[test]
    fn in_list_duplicates_point_at_the_first_row() {
        let keys = [Some("a"), None, Some("b"), Some("a"), None, Some("a")];
        assert_eq!(
            first_of(&keys),
            vec![None, None, None, Some(0), None, Some(0)]
        );
    }

    #[test]
    fn villages_by_the_longest_name_then_the_town() {
        let v = |code: &str, name: &str, town: &str| VillageName {
            code: code.into(),
            name: name.into(),
            town: town.into(),
        };
        let vs = vec![
            v("1", "园丁社区", "东城街道"),
            v("2", "下园朱村", "西城街道"),
            v("3", "朱村", "芝英镇"),
            v("4", "新楼村", "芝英镇"),
            v("5", "新楼村", "古山镇"),
        ];
        assert_eq!(match_village("东城街道园丁社区3幢", &vs), Some("1"));
        assert_eq!(match_village("西城街道下园朱村12号", &vs), Some("2"));
        assert_eq!(match_village("朱村", &vs), Some("3"));
        assert_eq!(match_village("新楼村", &vs), None, "two 新楼村");
        assert_eq!(match_village("古山镇新楼村", &vs), Some("5"));
        assert_eq!(match_village("北京市朝阳区", &vs), None);
        assert_eq!(match_village("", &vs), None);
    }

    #[test]
    fn row_states_round_trip() {
        for s in RowState::ALL {
            assert_eq!(RowState::parse(s.as_str()), Some(s));
        }
        for f in Field::ALL {
            assert_eq!(Field::parse(f.as_str()), Some(f));
        }
    }
}
