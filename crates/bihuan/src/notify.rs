//! Carrying SMS-style messages to people. Use cases only queue messages (an
//! outbox row in the same transaction); a job hands them to a `Notifier` and
//! records the outcome, so sending never blocks a request.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::json;

/// One message to one phone.
pub struct Message<'a> {
    /// The outbox id: receivers may use it to drop a duplicate.
    pub id: i64,
    pub phone: &'a str,
    pub kind: &'a str,
    pub body: &'a str,
}

pub trait Notifier: Send + Sync {
    /// Ok when the message was accepted for delivery.
    fn send<'a>(&'a self, m: &'a Message<'a>) -> BoxFuture<'a, Result<(), String>>;
}

/// The default: writes each message to the log (phone masked).
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn send<'a>(&'a self, m: &'a Message<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let phone = bihuan_domain::identity::Phone::parse(m.phone, "phone")
                .map(|p| p.masked())
                .unwrap_or_default();
            tracing::info!(id = m.id, kind = m.kind, to = %phone, body = m.body, "message");
            Ok(())
        })
    }
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
