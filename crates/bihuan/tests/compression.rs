//! Answers travel compressed when the client accepts it, and the static
//! assets answer a revalidation with 304. The test client has no
//! decompression of its own: the raw bytes are what the server sent.

mod support;

use std::io::Read;

use support::spawn;

async fn fetch(
    app: &support::TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let h = r.headers().clone();
    (status, h, r.bytes().await.unwrap().to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn pages_are_compressed_for_clients_that_accept_it() {
    let app = spawn().await;

    // No Accept-Encoding: the page as it is.
    let (s, h, plain) = fetch(&app, "/declare", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-encoding"), None);
    let page = String::from_utf8(plain.clone()).unwrap();
    assert!(page.contains("<form"), "{page}");

    // gzip: decodes to the same page, and is much smaller.
    let (s, h, gz) = fetch(&app, "/declare", &[("accept-encoding", "gzip")]).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-encoding"), Some("gzip"));
    assert!(
        header(&h, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "{h:?}"
    );
    assert!(
        gz.len() * 3 < plain.len(),
        "{} vs {}",
        gz.len(),
        plain.len()
    );
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded.len(), page.len());
    assert!(decoded.contains("<form"));

    // br is preferred when offered.
    let (s, h, br) = fetch(&app, "/declare", &[("accept-encoding", "br")]).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-encoding"), Some("br"));
    assert!(
        br.len() * 3 < plain.len(),
        "{} vs {}",
        br.len(),
        plain.len()
    );

    // CSS, JS and JSON too.
    for path in ["/static/app.css", "/static/app.js"] {
        let (s, h, _) = fetch(&app, path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(s, 200, "{path}");
        assert!(header(&h, "content-encoding").is_some(), "{path}: {h:?}");
    }

    // A tiny answer goes as it is.
    let (s, h, _) = fetch(&app, "/healthz", &[("accept-encoding", "gzip")]).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-encoding"), None, "{h:?}");
}

#[tokio::test]
async fn static_assets_revalidate_with_their_etag() {
    let app = spawn().await;
    for path in ["/static/app.css", "/static/app.js"] {
        let (s, h, body) = fetch(&app, path, &[]).await;
        assert_eq!(s, 200);
        assert!(!body.is_empty());
        assert!(
            header(&h, "cache-control").is_some_and(|c| c.contains("public")),
            "{h:?}"
        );
        let etag = header(&h, "etag").expect("an ETag").to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

        let (s, h, body) = fetch(&app, path, &[("if-none-match", &etag)]).await;
        assert_eq!(s, 304, "{path}");
        assert!(body.is_empty());
        assert_eq!(header(&h, "etag"), Some(etag.as_str()));

        // The same ETag as a compressed answer sends it back.
        let (s, _, _) = fetch(
            &app,
            path,
            &[
                ("if-none-match", &format!("W/{etag}")),
                ("accept-encoding", "gzip"),
            ],
        )
        .await;
        assert_eq!(s, 304, "{path}");

        // Another file's ETag: the file.
        let (s, _, body) = fetch(&app, path, &[("if-none-match", "\"0000000000000000\"")]).await;
        assert_eq!(s, 200);
        assert!(!body.is_empty());
    }
}
