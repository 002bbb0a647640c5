//! Carrying SMS-style messages to people. Use cases only queue messages (an
//! outbox row in the same transaction); a job hands them to a `Notifier` and
//! records the outcome, so sending never blocks a request.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::json;

/// One message to one phone.
pub struct Message<'a> {
    /// The outbox id (for a `recovery_code`, the code's own id): receivers
    /// may use (id, kind) to drop a duplicate.
    pub id: i64,
    pub phone: &'a str,
    pub kind: &'a str,
    pub body: &'a str,
}

pub trait Notifier: Send + Sync {
    /// Ok when the message was accepted for delivery.
    fn send<'a>(&'a self, m: &'a Message<'a>) -> BoxFuture<'a, Result<(), String>>;
}

/// The default: notes each message in the log by id, kind and masked
/// phone. Never the body: it names the person and links to their receipt.
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn send<'a>(&'a self, m: &'a Message<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let phone = bihuan_domain::identity::Phone::parse(m.phone, "phone")
                .map(|p| p.masked())
                .unwrap_or_default();
            tracing::info!(
                id = m.id,
                kind = m.kind,
                to = %phone,
                chars = m.body.chars().count(),
                "message"
            );
            Ok(())
        })
    }
}

/// Sends through `inner` with every link made absolute under
/// `public_base_url`: messages are stored with the site's paths
/// (`/s/{receipt}`), and a phone can only open a full address.
pub struct AbsoluteLinks {
    base: String,
    inner: Arc<dyn Notifier>,
}

impl AbsoluteLinks {
    pub fn new(public_base_url: &str, inner: Arc<dyn Notifier>) -> Self {
        AbsoluteLinks {
            base: public_base_url.trim_end_matches('/').to_string(),
            inner,
        }
    }
}

impl Notifier for AbsoluteLinks {
    fn send<'a>(&'a self, m: &'a Message<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let body = absolute_links(m.body, &self.base);
            let m = Message {
                id: m.id,
                phone: m.phone,
                kind: m.kind,
                body: &body,
            };
            self.inner.send(&m).await
        })
    }
}

/// Every word of `body` that is a site path (`/…`, not `//…`) gets `base`
/// in front. The templates put a link as a word of its own.
pub fn absolute_links(body: &str, base: &str) -> String {
    let mut out = String::with_capacity(body.len() + 64);
    let mut word_start = true;
    for (i, ch) in body.char_indices() {
        if word_start && ch == '/' && !body[i..].starts_with("//") {
            out.push_str(base);
        }
        out.push(ch);
        word_start = ch.is_whitespace();
    }
    out
}

/// Posts `{"id","to","kind","body"}` to a URL; any 2xx is delivered.
pub struct WebhookNotifier {
    url: String,
    http: reqwest::Client,
}

impl WebhookNotifier {
    pub fn new(url: String) -> Self {
        WebhookNotifier {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
        }
    }
}

impl Notifier for WebhookNotifier {
    fn send<'a>(&'a self, m: &'a Message<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let r = self
                .http
                .post(&self.url)
                .json(&json!({"id": m.id, "to": m.phone, "kind": m.kind, "body": m.body}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status().is_success() {
                Ok(())
            } else {
                Err(format!("webhook answered {}", r.status()))
            }
        })
    }
}

/// Seconds to wait before retry number `attempts` (1, 2, …): 30 s doubling, at most an hour.
pub fn backoff(attempts: i64) -> i64 {
    (30i64 << (attempts - 1).clamp(0, 7)).min(3600)
}

/// The message texts, in Chinese. `{name}` and the other fields are filled in.
pub fn render(kind: &str, fields: &[(&str, &str)]) -> String {
    let template = match kind {
        "test_due" => {
            "【防控提醒】{name}您好，今天（{date}）是您的核酸检测日（第{day}天），请按网格员通知按时采样。"
        }
        "check_in_missed" => {
            "【防控提醒】{name}您好，您今天（{date}）尚未健康打卡，请打开 {link} 填报体温和症状。"
        }
        "release" => {
            "【防控提醒】{name}您好，您的管控措施已于{date}解除，解除管控告知书可在 {link} 查看打印。"
        }
        "rolling_due" => {
            "【防控提醒】{name}您好，您所在单位（{employer}）属重点行业，您的滚动核酸检测已到期，请尽快就近采样。"
        }
        _ => "【防控提醒】{name}您好，请留意网格员的通知。",
    };
    fields.iter().fold(template.to_string(), |s, (k, v)| {
        s.replace(&format!("{{{k}}}"), v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_absolute() {
        let body = render(
            "check_in_missed",
            &[("name", "张*"), ("date", "1月29日"), ("link", "/s/ABC")],
        );
        let sent = absolute_links(&body, "https://bihuan.example.gov.cn");
        assert!(
            sent.contains(" https://bihuan.example.gov.cn/s/ABC "),
            "{sent}"
        );
        assert_eq!(
            absolute_links("见 //x 与 a/b", "https://h"),
            "见 //x 与 a/b"
        );
        assert_eq!(absolute_links("/s/1", "https://h"), "https://h/s/1");
    }

    struct Keep(std::sync::Mutex<Vec<String>>);

    impl Notifier for Keep {
        fn send<'a>(&'a self, m: &'a Message<'a>) -> BoxFuture<'a, Result<(), String>> {
            self.0.lock().unwrap().push(m.body.to_string());
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn the_sender_sees_absolute_links() {
        let keep = Arc::new(Keep(Default::default()));
        let n = AbsoluteLinks::new("https://h/", keep.clone());
        let m = Message {
            id: 1,
            phone: "13800138000",
            kind: "release",
            body: "请在 /s/R/release 查看",
        };
        n.send(&m).await.unwrap();
        assert_eq!(keep.0.lock().unwrap()[0], "请在 https://h/s/R/release 查看");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(2), 60);
        assert_eq!(backoff(3), 120);
        assert_eq!(backoff(30), 3600);
    }

    #[test]
    fn templates_fill_their_fields() {
        let s = render(
            "test_due",
            &[("name", "张*"), ("date", "1月29日"), ("day", "3")],
        );
        assert_eq!(
            s,
            "【防控提醒】张*您好，今天（1月29日）是您的核酸检测日（第3天），请按网格员通知按时采样。"
        );
    }
}
