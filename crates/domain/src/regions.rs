//! Regions: the managed tree a city runs (city → towns/streets → villages/
//! communities → grids) and the national division tables behind the origin
//! picker (province → city → county → township).
//!
//! Both come from the CSV files in `data/`, embedded at compile time and
//! parsed once on first use. The files are simple: `code,"name",…` with no
//! commas or quotes inside names (a test checks every line parses), so a
//! hand-written splitter is enough.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validation::FieldError;

const PROVINCES_CSV: &str = include_str!("../data/provinces.csv");
const CITIES_CSV: &str = include_str!("../data/cities.csv");
const AREAS_CSV: &str = include_str!("../data/areas.csv");
const STREETS_CSV: &str = include_str!("../data/streets.csv");
const YONGKANG_VILLAGES_CSV: &str = include_str!("../data/villages-330784.csv");

/// 永康市, the city that runs this deployment.
pub const YONGKANG_CODE: &str = "330784";
/// 经济开发区: a town-level unit of Yongkang that has no official township
/// code, so it gets one of our own outside the official 001–199 ranges.
pub const YONGKANG_DEV_ZONE_CODE: &str = "330784900";
pub const YONGKANG_DEV_ZONE_NAME: &str = "经济开发区";

// ---------------------------------------------------------------------------
// Managed tree
// ---------------------------------------------------------------------------

/// Level of a region in the managed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// The county-level city that runs the platform (市).
    City,
    /// Town or street (镇街).
    Town,
    /// Village or community (村社区).
    Village,
    /// Grid (网格), the smallest unit a grid worker covers.
    Grid,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 4] = [
        RegionLevel::City,
        RegionLevel::Town,
        RegionLevel::Village,
        RegionLevel::Grid,
    ];

    /// The wire name, identical to the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::City => "city",
            RegionLevel::Town => "town",
            RegionLevel::Village => "village",
            RegionLevel::Grid => "grid",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RegionLevel::City => "市",
            RegionLevel::Town => "镇街",
            RegionLevel::Village => "村社区",
            RegionLevel::Grid => "网格",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RegionLevel::City => "city",
            RegionLevel::Town => "town/street",
            RegionLevel::Village => "village/community",
            RegionLevel::Grid => "grid",
        }
    }

    /// Number of digits of a code at this level.
    pub fn code_len(self) -> usize {
        match self {
            RegionLevel::City => 6,
            RegionLevel::Town => 9,
            RegionLevel::Village => 12,
            RegionLevel::Grid => 15,
        }
    }

    fn from_code_len(len: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code_len() == len)
    }
}

/// Code of a region in the managed tree. Codes are hierarchical by prefix:
/// city `330784` (6 digits), town `330784001` (9), village `330784001001`
/// (12), grid `330784001001001` (15 = village + 3 digits).
///
/// Serialises as a plain string; deserialising validates like `parse`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    /// ASCII digits only, 6, 9, 12 or 15 of them; nothing is trimmed, since
    /// codes come from pickers, not typing. Error code: `region_code`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let ok = RegionLevel::from_code_len(raw.len()).is_some()
            && raw.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(FieldError::new(
                field,
                "region_code",
                "区域代码应为6、9、12或15位数字",
                "a region code is 6, 9, 12 or 15 digits",
            ))
        }
    }

    pub fn level(&self) -> RegionLevel {
        // `parse` is the only constructor, so the length is always one of four.
        RegionLevel::from_code_len(self.0.len()).unwrap_or(RegionLevel::Grid)
    }

    /// The enclosing region's code; `None` for a city.
    pub fn parent(&self) -> Option<RegionCode> {
        let parent_len = match self.level() {
            RegionLevel::City => return None,
            RegionLevel::Town => 6,
            RegionLevel::Village => 9,
            RegionLevel::Grid => 12,
        };
        Some(Self(self.0[..parent_len].to_string()))
    }

    /// Whether `other` is this region or lies inside it.
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.starts_with(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        RegionCode::parse(&raw, "").map_err(|e| serde::de::Error::custom(e.message_en))
    }
}

/// One node of the managed tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedRegion {
    pub code: RegionCode,
    pub name: String,
    pub level: RegionLevel,
}

/// The managed tree of `city_code` (a 6-digit county-level code), sorted by
/// code, which puts every parent before its children.
///
/// For Yongkang (330784): the city, its 14 official towns/streets plus
/// 经济开发区 (330784900, no villages), its 452 villages/communities, and one
/// default grid per village (`{village}001`, "{village}第一网格").
///
/// Any other county-level code gets only the city and its towns: village
/// data ships for Yongkang alone. An unknown code yields an empty Vec.
pub fn managed_tree(city_code: &str) -> Vec<ManagedRegion> {
    let divisions = Divisions::get();
    let Some(city) = divisions.county(city_code) else {
        return Vec::new();
    };
    let node = |code: &str, name: &str, level| ManagedRegion {
        code: RegionCode(code.to_string()),
        name: name.to_string(),
        level,
    };
    let mut tree = vec![node(&city.code, &city.name, RegionLevel::City)];
    tree.extend(
        divisions
            .townships_of(city_code)
            .iter()
            .map(|t| node(&t.code, &t.name, RegionLevel::Town)),
    );
    if city_code == YONGKANG_CODE {
        tree.push(node(
            YONGKANG_DEV_ZONE_CODE,
            YONGKANG_DEV_ZONE_NAME,
            RegionLevel::Town,
        ));
        for v in yongkang_villages() {
            tree.push(node(&v.code, &v.name, RegionLevel::Village));
            tree.push(node(
                &format!("{}001", v.code),
                &format!("{}第一网格", v.name),
                RegionLevel::Grid,
            ));
        }
    }
    tree.sort_by(|a, b| a.code.cmp(&b.code));
    tree
}

/// Yongkang's villages with their committee suffix turned into the name
/// people use, sorted by code.
fn yongkang_villages() -> &'static [Division] {
    static VILLAGES: OnceLock<Vec<Division>> = OnceLock::new();
    VILLAGES.get_or_init(|| {
        csv_rows(YONGKANG_VILLAGES_CSV)
            .map(|(code, name)| Division {
                code: code.to_string(),
                name: village_display_name(name),
            })
            .collect()
    })
}

/// "园丁社区居委会" → "园丁社区", "黄城里村委会" → "黄城里村", "X村村委会" →
/// "X村". A 居委会 whose name lacks 社区 ("堰头居委会") becomes "堰头社区":
/// plain stripping would give 芝英一村居委会 the same name as 芝英一村委会
/// in the same town, and 居委会 are called 社区 locally anyway.
fn village_display_name(raw: &str) -> String {
    if let Some(base) = raw.strip_suffix("居委会") {
        if base.ends_with("社区") {
            base.to_string()
        } else {
            format!("{base}社区")
        }
    } else if let Some(base) = raw.strip_suffix("村委会") {
        if base.ends_with('村') {
            base.to_string()
        } else {
            format!("{base}村")
        }
    } else {
        raw.to_string()
    }
}

// ---------------------------------------------------------------------------
// National divisions
// ---------------------------------------------------------------------------

/// One national division: province (2-digit code), city (4), county (6) or
/// township (9), as in the embedded GB/T 2260 derived tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Division {
    pub code: String,
    pub name: String,
}

/// The national province → city → county → township tables.
///
/// Every city in the data has at least one county row and every township's
/// county exists (a test pins both). Cities without counties, like 东莞市
/// (4419) and 中山市 (4420), are listed as a county of themselves (441900,
/// 442000) that holds the townships directly, so the picker needs no special
/// case: 广东省 → 东莞市 → 东莞市 → 东城街道.
pub struct Divisions {
    provinces: Vec<Division>,
    cities: Vec<Division>,
    counties: Vec<Division>,
    townships: Vec<Division>,
}

/// City rows that only group counties ("市辖区", "县", "省直辖县级行政区划",
/// "自治区直辖县级行政区划") and are not part of anyone's address.
fn is_placeholder_city(name: &str) -> bool {
    matches!(name, "市辖区" | "县") || name.ends_with("直辖县级行政区划")
}

impl Divisions {
    /// The tables, parsed on first use.
    pub fn get() -> &'static Divisions {
        static DIVISIONS: OnceLock<Divisions> = OnceLock::new();
        DIVISIONS.get_or_init(|| {
            let load = |csv: &'static str| -> Vec<Division> {
                let mut v: Vec<Division> = csv_rows(csv)
                    .map(|(code, name)| Division {
                        code: code.to_string(),
                        name: name.to_string(),
                    })
                    .collect();
                // The files are sorted already; sorting keeps the binary
                // searches below correct even if a future file is not.
                v.sort_by(|a, b| a.code.cmp(&b.code));
                v
            };
            Divisions {
                provinces: load(PROVINCES_CSV),
                cities: load(CITIES_CSV),
                counties: load(AREAS_CSV),
                townships: load(STREETS_CSV),
            }
        })
    }

    /// All provinces (2-digit codes), in code order.
    pub fn provinces(&self) -> &[Division] {
        &self.provinces
    }

    /// Cities (4-digit codes) of a 2-digit province code.
    pub fn cities_of(&self, province_code: &str) -> &[Division] {
        if !is_digits(province_code, 2) {
            return &[];
        }
        children(&self.cities, province_code)
    }

    /// Counties (6-digit codes) of a city, given as its 4-digit code
    /// (`3307`) or padded to 6 (`330700`).
    pub fn counties_of(&self, city_code: &str) -> &[Division] {
        let prefix = match city_code.len() {
            4 if is_digits(city_code, 4) => city_code,
            6 if is_digits(city_code, 6) && city_code.ends_with("00") => &city_code[..4],
            _ => return &[],
        };
        children(&self.counties, prefix)
    }

    /// Townships (9-digit codes) of a 6-digit county code.
    pub fn townships_of(&self, county_code: &str) -> &[Division] {
        if !is_digits(county_code, 6) {
            return &[];
        }
        children(&self.townships, county_code)
    }

    pub fn province(&self, code: &str) -> Option<&Division> {
        find(&self.provinces, code)
    }

    /// A city by its 4-digit code.
    pub fn city(&self, code: &str) -> Option<&Division> {
        find(&self.cities, code)
    }

    pub fn county(&self, code: &str) -> Option<&Division> {
        if code.len() != 6 {
            return None;
        }
        find(&self.counties, code)
    }

    pub fn township(&self, code: &str) -> Option<&Division> {
        if code.len() != 9 {
            return None;
        }
        find(&self.townships, code)
    }

    pub fn is_county(&self, code: &str) -> bool {
        self.county(code).is_some()
    }

    pub fn is_township(&self, code: &str) -> bool {
        self.township(code).is_some()
    }

    /// The county code (first 6 digits) of a known township.
    pub fn county_of_township(&self, township_code: &str) -> Option<&str> {
        self.township(township_code).map(|t| &t.code[..6])
    }

    /// Province + city + county, e.g. 110106 → "北京市丰台区", 330784 →
    /// "浙江省金华市永康市". Placeholder cities (市辖区, 县, 省直辖县级行政区划)
    /// are skipped, and so is a city named like its county (东莞市东莞市 →
    /// 东莞市).
    pub fn county_full_name(&self, county_code: &str) -> Option<String> {
        let county = self.county(county_code)?;
        let mut name = String::new();
        if let Some(p) = self.province(&county_code[..2]) {
            name.push_str(&p.name);
        }
        if let Some(c) = self.city(&county_code[..4])
            && !is_placeholder_city(&c.name)
            && c.name != county.name
        {
            name.push_str(&c.name);
        }
        name.push_str(&county.name);
        Some(name)
    }

    /// "北京市丰台区 西罗园街道", or just the county's full name without a
    /// township. Unknown codes are shown as the code itself, so a record
    /// whose code later disappears from the tables still reads sensibly.
    pub fn place_name(&self, county: &str, township: Option<&str>) -> String {
        let county_name = self
            .county_full_name(county)
            .unwrap_or_else(|| county.to_string());
        match township {
            None => county_name,
            Some(t) => {
                let township_name = self.township(t).map_or(t, |d| d.name.as_str());
                format!("{county_name} {township_name}")
            }
        }
    }

    /// The province part (first 2 characters) of any division code; a code
    /// shorter than that is returned whole.
    pub fn province_of<'a>(&self, code: &'a str) -> &'a str {
        code.get(..2).unwrap_or(code)
    }
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn find<'a>(list: &'a [Division], code: &str) -> Option<&'a Division> {
    list.binary_search_by(|d| d.code.as_str().cmp(code))
        .ok()
        .map(|i| &list[i])
}

/// The contiguous run of `list` (sorted, equal-length codes) whose codes
/// start with `prefix`.
fn children<'a>(list: &'a [Division], prefix: &str) -> &'a [Division] {
    let start = list.partition_point(|d| d.code.as_str() < prefix);
    let len = list[start..].partition_point(|d| d.code.starts_with(prefix));
    &list[start..start + len]
}

/// `(code, name)` of each data row; the header and blank lines are skipped.
/// Names are the second column with their quotes removed.
fn csv_rows(csv: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    csv.lines().skip(1).filter_map(|line| {
        let mut cols = line.split(',');
        let code = cols.next()?.trim();
        let name = cols.next()?.trim().trim_matches('"');
        (!code.is_empty() && !name.is_empty()).then_some((code, name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s, "region").unwrap()
    }

    #[test]
    fn every_data_line_parses() {
        for csv in [
            PROVINCES_CSV,
            CITIES_CSV,
            AREAS_CSV,
            STREETS_CSV,
            YONGKANG_VILLAGES_CSV,
        ] {
            let lines = csv.lines().skip(1).filter(|l| !l.is_empty()).count();
            assert_eq!(csv_rows(csv).count(), lines);
            // No embedded commas or quotes in names.
            for line in csv.lines().skip(1) {
                assert_eq!(line.matches('"').count(), 2, "{line}");
            }
            for (code, name) in csv_rows(csv) {
                assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
                assert!(!name.contains('"'), "{name}");
            }
        }
        let d = Divisions::get();
        assert_eq!(d.provinces().len(), 31);
        assert_eq!(d.townships.len(), STREETS_CSV.lines().count() - 1);
    }

    #[test]
    fn yongkang_tree() {
        let tree = managed_tree(YONGKANG_CODE);
        let at = |l: RegionLevel| tree.iter().filter(|r| r.level == l).count();
        assert_eq!(at(RegionLevel::City), 1);
        assert_eq!(at(RegionLevel::Town), 15);
        assert_eq!(at(RegionLevel::Village), 452);
        assert_eq!(at(RegionLevel::Grid), 452);
        assert_eq!(tree[0].name, "永康市");
        assert_eq!(tree[0].code.as_str(), "330784");

        let dev = tree
            .iter()
            .find(|r| r.code.as_str() == YONGKANG_DEV_ZONE_CODE)
            .unwrap();
        assert_eq!(dev.name, "经济开发区");
        assert_eq!(dev.level, RegionLevel::Town);
        assert!(
            !tree
                .iter()
                .any(|r| r.level == RegionLevel::Village && dev.code.contains(&r.code))
        );

        // Parents come first, every node's parent is in the tree at the level above.
        for (i, r) in tree.iter().enumerate() {
            assert_eq!(r.code.level(), r.level);
            if let Some(p) = r.code.parent() {
                let j = tree
                    .iter()
                    .position(|x| x.code == p)
                    .unwrap_or_else(|| panic!("{}", r.code));
                assert!(j < i);
                assert_eq!(tree[j].level.code_len() + 3, r.level.code_len());
            }
        }
        // Codes and names are unique.
        let mut codes: Vec<_> = tree.iter().map(|r| r.code.as_str()).collect();
        codes.dedup();
        assert_eq!(codes.len(), tree.len());
        let mut names: Vec<_> = tree.iter().map(|r| r.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), tree.len());

        let find = |c: &str| tree.iter().find(|r| r.code.as_str() == c).unwrap();
        assert_eq!(find("330784001").name, "东城街道");
        assert_eq!(find("330784001001").name, "园丁社区");
        assert_eq!(find("330784001001001").name, "园丁社区第一网格");
        assert!(tree.iter().all(|r| !r.name.ends_with("委会")));
    }

    #[test]
    fn village_names() {
        assert_eq!(village_display_name("园丁社区居委会"), "园丁社区");
        assert_eq!(village_display_name("黄城里村委会"), "黄城里村");
        assert_eq!(village_display_name("芝英一村委会"), "芝英一村");
        assert_eq!(village_display_name("芝英一村居委会"), "芝英一村社区");
        assert_eq!(village_display_name("堰头居委会"), "堰头社区");
        assert_eq!(village_display_name("某某村村委会"), "某某村");
    }

    #[test]
    fn other_cities_have_towns_only() {
        let tree = managed_tree("110106");
        assert_eq!(tree[0].name, "丰台区");
        assert!(
            tree.iter()
                .any(|r| r.name == "西罗园街道" && r.level == RegionLevel::Town)
        );
        assert!(tree.iter().skip(1).all(|r| r.level == RegionLevel::Town));
        assert!(managed_tree("999999").is_empty());
        assert!(managed_tree("' or 1=1").is_empty());
        assert!(managed_tree("").is_empty());
    }

    #[test]
    fn region_codes() {
        assert_eq!(code("330784").level(), RegionLevel::City);
        assert_eq!(code("330784001").level(), RegionLevel::Town);
        assert_eq!(code("330784001001").level(), RegionLevel::Village);
        assert_eq!(code("330784001001001").level(), RegionLevel::Grid);

        assert_eq!(code("330784001001001").parent(), Some(code("330784001001")));
        assert_eq!(code("330784001001").parent(), Some(code("330784001")));
        assert_eq!(code("330784001").parent(), Some(code("330784")));
        assert_eq!(code("330784").parent(), None);

        let town = code("330784001");
        assert!(town.contains(&town));
        assert!(town.contains(&code("330784001017001")));
        assert!(!town.contains(&code("330784002001")));
        assert!(!town.contains(&code("330784")));
        assert!(code("330784").contains(&town));

        for bad in [
            "' or 1=1",
            "33078400100100100",
            "",
            "3307840",
            "33078400a",
            " 330784",
            "３３０７８４",
        ] {
            let e = RegionCode::parse(bad, "region").unwrap_err();
            assert_eq!(e.code, "region_code", "{bad}");
            assert_eq!(e.field, "region");
        }
    }

    #[test]
    fn region_code_serde() {
        let c = code("330784001");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"330784001\"");
        assert_eq!(
            serde_json::from_str::<RegionCode>("\"330784001\"").unwrap(),
            c
        );
        assert!(serde_json::from_str::<RegionCode>("\"3307\"").is_err());
        assert!(serde_json::from_str::<RegionCode>("330784").is_err());
        assert_eq!(
            serde_json::to_string(&RegionLevel::Village).unwrap(),
            "\"village\""
        );
        let r = ManagedRegion {
            code: c,
            name: "东城街道".into(),
            level: RegionLevel::Town,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"code":"330784001","name":"东城街道","level":"town"}"#
        );
        assert_eq!(serde_json::from_str::<ManagedRegion>(&json).unwrap(), r);
    }

    #[test]
    fn national_lookups() {
        let d = Divisions::get();
        assert_eq!(d.township("110106003").unwrap().name, "西罗园街道");
        assert_eq!(d.county_of_township("110106003"), Some("110106"));
        assert_eq!(d.county_of_township("110106999"), None);
        assert!(d.is_county("110106"));
        assert!(d.is_township("110106003"));
        assert!(!d.is_county("110106003"));
        assert!(!d.is_township("110106"));
        assert!(!d.is_county("' or 1=1"));
        assert!(!d.is_township(""));
        assert!(d.is_county("441900"));

        assert_eq!(d.province_of("110106003"), "11");
        assert_eq!(d.province_of("3"), "3");
        assert_eq!(d.province_of("永康"), "永康");

        assert_eq!(
            d.cities_of("33")
                .iter()
                .find(|c| c.code == "3307")
                .unwrap()
                .name,
            "金华市"
        );
        assert_eq!(d.cities_of("3").len(), 0);
        assert!(d.counties_of("3307").iter().any(|c| c.code == "330784"));
        assert_eq!(d.counties_of("3307"), d.counties_of("330700"));
        assert_eq!(d.counties_of("330701").len(), 0);
        let yk = d.townships_of("330784");
        assert_eq!(yk.len(), 14);
        assert!(yk.windows(2).all(|w| w[0].code < w[1].code));
        assert!(d.townships_of("").is_empty());
        assert!(!d.townships_of("441900").is_empty());
    }

    #[test]
    fn every_division_has_its_parent() {
        let d = Divisions::get();
        for c in &d.cities {
            assert!(d.province(&c.code[..2]).is_some(), "{}", c.code);
            assert!(
                !d.counties_of(&c.code).is_empty(),
                "city without counties: {}",
                c.code
            );
        }
        for c in &d.counties {
            assert!(d.city(&c.code[..4]).is_some(), "{}", c.code);
            assert!(d.county_full_name(&c.code).is_some());
        }
        for t in &d.townships {
            assert!(d.is_county(&t.code[..6]), "{}", t.code);
        }
    }

    #[test]
    fn full_names() {
        let d = Divisions::get();
        assert_eq!(d.county_full_name("110106").unwrap(), "北京市丰台区");
        assert_eq!(d.county_full_name("330784").unwrap(), "浙江省金华市永康市");
        assert_eq!(d.county_full_name("500229").unwrap(), "重庆市城口县");
        assert_eq!(d.county_full_name("429004").unwrap(), "湖北省仙桃市");
        assert_eq!(d.county_full_name("441900").unwrap(), "广东省东莞市");
        assert_eq!(d.county_full_name("999999"), None);

        assert_eq!(
            d.place_name("110106", Some("110106003")),
            "北京市丰台区 西罗园街道"
        );
        assert_eq!(d.place_name("110106", None), "北京市丰台区");
        assert_eq!(
            d.place_name("999999", Some("999999001")),
            "999999 999999001"
        );
    }
}
