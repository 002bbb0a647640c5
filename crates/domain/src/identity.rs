//! Identity documents, phone numbers and the masks used to show them.
//!
//! Every value here is parsed once at the edge ("parse, don't validate"): a
//! `DocumentNumber` or `Phone` that exists is known to be well formed and is
//! stored in one canonical spelling, so the keyed-hash lookup finds the same
//! person however the number was typed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Date;
use crate::validation::FieldError;

/// The kinds of identity document a traveller may declare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// 居民身份证 (PRC resident identity card).
    Resident,
    /// 护照.
    Passport,
    /// 港澳居民来往内地通行证 (回乡证).
    HkMacauPermit,
    /// 台湾居民来往大陆通行证 (台胞证).
    TaiwanPermit,
    /// 外国人永久居留身份证, the 2017 card: 18 characters starting with 9.
    ForeignPermanent,
}

impl DocumentType {
    pub const ALL: [DocumentType; 5] = [
        DocumentType::Resident,
        DocumentType::Passport,
        DocumentType::HkMacauPermit,
        DocumentType::TaiwanPermit,
        DocumentType::ForeignPermanent,
    ];

    /// The wire name, identical to the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Resident => "resident",
            DocumentType::Passport => "passport",
            DocumentType::HkMacauPermit => "hk_macau_permit",
            DocumentType::TaiwanPermit => "taiwan_permit",
            DocumentType::ForeignPermanent => "foreign_permanent",
        }
    }

    /// Inverse of [`DocumentType::as_str`]; exact match only.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            DocumentType::Resident => "居民身份证",
            DocumentType::Passport => "护照",
            DocumentType::HkMacauPermit => "港澳居民来往内地通行证",
            DocumentType::TaiwanPermit => "台湾居民来往大陆通行证",
            DocumentType::ForeignPermanent => "外国人永久居留身份证",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            DocumentType::Resident => "Resident identity card",
            DocumentType::Passport => "Passport",
            DocumentType::HkMacauPermit => {
                "Mainland travel permit for Hong Kong and Macao residents"
            }
            DocumentType::TaiwanPermit => "Mainland travel permit for Taiwan residents",
            DocumentType::ForeignPermanent => "Foreign permanent resident ID card",
        }
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document number known to be well formed for its document type.
///
/// Canonical form: full-width digits and letters made ASCII (as Chinese
/// input methods type them: `３３０７８４…`), trimmed (full-width spaces
/// too) and upper-cased (so a resident ID's final `x` becomes `X`). Deliberately not `Serialize`, and `Debug` prints the masked
/// form, so a raw number cannot leak into logs or JSON by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DocumentNumber {
    kind: DocumentType,
    number: String,
}

/// GB 11643-1999 weights for the first 17 digits.
const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// GB 11643-1999 check characters indexed by the weighted sum mod 11.
const RESIDENT_CHECK: &[u8; 11] = b"10X98765432";
/// Province-level codes of GB/T 2260 (incl. 71 Taiwan, 81 Hong Kong, 82 Macao,
/// which appear on IDs even though the national tables we embed omit them).
const PROVINCE_CODES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

impl DocumentNumber {
    /// Parses `raw` as a number of document type `kind`.
    ///
    /// `field` names the request field for the error; `today` bounds a
    /// resident ID's birth date (passed in because this crate reads no clock).
    ///
    /// Error codes: `required` (blank), `format` (wrong shape, or a resident
    /// ID whose first two digits are not a province), `birth_date` (resident
    /// ID's YYYYMMDD is not a real date in 1900-01-01..=today), `check_digit`
    /// (resident ID's 18th character is wrong).
    ///
    /// Accepted shapes:
    /// - resident: 17 digits + digit or `X`;
    /// - passport: 5–17 ASCII letters/digits with at least one digit;
    /// - HK/Macao permit: `H` or `M` + 8 or 10 digits;
    /// - foreign permanent resident ID (2017): `9` + province code + 15
    ///   digits (city, nationality, birth date YYYYMMDD at 9–16, sequence)
    ///   + the GB 11643 check character;
    /// - Taiwan permit: 8 digits (current cards) or 10 digits (old booklets).
    ///   Old booklets printed a bracketed check letter, e.g. `1234567890(B)`;
    ///   we accept only the digits, which is what the permit number is, so
    ///   the form asks people to leave the bracket out.
    pub fn parse(
        kind: DocumentType,
        raw: &str,
        field: &str,
        today: Date,
    ) -> Result<Self, FieldError> {
        let number = half_width(raw).trim().to_ascii_uppercase();
        if number.is_empty() {
            return Err(FieldError::new(
                field,
                "required",
                "请填写证件号码",
                "document number is required",
            ));
        }
        match kind {
            DocumentType::Resident => check_resident(&number, field, today)?,
            DocumentType::ForeignPermanent => check_foreign_permanent(&number, field, today)?,
            DocumentType::Passport => {
                let ok = (5..=17).contains(&number.len())
                    && number.bytes().all(|b| b.is_ascii_alphanumeric())
                    && number.bytes().any(|b| b.is_ascii_digit());
                if !ok {
                    return Err(format_error(
                        field,
                        "护照号码应为5至17位字母或数字，且至少含一位数字",
                        "a passport number is 5 to 17 letters or digits, with at least one digit",
                    ));
                }
            }
            DocumentType::HkMacauPermit => {
                let b = number.as_bytes();
                let ok = matches!(b.first(), Some(b'H' | b'M'))
                    && matches!(b.len(), 9 | 11)
                    && b[1..].iter().all(u8::is_ascii_digit);
                if !ok {
                    return Err(format_error(
                        field,
                        "港澳居民来往内地通行证号码应为H或M开头加8位或10位数字",
                        "a Hong Kong/Macao permit number is H or M followed by 8 or 10 digits",
                    ));
                }
            }
            DocumentType::TaiwanPermit => {
                let ok =
                    matches!(number.len(), 8 | 10) && number.bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    return Err(format_error(
                        field,
                        "台湾居民来往大陆通行证号码应为8位或10位数字（旧版括号内字母不填）",
                        "a Taiwan permit number is 8 or 10 digits (leave out an old permit's bracketed letter)",
                    ));
                }
            }
        }
        Ok(Self { kind, number })
    }

    pub fn kind(&self) -> DocumentType {
        self.kind
    }

    /// The canonical (trimmed, upper-case) number. Show it only to roles
    /// allowed to see it; everyone else gets [`DocumentNumber::masked`].
    pub fn number(&self) -> &str {
        &self.number
    }

    /// Resident ID: first 6 + 8 `*` + last 4 (`330784********123X`), hiding
    /// the birth date. Others: first 2 and last 2 kept, the middle starred.
    pub fn masked(&self) -> String {
        match self.kind {
            DocumentType::Resident => {
                format!("{}********{}", &self.number[..6], &self.number[14..])
            }
            // The birth date (characters 9 to 16) hidden.
            DocumentType::ForeignPermanent => {
                format!("{}********{}", &self.number[..8], &self.number[16..])
            }
            // Every other kind is ASCII and at least 5 long, so slicing is safe.
            _ => mask_middle(&self.number, 2, 2),
        }
    }

    /// Canonical `"{kind}:{number}"` that the storage layer keys a hash with;
    /// the kind is included so equal numbers of different documents differ.
    pub fn lookup_key_material(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.number)
    }
}

impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentNumber")
            .field("kind", &self.kind)
            .field("number", &self.masked())
            .finish()
    }
}

/// Full-width ASCII (U+FF01..=U+FF5E) as ASCII, and the ideographic space
/// as a space: what a Chinese input method types in a number field.
pub fn half_width(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

fn format_error(field: &str, zh: &str, en: &str) -> FieldError {
    FieldError::new(field, "format", zh, en)
}

/// `number` is already trimmed and upper-cased.
fn check_resident(number: &str, field: &str, today: Date) -> Result<(), FieldError> {
    let b = number.as_bytes();
    let shape_ok = b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X');
    if !shape_ok {
        return Err(format_error(
            field,
            "居民身份证号码应为18位：17位数字加1位数字或X",
            "a resident ID number is 18 characters: 17 digits then a digit or X",
        ));
    }
    let digit = |i: usize| u32::from(b[i] - b'0');

    // Only the province is checked: counties are renamed and recoded over
    // time, and an old ID keeps its old code.
    let province = (digit(0) * 10 + digit(1)) as u8;
    if !PROVINCE_CODES.contains(&province) {
        return Err(format_error(
            field,
            "居民身份证号码前两位不是有效的省级行政区划代码",
            "the first two digits of a resident ID number are not a province code",
        ));
    }

    let num = |from: usize, to: usize| (from..to).fold(0u32, |acc, i| acc * 10 + digit(i));
    let birth = Date::from_ymd_opt(num(6, 10) as i32, num(10, 12), num(12, 14));
    let earliest = Date::from_ymd_opt(1900, 1, 1);
    if !matches!((birth, earliest), (Some(d), Some(e)) if d >= e && d <= today) {
        return Err(FieldError::new(
            field,
            "birth_date",
            "居民身份证号码中的出生日期（第7至14位）不是有效日期",
            "the birth date in a resident ID number (characters 7 to 14) is not a valid date",
        ));
    }

    if b[17] != resident_check_char(&b[..17]) {
        return Err(FieldError::new(
            field,
            "check_digit",
            "居民身份证号码校验位不正确，请核对",
            "the resident ID number's check character is wrong; please check the number",
        ));
    }
    Ok(())
}

/// `number` is already trimmed and upper-cased.
fn check_foreign_permanent(number: &str, field: &str, today: Date) -> Result<(), FieldError> {
    let b = number.as_bytes();
    let shape_ok = b.len() == 18
        && b[0] == b'9'
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X');
    let province = shape_ok.then(|| (b[1] - b'0') * 10 + (b[2] - b'0'));
    if !province.is_some_and(|p| PROVINCE_CODES.contains(&p)) {
        return Err(format_error(
            field,
            "外国人永久居留身份证号码应为18位：以9开头，第2、3位为受理地省级代码",
            "a foreign permanent resident ID is 18 characters: 9, a province code, then digits",
        ));
    }
    let digit = |i: usize| u32::from(b[i] - b'0');
    let num = |from: usize, to: usize| (from..to).fold(0u32, |acc, i| acc * 10 + digit(i));
    let birth = Date::from_ymd_opt(num(8, 12) as i32, num(12, 14), num(14, 16));
    let earliest = Date::from_ymd_opt(1900, 1, 1);
    if !matches!((birth, earliest), (Some(d), Some(e)) if d >= e && d <= today) {
        return Err(FieldError::new(
            field,
            "birth_date",
            "外国人永久居留身份证号码中的出生日期（第9至16位）不是有效日期",
            "the birth date in a foreign permanent resident ID (characters 9 to 16) is not a valid date",
        ));
    }
    if b[17] != resident_check_char(&b[..17]) {
        return Err(FieldError::new(
            field,
            "check_digit",
            "外国人永久居留身份证号码校验位不正确，请核对",
            "the foreign permanent resident ID's check character is wrong; please check the number",
        ));
    }
    Ok(())
}

/// GB 11643-1999 check character of the first 17 (ASCII digit) bytes.
/// A resident ID made from its first 17 characters (six-digit region,
/// birth date, sequence), with its check character; None unless they are 17
/// ASCII digits. For synthetic people (drills, demos), never for input.
pub fn resident_with_check(first17: &str) -> Option<String> {
    (first17.len() == 17 && first17.bytes().all(|b| b.is_ascii_digit())).then(|| {
        format!(
            "{first17}{}",
            resident_check_char(first17.as_bytes()) as char
        )
    })
}

fn resident_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(RESIDENT_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    RESIDENT_CHECK[(sum % 11) as usize]
}

/// Keeps `head` and `tail` characters and stars the rest, one `*` per
/// hidden character (so the length is still visible, as on paper forms).
fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return s.to_string();
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A mobile number: a mainland China number stored as its 11 digits, or an
/// international one stored in E.164 (`+85291234567`) for people who declare
/// with a document other than a resident ID (visitors from abroad and from
/// 港澳台).
///
/// `Debug` prints the masked form so numbers stay out of logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts `1[3-9]` + 9 digits, after removing spaces, hyphens,
    /// brackets and a leading `+86` (numbers copied from contacts often
    /// carry them), or any other E.164 number: `+`, a country code not 86,
    /// 8 to 15 digits in all. Error codes: `required` (blank), `phone`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let compact = compact_phone(raw, field)?;
        if let Some(p) = mainland(&compact) {
            return Ok(p);
        }
        international(&compact).ok_or_else(|| {
            FieldError::new(
                field,
                "phone",
                "请填写11位中国大陆手机号码，境外号码请以+和国家或地区代码开头，如 +85291234567",
                "enter an 11-digit mainland China mobile number, or an international number starting with + and the country code, e.g. +85291234567",
            )
        })
    }

    /// As [`Phone::parse`] for someone declaring with `document`: a
    /// resident ID holder gives a mainland number (it is how the grid
    /// reaches them); any other document may give an international one.
    pub fn parse_for(raw: &str, field: &str, document: DocumentType) -> Result<Self, FieldError> {
        if document != DocumentType::Resident {
            return Self::parse(raw, field);
        }
        let compact = compact_phone(raw, field)?;
        mainland(&compact).ok_or_else(|| {
            let international = compact.starts_with('+') && !compact.starts_with("+86");
            if international {
                FieldError::new(
                    field,
                    "phone_mainland",
                    "持居民身份证报备请填写11位中国大陆手机号码（境外号码仅限护照、港澳台通行证等证件）",
                    "with a resident ID card, enter an 11-digit mainland China mobile number (international numbers are for passports and other permits)",
                )
            } else {
                FieldError::new(
                    field,
                    "phone",
                    "请填写11位中国大陆手机号码",
                    "enter an 11-digit mainland China mobile number",
                )
            }
        })
    }

    /// The 11 digits, or `+` and the E.164 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a number outside the mainland (stored with its `+`).
    pub fn is_international(&self) -> bool {
        self.0.starts_with('+')
    }

    /// `138****8000` or `+852****4567`: the carrier prefix (or country
    /// code) and last four stay readable so a caller can confirm "the
    /// number ending 8000".
    pub fn masked(&self) -> String {
        if self.is_international() {
            // At least four stars however short the number: the tail shrinks
            // to two digits, then the head gives way.
            let len = self.0.chars().count();
            let tail = if len >= 12 { 4 } else { 2 };
            let head = 4.min(len.saturating_sub(tail + 4)).max(1);
            mask_middle(&self.0, head, tail)
        } else {
            mask_middle(&self.0, 3, 4)
        }
    }
}

/// The number without the spaces, hyphens, dots and brackets people type.
fn compact_phone(raw: &str, field: &str) -> Result<String, FieldError> {
    let typed = half_width(raw);
    // "+44 (0)7700 900123": the trunk 0 people write in brackets after the
    // country code is not dialled from abroad.
    let typed = if typed.trim_start().starts_with('+') {
        typed.replacen("(0)", "", 1)
    } else {
        typed
    };
    let compact: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if compact.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            "请填写手机号码",
            "mobile number is required",
        ));
    }
    Ok(compact)
}

fn mainland(compact: &str) -> Option<Phone> {
    let digits = compact.strip_prefix("+86").unwrap_or(compact);
    let b = digits.as_bytes();
    let ok = b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit);
    ok.then(|| Phone(digits.to_string()))
}

/// E.164: at most 15 digits after the `+`, none leading with 0. Short
/// numbers (under 8 digits) are not mobiles anywhere. +86 is mainland
/// only, checked by [`mainland`].
fn international(compact: &str) -> Option<Phone> {
    let digits = compact.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && !digits.starts_with("86");
    ok.then(|| Phone(compact.to_string()))
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

/// Masks a person's name for lists: the first character (the surname for
/// Chinese names) stays, every other character becomes `*`.
/// 张三 → 张*, 欧阳娜娜 → 欧***, 李 → 李, John → J***.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::from_ymd_opt(2022, 1, 28).unwrap()
    }

    fn resident(raw: &str) -> Result<DocumentNumber, FieldError> {
        DocumentNumber::parse(DocumentType::Resident, raw, "id_number", today())
    }

    /// Builds a valid resident ID from its first 17 digits.
    fn with_check(first17: &str) -> String {
        let c = resident_check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn document_type_names_round_trip() {
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            let back: DocumentType = serde_json::from_str(&format!("\"{}\"", t.as_str())).unwrap();
            assert_eq!(back, t);
        }
        assert_eq!(DocumentType::parse("Resident"), None);
        assert_eq!(DocumentType::HkMacauPermit.as_str(), "hk_macau_permit");
        assert_eq!(
            DocumentType::TaiwanPermit.label_zh(),
            "台湾居民来往大陆通行证"
        );
        assert_eq!(
            DocumentType::HkMacauPermit.label_zh(),
            "港澳居民来往内地通行证"
        );
        assert_eq!(DocumentType::Resident.label_zh(), "居民身份证");
        assert_eq!(DocumentType::Passport.label_zh(), "护照");
    }

    #[test]
    fn known_valid_resident_ids() {
        // Published example from GB 11643-1999.
        let d = resident("11010519491231002X").unwrap();
        assert_eq!(d.number(), "11010519491231002X");
        assert_eq!(d.kind(), DocumentType::Resident);
        // The standard's other example has a right check digit but a birth
        // date of 1880, before our 1900 floor.
        assert_eq!(resident_check_char(b"44052418800101001"), b'4');
        assert_eq!(
            resident("440524188001010014").unwrap_err().code,
            "birth_date"
        );
    }

    #[test]
    fn computed_check_digits_are_accepted() {
        for first17 in [
            "33078419900101123",
            "33078420220128000",
            "11010519000101001",
            "81000019800229123",
        ] {
            let id = with_check(first17);
            assert!(resident(&id).is_ok(), "{id}");
        }
    }

    #[test]
    fn lowercase_x_and_whitespace_are_normalised() {
        let d = resident("  11010519491231002x ").unwrap();
        assert_eq!(d.number(), "11010519491231002X");
        assert_eq!(d.lookup_key_material(), "resident:11010519491231002X");
    }

    #[test]
    fn full_width_digits_and_letters_are_normalised() {
        // As a Chinese input method types them, with an ideographic space.
        let d = resident("\u{3000}１１０１０５１９４９１２３１００２ｘ").unwrap();
        assert_eq!(d.number(), "11010519491231002X");
        assert_eq!(d.lookup_key_material(), "resident:11010519491231002X");
        let p = DocumentNumber::parse(DocumentType::Passport, "Ｅ１２３４５６７８", "n", today());
        assert_eq!(p.unwrap().number(), "E12345678");
        assert_eq!(
            Phone::parse("＋８６ １３８－００１３－８０００", "phone")
                .unwrap()
                .as_str(),
            "13800138000"
        );
    }

    #[test]
    fn foreign_permanent_resident_ids_of_2017() {
        let parse = |raw: &str| {
            DocumentNumber::parse(DocumentType::ForeignPermanent, raw, "id_number", today())
        };
        // 9, 33 (Zhejiang), 07 (Jinhua), 840 (USA), born 1985-06-15, 1, check.
        let id = with_check("93307840198506151");
        let d = parse(&id).unwrap();
        assert_eq!(d.kind(), DocumentType::ForeignPermanent);
        assert_eq!(d.masked(), format!("93307840********{}", &id[16..]));
        assert_eq!(
            DocumentType::parse("foreign_permanent"),
            Some(DocumentType::ForeignPermanent)
        );
        assert_eq!(
            DocumentType::ForeignPermanent.label_zh(),
            "外国人永久居留身份证"
        );
        // Not a resident ID (9x is no province), and the rules bite.
        assert_eq!(resident(&id).unwrap_err().code, "format");
        let wrong = format!("{}{}", &id[..17], if id.ends_with('0') { '1' } else { '0' });
        assert_eq!(parse(&wrong).unwrap_err().code, "check_digit");
        assert_eq!(
            parse(&with_check("83307840198506151")).unwrap_err().code,
            "format"
        );
        assert_eq!(
            parse(&with_check("99907840198506151")).unwrap_err().code,
            "format"
        );
        assert_eq!(
            parse(&with_check("93307840198513151")).unwrap_err().code,
            "birth_date"
        );
        assert_eq!(parse("9330784019850615").unwrap_err().code, "format");
    }

    #[test]
    fn wrong_check_digit() {
        let e = resident("110105194912310021").unwrap_err();
        assert_eq!(e.code, "check_digit");
        assert_eq!(e.field, "id_number");
        let right = resident_check_char(b"33078419900101123") as char;
        for c in "0123456789X".chars().filter(|&c| c != right) {
            let id = format!("33078419900101123{c}");
            assert_eq!(resident(&id).unwrap_err().code, "check_digit", "{id}");
        }
    }

    #[test]
    fn impossible_and_out_of_range_birth_dates() {
        // 31 February, with a check digit that is otherwise right.
        assert_eq!(
            resident(&with_check("33078419900231123")).unwrap_err().code,
            "birth_date"
        );
        // 29 February of a non-leap year.
        assert_eq!(
            resident(&with_check("33078420210229123")).unwrap_err().code,
            "birth_date"
        );
        // The day after `today`.
        assert_eq!(
            resident(&with_check("33078420220129123")).unwrap_err().code,
            "birth_date"
        );
        // Before 1900.
        assert_eq!(
            resident(&with_check("33078418991231123")).unwrap_err().code,
            "birth_date"
        );
        assert_eq!(
            resident(&with_check("33078419901301123")).unwrap_err().code,
            "birth_date"
        );
        assert_eq!(
            resident(&with_check("33078419900100123")).unwrap_err().code,
            "birth_date"
        );
    }

    #[test]
    fn resident_shape_and_province() {
        for bad in [
            "11010519491231002",
            "11010519491231002XX",
            "1101051949123100X2",
            "11010519491231002Y",
            "１１０１０５１９４９１２３１００２",
            "' or 1=1 --------",
        ] {
            assert_eq!(resident(bad).unwrap_err().code, "format", "{bad}");
        }
        // 99 and 00 are not provinces even with a correct check digit.
        assert_eq!(
            resident(&with_check("99078419900101123")).unwrap_err().code,
            "format"
        );
        assert_eq!(
            resident(&with_check("00078419900101123")).unwrap_err().code,
            "format"
        );
        assert_eq!(resident("   ").unwrap_err().code, "required");
    }

    #[test]
    fn resident_mask() {
        let d = resident(&with_check("33078419900101123")).unwrap();
        assert_eq!(
            d.masked(),
            format!("330784********123{}", &d.number()[17..])
        );
        assert_eq!(
            resident("11010519491231002X").unwrap().masked(),
            "110105********002X"
        );
        // Debug never shows the raw number.
        assert!(!format!("{d:?}").contains("19900101"));
    }

    fn other(kind: DocumentType, raw: &str) -> Result<DocumentNumber, FieldError> {
        DocumentNumber::parse(kind, raw, "doc", today())
    }

    #[test]
    fn passports() {
        let p = DocumentType::Passport;
        for ok in [
            "E12345678",
            "g1234567",
            "EA1234567",
            "12345",
            "X1234567890123456",
            "123456789",
        ] {
            assert!(other(p, ok).is_ok(), "{ok}");
        }
        assert_eq!(other(p, " e12345678 ").unwrap().number(), "E12345678");
        for bad in [
            "E123",
            "X12345678901234567",
            "ABCDEFGH",
            "E1234-5678",
            "E 12345678",
            "护照12345",
        ] {
            assert_eq!(other(p, bad).unwrap_err().code, "format", "{bad}");
        }
        assert_eq!(other(p, "E12345678").unwrap().masked(), "E1*****78");
        assert_eq!(other(p, "12345").unwrap().masked(), "12*45");
    }

    #[test]
    fn hk_macau_permits() {
        let k = DocumentType::HkMacauPermit;
        for ok in ["H12345678", "M1234567890", "h12345678"] {
            assert!(other(k, ok).is_ok(), "{ok}");
        }
        for bad in [
            "H1234567",
            "H123456789",
            "H123456789012",
            "A12345678",
            "12345678",
            "HH2345678",
        ] {
            assert_eq!(other(k, bad).unwrap_err().code, "format", "{bad}");
        }
        let d = other(k, "H12345678").unwrap();
        assert_eq!(d.masked(), "H1*****78");
        assert_eq!(d.lookup_key_material(), "hk_macau_permit:H12345678");
    }

    #[test]
    fn taiwan_permits() {
        let k = DocumentType::TaiwanPermit;
        for ok in ["12345678", "1234567890"] {
            assert!(other(k, ok).is_ok(), "{ok}");
        }
        for bad in [
            "1234567",
            "123456789",
            "12345678901",
            "1234567890(B)",
            "T1234567",
        ] {
            assert_eq!(other(k, bad).unwrap_err().code, "format", "{bad}");
        }
        assert_eq!(other(k, "12345678").unwrap().masked(), "12****78");
    }

    #[test]
    fn same_number_different_kind_has_different_key() {
        let a = other(DocumentType::Passport, "12345678").unwrap();
        let b = other(DocumentType::TaiwanPermit, "12345678").unwrap();
        assert_ne!(a.lookup_key_material(), b.lookup_key_material());
    }

    #[test]
    fn phones() {
        for ok in [
            "13800138000",
            "+8613800138000",
            "+86 138 0013 8000",
            "138-0013-8000",
            " 19912345678 ",
        ] {
            let p = Phone::parse(ok, "phone").unwrap();
            assert_eq!(p.as_str().len(), 11, "{ok}");
        }
        assert_eq!(
            Phone::parse("+86 138-0013-8000", "p").unwrap().as_str(),
            "13800138000"
        );
        for bad in [
            "12800138000",
            "1380013800",
            "138001380000",
            "8613800138000",
            "+8612800138000",
            "+852123",
            "+0123456789",
            "+1415555012345678",
            "1380013800a",
            "０13800138000",
        ] {
            let e = Phone::parse(bad, "phone").unwrap_err();
            assert_eq!(e.code, "phone", "{bad}");
            assert_eq!(e.field, "phone");
        }
        assert_eq!(Phone::parse(" ", "phone").unwrap_err().code, "required");
        let p = Phone::parse("13800138000", "phone").unwrap();
        assert_eq!(p.masked(), "138****8000");
        assert_eq!(format!("{p:?}"), "Phone(\"138****8000\")");
    }

    #[test]
    fn international_phones_for_visitors() {
        let hk = Phone::parse("+852 9123 4567", "phone").unwrap();
        assert_eq!(hk.as_str(), "+85291234567");
        assert!(hk.is_international());
        assert_eq!(hk.masked(), "+852****4567");
        let us = Phone::parse_for("+1 (415) 555-0123", "phone", DocumentType::Passport).unwrap();
        assert_eq!(us.as_str(), "+14155550123");
        assert_eq!(format!("{us:?}"), "Phone(\"+141****0123\")");
        // Full-width digits and plus, as typed on a Chinese keyboard.
        assert_eq!(
            Phone::parse_for(
                "＋８５２９１２３４５６７",
                "phone",
                DocumentType::HkMacauPermit
            )
            .unwrap()
            .as_str(),
            "+85291234567"
        );
        // A mainland number with a passport stays a mainland number.
        assert_eq!(
            Phone::parse_for("+86 138 0013 8000", "phone", DocumentType::Passport)
                .unwrap()
                .as_str(),
            "13800138000"
        );
        // A resident ID keeps the mainland rule, with a message saying why.
        let e = Phone::parse_for("+85291234567", "phone", DocumentType::Resident).unwrap_err();
        assert_eq!(e.code, "phone_mainland");
        assert!(e.message.contains("居民身份证"), "{}", e.message);
        assert!(e.message_en.contains("resident ID"), "{}", e.message_en);
        let e = Phone::parse_for("1380013800", "phone", DocumentType::Resident).unwrap_err();
        assert_eq!(e.code, "phone");
        assert!(Phone::parse_for("13800138000", "phone", DocumentType::Resident).is_ok());
        // A short number keeps four stars; the bracketed trunk 0 is dropped.
        assert_eq!(
            Phone::parse("+12345678", "phone").unwrap().masked(),
            "+12****78"
        );
        assert_eq!(
            Phone::parse("+44 (0)7700 900123", "phone")
                .unwrap()
                .as_str(),
            "+447700900123"
        );
    }

    #[test]
    fn names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "李");
        assert_eq!(mask_name(" 王小明 "), "王**");
        assert_eq!(mask_name("John"), "J***");
        assert_eq!(mask_name(""), "");
    }
}
