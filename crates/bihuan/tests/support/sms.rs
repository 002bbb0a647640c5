//! A stand-in SMS gateway: the Notifier's webhook pointed at a local
//! server that keeps every message it accepts, so a test reads what a
//! person's phone would show (the log sink never holds bodies).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::StatusCode;
use serde_json::Value;

use super::{TestApp, spawn_with};

/// The messages the gateway accepted: `{"id","to","kind","body"}`.
#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Value>>>);

impl Inbox {
    pub fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }

    /// The messages of `kind` sent to `to`, oldest first.
    pub fn to(&self, to: &str, kind: &str) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|m| m["to"] == to && m["kind"] == kind)
            .collect()
    }

    /// The six-digit code of the `n`th (from 1) recovery code texted to
    /// `to`, once it has arrived: codes are sent after the page answers.
    pub async fn code(&self, to: &str, n: usize) -> Option<String> {
        for _ in 0..500 {
            if let Some(m) = self.to(to, "recovery_code").get(n - 1) {
                let body = m["body"].as_str()?.to_string();
                return body
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .map(str::to_string);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        None
    }
}

/// An app whose Notifier posts to a gateway kept in the returned inbox.
pub async fn spawn_with_inbox() -> (TestApp, Inbox) {
    let inbox = Inbox::default();
    let kept = inbox.0.clone();
    let gateway = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |Json(m): Json<Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(m);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, gateway).await.unwrap() });
    let app = spawn_with(|s| s.notify_webhook_url = Some(url)).await;
    (app, inbox)
}
