//! 找回回执: a lost screenshot must not mean a lost receipt. A person gives
//! their document number and phone, gets a 6-digit code by SMS through the
//! Notifier, and with it opens their latest receipt.
//!
//! Bounded against guessing and enumeration: the answer to a request is the
//! same whether or not anyone matched (a request that matched no one gets a
//! ticket with no code behind it); codes live 10 minutes, are used once, take
//! few tries, and the requests per document and per client are counted in
//! the database (so every replica counts them alike). The code is stored
//! only as a keyed hash and never logged.

use bihuan_domain::identity::{DocumentType, Phone};
use bihuan_domain::validation::FieldErrors;
use serde_json::json;

use super::Services;
use crate::crypto;
use crate::error::{Error, Result};
use crate::notify::Message;
use crate::storage::{assist as assist_store, recovery as store, repo};

/// How long a code may be used.
pub const CODE_MINUTES: i64 = 10;
/// Tries on one code, right or wrong, before it is dead.
pub const TRIES_PER_CODE: i64 = 5;
/// Code requests per document in an hour.
pub const REQUESTS_PER_DOCUMENT_PER_HOUR: i64 = 3;
/// Code requests per client address in an hour: shared behind one NAT, so larger.
pub const REQUESTS_PER_CLIENT_PER_HOUR: i64 = 10;
/// Tries on all of a document's codes in an hour.
pub const TRIES_PER_DOCUMENT_PER_HOUR: i64 = 10;

/// Too many requests or tries: the same answer for every document.
pub const RECOVERY_BUSY: Error = Error::Refused {
    code: "recovery_limited",
    zh: "尝试次数过多，请一小时后再试；如需帮助请联系所在村(社区)",
    en: "too many tries; please try again in an hour, or contact your village or community",
};

/// A wrong, expired, used or unknown code: one answer for all.
pub const CODE_REFUSED: Error = Error::Refused {
    code: "recovery_code",
    zh: "验证码不正确或已失效，请重新获取",
    en: "the code is wrong or no longer valid; please request a new one",
};

#[derive(Debug, Clone, Default)]
pub struct RecoveryRequest {
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
}

/// What the browser holds between the two steps; the code's row is found by
/// its hash.
#[derive(Debug, Clone)]
pub struct RecoveryTicket(pub String);

fn code_hash(s: &Services, ticket: &str, code: &str) -> String {
    s.vault.lookup(&format!("recovery-code:{ticket}:{code}"))
}

/// Six digits, uniform (rejection sampling keeps 000000..999999 even).
fn six_digits() -> String {
    loop {
        let n = u32::from_le_bytes(crypto::random_bytes::<4>());
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

impl Services {
    /// Step 1: a code to the phone on file when the document and phone match
    /// a person with a receipt; otherwise nothing is sent. Either way the
    /// same ticket-shaped answer. `client` is the client address key.
    pub async fn request_recovery(
        &self,
        input: RecoveryRequest,
        client: String,
    ) -> Result<RecoveryTicket> {
        let today = self.clock.today();
        let mut e = FieldErrors::default();
        let doc =
            super::venues::parse_document(&mut e, "", &input.id_type, &input.id_number, today);
        let kind = doc.as_ref().map_or(DocumentType::Passport, |d| d.kind());
        let phone = e.take(Phone::parse_for(&input.phone, "phone", kind));
        let (Some(doc), Some(phone)) = (doc, phone) else {
            return Err(Error::Invalid(e.0));
        };
        let lookup = self.vault.lookup(&doc.lookup_key_material());
        let now = self.clock.timestamp();
        let ticket = crypto::token(16);
        let ticket_hash = crypto::sha256_hex(&ticket);
        let code = six_digits();
        let hashed = code_hash(self, &ticket, &code);
        let vault = self.vault.clone();
        let backend = self.db.backend();
        let sent_to = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    store::serialise(c, backend, &lookup).await?;
                    store::serialise(c, backend, &client).await?;
                    let (by_doc, by_client) =
                        store::requests_since(c, &lookup, &client, now - 3600).await?;
                    if by_doc >= REQUESTS_PER_DOCUMENT_PER_HOUR
                        || by_client >= REQUESTS_PER_CLIENT_PER_HOUR
                    {
                        return Err(RECOVERY_BUSY);
                    }
                    // The person, when the phone on file is the one typed and
                    // they hold a receipt of their own.
                    let mut matched = None;
                    if let Some((person_id, _)) = assist_store::person_by_lookup(c, &lookup).await?
                        && let Some(p) = repo::person_in(c, person_id, "").await?
                        && vault
                            .decrypt(&p.phone_enc)
                            .and_then(|on_file| Phone::parse(&on_file, "phone").ok())
                            .is_some_and(|on_file| on_file == phone)
                        && store::latest_trusted_receipt(c, person_id).await?.is_some()
                    {
                        matched = Some(person_id);
                    }
                    let id = store::insert_code(
                        c,
                        &store::NewRecoveryCode {
                            ticket_hash: &ticket_hash,
                            doc_lookup: &lookup,
                            client: &client,
                            person_id: matched,
                            code_hash: matched.map(|_| hashed.as_str()),
                            expires_at: now + CODE_MINUTES * 60,
                        },
                        now,
                    )
                    .await?;
                    if let Some(person_id) = matched {
                        repo::insert_event(
                            c,
                            now,
                            "public",
                            Some(person_id),
                            None,
                            "recovery_code_sent",
                            &json!({"id": id, "to": phone.masked()}),
                        )
                        .await?;
                    }
                    Ok(matched.map(|_| (id, phone)))
                })
            })
            .await?;
        if let Some((id, phone)) = sent_to {
            let body = format!(
                "【防控提醒】您正在找回报备回执，验证码 {code}，{CODE_MINUTES}分钟内有效。如非本人操作请忽略。"
            );
            // Sent after the answer, so a match takes no longer to answer
            // than a miss (no timing tell).
            let notifier = self.notifier.clone();
            tokio::spawn(async move {
                let sent = notifier
                    .send(&Message {
                        id,
                        phone: phone.as_str(),
                        kind: "recovery_code",
                        body: &body,
                    })
                    .await;
                if let Err(error) = sent {
                    // The person sees the neutral answer and may ask again.
                    tracing::warn!(recovery = id, %error, "recovery code not sent");
                }
            });
        }
        Ok(RecoveryTicket(ticket))
    }

    /// Step 2: the latest receipt for a right code; [`CODE_REFUSED`] for any
    /// wrong, expired, used or unknown one.
    pub async fn use_recovery_code(&self, ticket: &str, code: &str) -> Result<String> {
        let code: String = bihuan_domain::identity::half_width(code)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if ticket.len() != 32 || !ticket.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CODE_REFUSED);
        }
        let ticket_hash = crypto::sha256_hex(ticket);
        let typed = code_hash(self, ticket, &code);
        let now = self.clock.timestamp();
        // Counting the try must commit even when the code is refused, so the
        // check is one transaction and the answer comes after it.
        let backend = self.db.backend();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let Some(row) = store::code_by_ticket(c, &ticket_hash).await? else {
                        return Ok(Err(CODE_REFUSED));
                    };
                    // The document's tries are counted under its lock, and a
                    // code's try is claimed in one statement: parallel tries
                    // cannot pass the limits together.
                    store::serialise(c, backend, &row.doc_lookup).await?;
                    if store::tries_for_document(c, &row.doc_lookup, now - 3600).await?
                        >= TRIES_PER_DOCUMENT_PER_HOUR
                        || !store::claim_try(c, row.id, TRIES_PER_CODE).await?
                    {
                        return Ok(Err(RECOVERY_BUSY));
                    }
                    let right = row
                        .code_hash
                        .as_deref()
                        .is_some_and(|h| crypto::constant_time_eq(h.as_bytes(), typed.as_bytes()));
                    let (Some(person_id), true) = (row.person_id, right) else {
                        return Ok(Err(CODE_REFUSED));
                    };
                    if row.used_at.is_some()
                        || now >= row.expires_at
                        || !store::use_code(c, row.id, now).await?
                    {
                        return Ok(Err(CODE_REFUSED));
                    }
                    let Some(receipt) = store::latest_trusted_receipt(c, person_id).await? else {
                        return Ok(Err(CODE_REFUSED));
                    };
                    repo::insert_event(
                        c,
                        now,
                        "public",
                        Some(person_id),
                        None,
                        "recovery_code_used",
                        &json!({"id": row.id}),
                    )
                    .await?;
                    Ok(Ok(receipt))
                })
            })
            .await?
    }
}
