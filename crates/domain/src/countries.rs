//! The countries and regions outside the mainland a traveller may have come
//! from, by ISO 3166-1 alpha-2 code, with Chinese and English names, so a
//! person picks 境外 places by name while the code is what is stored.
//!
//! The list is Debian's iso-codes (ISO 3166-1 with its zh_CN translation),
//! without CN; 香港, 澳门 and 台湾 are named 中国香港, 中国澳门 and 中国台湾.

use std::sync::OnceLock;

const COUNTRIES_CSV: &str = include_str!("../data/countries.csv");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// Every country and region, in the file's order (by English ISO name).
pub fn all() -> &'static [Country] {
    static ALL: OnceLock<Vec<Country>> = OnceLock::new();
    ALL.get_or_init(|| {
        COUNTRIES_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let mut parts = line.splitn(3, ',');
                let code = parts.next().unwrap_or_default();
                let zh = parts.next().unwrap_or_default();
                let en = parts.next().unwrap_or_default();
                // Only the English names are quoted (they hold commas).
                let en = en
                    .strip_prefix('"')
                    .and_then(|e| e.strip_suffix('"'))
                    .unwrap_or(en);
                Country { code, zh, en }
            })
            .collect()
    })
}

/// The country of an alpha-2 code, upper case.
pub fn by_code(code: &str) -> Option<&'static Country> {
    all().iter().find(|c| c.code == code)
}

/// The code of a country typed by name (Chinese or English, any case) or
/// by code: what a form without JavaScript may send.
pub fn find(typed: &str) -> Option<&'static Country> {
    let t = typed.trim();
    if t.is_empty() {
        return None;
    }
    let upper = t.to_ascii_uppercase();
    by_code(&upper).or_else(|| {
        all()
            .iter()
            .find(|c| c.zh == t || c.en.eq_ignore_ascii_case(t))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_reads_whole() {
        assert!(all().len() > 240, "{}", all().len());
        assert!(by_code("CN").is_none(), "the mainland is not 境外");
        let us = by_code("US").unwrap();
        assert_eq!((us.zh, us.en), ("美国", "United States"));
        assert_eq!(by_code("HK").unwrap().zh, "中国香港");
        assert_eq!(by_code("TW").unwrap().zh, "中国台湾");
        assert_eq!(
            by_code("VI").unwrap().en,
            "Virgin Islands, U.S.",
            "quoted names keep their commas"
        );
        for c in all() {
            assert!(c.code.len() == 2 && c.code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(!c.zh.is_empty() && !c.en.is_empty(), "{c:?}");
        }
    }

    #[test]
    fn found_by_name_or_code() {
        assert_eq!(find("日本").unwrap().code, "JP");
        assert_eq!(find(" japan ").unwrap().code, "JP");
        assert_eq!(find("jp").unwrap().code, "JP");
        assert!(find("火星").is_none());
        assert!(find("").is_none());
    }
}
