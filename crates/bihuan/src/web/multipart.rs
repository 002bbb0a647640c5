//! `multipart/form-data` bodies, read whole (they are already bounded by the
//! route's body limit): enough for a file input and a few text fields,
//! without another dependency.

/// One part of the form.
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A `name="…"` parameter of a Content-Disposition header.
fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The parts of a body, or `None` when it is not well formed.
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delim = format!("--{boundary}");
    let next_delim = format!("\r\n--{boundary}");
    let mut at = find(body, delim.as_bytes(), 0)? + delim.len();
    let mut parts = Vec::new();
    loop {
        if body.get(at..at + 2)? == b"--" {
            return Some(parts);
        }
        if body.get(at..at + 2)? != b"\r\n" {
            return None;
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = std::str::from_utf8(&body[head_start..head_end]).ok()?;
        let disposition = head.split("\r\n").find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v)
        })?;
        let data_start = head_end + 4;
        let data_end = find(body, next_delim.as_bytes(), data_start)?;
        let filename = param(disposition, "filename");
        // A text field with a NUL is not a form a browser sends.
        if filename.is_none() && body[data_start..data_end].contains(&0) {
            return None;
        }
        parts.push(Part {
            name: param(disposition, "name")?,
            filename,
            data: body[data_start..data_end].to_vec(),
        });
        at = data_end + next_delim.len();
    }
}

/// The text of a field, or empty.
pub fn text(parts: &[Part], name: &str) -> String {
    parts
        .iter()
        .find(|p| p.name == name)
        .map(|p| String::from_utf8_lossy(&p.data).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_a_file_and_fields() {
        let b = boundary("multipart/form-data; boundary=\"XyZ\"").unwrap();
        assert_eq!(b, "XyZ");
        assert_eq!(boundary("application/json"), None);
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n\xe5\x8d\x8f\xe6\x9f\xa5\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n\r\n--XyZ--\r\n";
        let parts = parse(body, &b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(text(&parts, "name"), "协查");
        assert_eq!(parts[1].filename.as_deref(), Some("a.csv"));
        assert_eq!(parts[1].data, b"x,y\r\n1,2\r\n");
        assert_eq!(text(&parts, "missing"), "");
        assert!(parse(b"--XyZ\r\nno end", "XyZ").is_none());
        assert!(parse(b"garbage", "XyZ").is_none());
        let nul =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\na\0b\r\n--XyZ--\r\n";
        assert!(parse(nul, "XyZ").is_none(), "a NUL in a text field");
    }
}
