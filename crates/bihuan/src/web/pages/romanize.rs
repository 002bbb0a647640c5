//! Place names for English readers: the Chinese name and its pinyin
//! ("永康市 Yongkang Shi"), and countries by name in either language.
//!
//! Pinyin comes from the `pinyin` crate, one reading per character: a
//! polyphonic character may get the wrong reading (重庆 reads "Zhongqing",
//! 长 may read "zhang" where "chang" is meant). The Chinese name stays
//! beside it, so the name itself is never lost.

use bihuan_domain::countries::{self, Country};
use pinyin::ToPinyin;

use super::i18n::Lang;

/// Administrative suffixes written as a word of their own, longest first.
const SUFFIXES: [&str; 16] = [
    "街道办事处",
    "自治县",
    "自治州",
    "自治区",
    "开发区",
    "居委会",
    "村委会",
    "街道",
    "社区",
    "市",
    "县",
    "区",
    "镇",
    "乡",
    "村",
    "省",
];

/// `永康市` → `Yongkang Shi`; characters without a reading stay as they are.
pub fn pinyin_of(name: &str) -> String {
    let name = name.trim();
    let (stem, suffix) = SUFFIXES
        .iter()
        .find_map(|s| {
            name.strip_suffix(s)
                .filter(|stem| !stem.is_empty())
                .map(|stem| (stem, Some(*s)))
        })
        .unwrap_or((name, None));
    let mut out = word(stem);
    if let Some(s) = suffix {
        out.push(' ');
        out.push_str(&word(s));
    }
    out
}

/// One capitalised word of the readings of `s`.
fn word(s: &str) -> String {
    let mut out = String::new();
    for (ch, p) in s.chars().zip(s.to_pinyin()) {
        match p {
            Some(p) => out.push_str(p.plain()),
            None => out.push(ch),
        }
    }
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => out,
    }
}

/// The sort key of a Chinese name: its readings, so a list reads A to Z.
fn pinyin_key(s: &str) -> String {
    s.chars()
        .zip(s.to_pinyin())
        .map(|(ch, p)| p.map_or_else(|| ch.to_string(), |p| p.plain().to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Options of a country select: (ISO code, name).
pub type CountryOptions = Vec<(&'static str, String)>;

/// Where people most often come from: first in the list.
const FREQUENT: [&str; 8] = ["HK", "MO", "TW", "US", "JP", "KR", "SG", "GB"];

impl Lang {
    /// A place name as this page shows it: Chinese, and in English with its
    /// pinyin after it.
    pub fn place(self, name: &str) -> String {
        if self.is_en() && name.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
            format!("{name} {}", pinyin_of(name))
        } else {
            name.to_string()
        }
    }

    fn country_name(self, c: &Country) -> String {
        if self.is_en() {
            c.en.to_string()
        } else {
            c.zh.to_string()
        }
    }

    /// The frequent countries, then every country by name (pinyin order in
    /// Chinese): (code, name).
    pub fn countries(self) -> (CountryOptions, CountryOptions) {
        let frequent = FREQUENT
            .iter()
            .filter_map(|code| countries::by_code(code))
            .map(|c| (c.code, self.country_name(c)))
            .collect();
        let mut all: Vec<(String, &'static str, String)> = countries::all()
            .iter()
            .map(|c| {
                let key = if self.is_en() {
                    c.en.to_lowercase()
                } else {
                    pinyin_key(c.zh)
                };
                (key, c.code, self.country_name(c))
            })
            .collect();
        all.sort();
        (
            frequent,
            all.into_iter()
                .map(|(_, code, name)| (code, name))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_names_in_pinyin() {
        assert_eq!(pinyin_of("永康市"), "Yongkang Shi");
        assert_eq!(pinyin_of("西城街道"), "Xicheng Jiedao");
        assert_eq!(pinyin_of("园丁社区"), "Yuanding Shequ");
        assert_eq!(pinyin_of("市"), "Shi", "a bare suffix is a word");
        assert_eq!(Lang::En.place("永康市"), "永康市 Yongkang Shi");
        assert_eq!(Lang::Zh.place("永康市"), "永康市");
        assert_eq!(Lang::En.place("Yongkang"), "Yongkang");
    }

    #[test]
    fn countries_by_name_in_each_language() {
        let (frequent, all) = Lang::Zh.countries();
        assert_eq!(frequent[0], ("HK", "中国香港".to_string()));
        let pos = |code: &str| all.iter().position(|c| c.0 == code).unwrap();
        // 阿富汗 (a) before 美国 (m) before 中国台湾 (z).
        assert!(pos("AF") < pos("US") && pos("US") < pos("TW"));
        let (_, all_en) = Lang::En.countries();
        assert_eq!(all_en[0].1, "Afghanistan");
        assert!(all_en.iter().any(|c| c == &("JP", "Japan".to_string())));
    }
}
