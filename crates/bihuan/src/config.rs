//! Settings, layered: defaults → `bihuan.toml` (or `BIHUAN_CONFIG`) →
//! `BIHUAN_*` environment → `DATABASE_URL` → command-line flags.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    /// 64 hex digits; when absent the key lives in `key_file`.
    pub secret_key: Option<String>,
    pub key_file: PathBuf,
    /// Where the 返永通 poster's QR code points.
    pub public_base_url: String,
    /// Requests per minute per client address on public routes; 0 turns it off.
    pub public_rate_limit: u32,
    /// The city this installation serves.
    pub city_code: String,
    /// A policy file to use instead of the shipped one.
    pub policy_file: Option<PathBuf>,
    /// How often the background jobs tick, in seconds; 0 turns them off
    /// (tests drive the jobs themselves).
    pub sweep_seconds: u64,
    /// Where reminders are posted; when absent they are only logged.
    pub notify_webhook_url: Option<String>,
    /// The local hour (Asia/Shanghai, 0–23) at which the daily report (日报)
    /// is made, once per day.
    pub daily_report_hour: u32,
    /// How often the dashboards' figures are recomputed while anyone
    /// watches, in seconds; 0 computes them on every request.
    pub dashboard_refresh_seconds: u64,
    /// Seconds a connection has to send a request's head (also the idle
    /// time allowed between requests on a kept-alive connection).
    pub header_read_timeout_seconds: u64,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Reverse proxies (IP addresses or CIDR blocks) whose
    /// `X-Forwarded-For` / `X-Real-IP` name the client; from anyone else
    /// those headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// Requests in flight per public lane (返永通, receipts, venue visits,
    /// other public pages); past it they answer 503 at once. 0: no limit.
    pub public_concurrency: usize,
    /// Requests in flight of signed-in people; 0: no limit.
    pub staff_concurrency: usize,
    /// Requests in flight of machine clients by token; 0: no limit.
    pub machine_concurrency: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("key_file", &self.key_file)
            .field("public_base_url", &self.public_base_url)
            .field("public_rate_limit", &self.public_rate_limit)
            .field("city_code", &self.city_code)
            .field("policy_file", &self.policy_file)
            .field("sweep_seconds", &self.sweep_seconds)
            .field("notify_webhook_url", &self.notify_webhook_url)
            .field("daily_report_hour", &self.daily_report_hour)
            .field("dashboard_refresh_seconds", &self.dashboard_refresh_seconds)
            .field(
                "header_read_timeout_seconds",
                &self.header_read_timeout_seconds,
            )
            .field("max_connections", &self.max_connections)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("public_concurrency", &self.public_concurrency)
            .field("staff_concurrency", &self.staff_concurrency)
            .field("machine_concurrency", &self.machine_concurrency)
            .finish()
    }
}

/// Hides a password in `postgres://user:password@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..s + 3], &creds[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/bihuan.db".into(),
            secret_key: None,
            key_file: "data/bihuan.key".into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            public_rate_limit: 60,
            city_code: "330784".into(),
            policy_file: None,
            sweep_seconds: 60,
            notify_webhook_url: None,
            daily_report_hour: 22,
            dashboard_refresh_seconds: 3,
            header_read_timeout_seconds: 10,
            max_connections: 1024,
            trusted_proxies: Vec::new(),
            public_concurrency: 64,
            staff_concurrency: 256,
            machine_concurrency: 32,
        }
    }
}

/// Flags given on the command line, which win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Settings {
    pub fn load(overrides: &Overrides) -> anyhow::Result<Settings> {
        let file = std::env::var("BIHUAN_CONFIG").unwrap_or_else(|_| "bihuan.toml".into());
        let mut fig = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("BIHUAN_"));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            fig = fig.merge(("database_url", url));
        }
        let settings: Settings = fig.merge(Serialized::defaults(overrides)).extract()?;
        settings.check()?;
        Ok(settings)
    }

    /// Values that would make a job silently never run.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.daily_report_hour <= 23,
            "daily_report_hour must be 0–23 (an hour of the day), not {}",
            self.daily_report_hour
        );
        crate::web::ratelimit::TrustedProxies::parse(&self.trusted_proxies)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_past_23_is_refused() {
        let mut s = Settings::default();
        assert!(s.check().is_ok());
        s.daily_report_hour = 24;
        assert!(s.check().unwrap_err().to_string().contains("0–23"));
        let s = Settings {
            trusted_proxies: vec!["nginx".into()],
            ..Settings::default()
        };
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .contains("trusted_proxies")
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let s = Settings {
            secret_key: Some("00".repeat(32)),
            database_url: "postgres://bihuan:hunter2@db/bihuan".into(),
            ..Settings::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(&"00".repeat(32)), "{shown}");
    }
}
