//! Users, passwords and sessions. Hashing runs off the async threads; repeated
//! failures lock an account for a growing while.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use bihuan_domain::access::Role;
use bihuan_domain::regions::RegionCode;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::Deserialize;
use serde_json::json;

use super::{Actor, Services};
use crate::crypto;
use crate::error::{Error, Result};
use crate::storage::repo;

/// Failures allowed before the first lock.
const FREE_FAILURES: i64 = 5;
/// Sessions last one working day.
const SESSION_SECONDS: i64 = 12 * 3600;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

pub struct NewUser {
    pub username: String,
    pub role: Role,
    pub region: RegionCode,
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

pub struct Session {
    pub token: String,
    pub csrf: String,
}

pub fn parse_new_user(
    username: &str,
    role: &str,
    region: &str,
    password: &str,
) -> std::result::Result<NewUser, FieldErrors> {
    let mut e = FieldErrors::default();
    let name = e.take(validation::text("username", username, 64));
    if name
        .as_deref()
        .is_some_and(|n| !n.chars().all(|c| c.is_alphanumeric() || "_.-@".contains(c)))
    {
        e.push(FieldError::new(
            "username",
            "format",
            "用户名只能含字母、数字和 _ . - @",
            "letters, digits and _ . - @ only",
        ));
    }
    let role = Role::parse(role);
    if role.is_none() {
        e.push(FieldError::new(
            "role",
            "role",
            "角色应为指挥部、镇街、村社区或网格员",
            "command, town, village or grid_worker",
        ));
    }
    let region = e.take(RegionCode::parse(region, "region"));
    if let (Some(r), Some(g)) = (role, &region)
        && r.region_level() != g.level()
    {
        e.push(FieldError::new(
            "region",
            "level",
            format!(
                "{}须绑定{}级区域",
                r.label_zh(),
                r.region_level().label_zh()
            ),
            format!(
                "a {} is bound to a {} code",
                r.label_en(),
                r.region_level().label_en()
            ),
        ));
    }
    if password.chars().count() < 10 || password.len() > 256 {
        e.push(FieldError::new(
            "password",
            "length",
            "密码长度应为10到256个字符",
            "10 to 256 characters",
        ));
    }
    match (name, role, region) {
        (Some(username), Some(role), Some(region)) if e.is_empty() => Ok(NewUser {
            username,
            role,
            region,
            password: password.to_string(),
        }),
        _ => Err(e),
    }
}

/// Password hashes computed at once, process-wide: each argon2id check
/// takes about 19 MiB and a core for a while, so a burst of logins waits
/// here instead of taking the memory all at once.
pub const HASHING_AT_ONCE: usize = 2;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);

/// Remembers failures of usernames nobody has, so an unknown name locks
/// out after the same number of tries as a real one (the answers do not
/// tell them apart). Bounded: when full it forgets the entries not locked
/// (counts below the lockout, expired locks), and only then the one least
/// recently tried; locks are never forgotten wholesale.
pub const UNKNOWN_NAMES_KEPT: usize = 10_000;

/// Failures of usernames nobody has: name → (failures, locked until, last try).
struct UnknownNames {
    cap: usize,
    names: std::collections::HashMap<String, (i64, i64, u64)>,
    /// Increases with every try: orders entries by their last try.
    tick: u64,
}

impl UnknownNames {
    fn new(cap: usize) -> Self {
        UnknownNames {
            cap: cap.max(1),
            names: Default::default(),
            tick: 0,
        }
    }

    /// Claims a try for `username`: `None` when it is locked.
    fn claim(&mut self, username: &str, now: i64) -> Option<()> {
        if !self.names.contains_key(username) && self.names.len() >= self.cap {
            self.names.retain(|_, (_, until, _)| *until > now);
            while self.names.len() >= self.cap {
                let oldest = self
                    .names
                    .iter()
                    .min_by_key(|(_, (_, _, t))| *t)
                    .map(|(k, _)| k.clone())?;
                self.names.remove(&oldest);
            }
        }
        self.tick += 1;
        let e = self
            .names
            .entry(username.to_string())
            .or_insert((0, 0, self.tick));
        e.2 = self.tick;
        if e.1 > now {
            return None;
        }
        e.0 += 1;
        e.1 = lock_until(e.0, now);
        Some(())
    }
}

/// Login bookkeeping kept in memory, per process.
pub struct LoginGuard {
    /// Password checks run (real and dummy), for tests and metrics.
    checks: std::sync::atomic::AtomicU64,
    unknown: std::sync::Mutex<UnknownNames>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        LoginGuard {
            checks: Default::default(),
            unknown: std::sync::Mutex::new(UnknownNames::new(UNKNOWN_NAMES_KEPT)),
        }
    }
}

impl LoginGuard {
    /// How many password checks ran since start.
    pub fn password_checks(&self) -> u64 {
        self.checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Claims a try for an unknown username, as the database does for a
    /// real one: `None` when locked.
    fn claim_unknown(&self, username: &str, now: i64) -> Option<()> {
        self.unknown
            .lock()
            .expect("login guard lock")
            .claim(username, now)
    }
}

/// When an account with `failures` failed tries locks: not before
/// [`FREE_FAILURES`], then 1, 2, 4 … minutes, at most an hour.
fn lock_until(failures: i64, now: i64) -> i64 {
    if failures >= FREE_FAILURES {
        let minutes = 1i64 << (failures - FREE_FAILURES).min(6);
        now + minutes.min(60) * 60
    } else {
        0
    }
}

/// A self-service password change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
}

fn check_new_password(field: &str, password: &str) -> Result<()> {
    if password.chars().count() < 10 || password.len() > 256 {
        return Err(Error::field(
            field,
            "length",
            "密码长度应为10到256个字符",
            "10 to 256 characters",
        ));
    }
    Ok(())
}

fn wrong_old_password() -> Error {
    Error::field(
        "old_password",
        "wrong",
        "原密码不正确",
        "the current password is wrong",
    )
}

async fn hash_password(password: String) -> Result<String> {
    // The permit moves into the job: a cancelled request cannot free it
    // while the hash still runs.
    let permit = HASHING
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let salt = SaltString::encode_b64(&crypto::random_bytes::<16>())
            .map_err(|e| Error::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(e.to_string()))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

async fn verify_password(guard: &LoginGuard, password: String, hash: String) -> bool {
    let Ok(permit) = HASHING.acquire().await else {
        return false;
    };
    guard
        .checks
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

impl Services {
    pub async fn add_user(&self, user: NewUser) -> Result<i64> {
        let hash = hash_password(user.password.clone()).await?;
        let now = self.clock.timestamp();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if repo::region(c, user.region.as_str()).await?.is_none() {
                        return Err(Error::field(
                            "region",
                            "unknown",
                            "区域不存在",
                            "no such region",
                        ));
                    }
                    if repo::user_by_name(c, &user.username).await?.is_some() {
                        return Err(Error::field(
                            "username",
                            "taken",
                            "用户名已存在",
                            "username taken",
                        ));
                    }
                    let id = repo::insert_user(
                        c,
                        &user.username,
                        &hash,
                        user.role.as_str(),
                        user.region.as_str(),
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        "cli",
                        None,
                        None,
                        "user_added",
                        &json!({"username": user.username, "role": user.role, "region": user.region.as_str()}),
                    )
                    .await?;
                    Ok(id)
                })
            })
            .await
    }

    pub async fn count_users(&self) -> Result<i64> {
        let mut c = self.db.pool().acquire().await?;
        repo::count_users(&mut c).await
    }

    /// Checks a password and opens a session. A wrong password and an unknown
    /// user answer the same, and so do a locked account and an unknown name
    /// tried as often (`Locked`). Each try first claims a slot in one
    /// statement (`failed_logins + 1`, locking at [`FREE_FAILURES`]) and
    /// only then hashes, so parallel tries cannot outrun the lockout: at
    /// most `FREE_FAILURES` checks per lock window. A right password resets
    /// the count.
    pub async fn login(&self, input: LoginInput) -> Result<Session> {
        if input.username.len() > 64 || input.password.len() > 256 {
            return Err(Error::Unauthorized);
        }
        let now = self.clock.timestamp();
        let name = input.username.clone();
        let user = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let Some(user) = repo::user_by_name(c, &name).await? else {
                        return Ok(None);
                    };
                    let Some(failures) = repo::claim_login(c, user.id, now).await? else {
                        return Err(Error::Locked);
                    };
                    repo::lock_login(c, user.id, lock_until(failures, now)).await?;
                    Ok(Some((user, failures)))
                })
            })
            .await?;
        let Some((user, claimed)) = user else {
            if self.logins.claim_unknown(&input.username, now).is_none() {
                return Err(Error::Locked);
            }
            // Spend the same time as a real check (a hash, then a write),
            // so timing does not tell. The name itself is not recorded.
            let _ = verify_password(&self.logins, input.password, DUMMY_HASH.into()).await;
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        repo::insert_event(
                            c,
                            now,
                            "public",
                            None,
                            None,
                            "login_failed",
                            &json!({"known": false}),
                        )
                        .await?;
                        Ok(())
                    })
                })
                .await?;
            return Err(Error::Unauthorized);
        };
        // A disabled account is checked and counted like any other, and
        // answers like a wrong password.
        let ok = verify_password(&self.logins, input.password, user.password_hash.clone()).await
            && !user.disabled;
        let token = crypto::token(32);
        let csrf = crypto::token(16);
        let token_hash = crypto::sha256_hex(&token);
        let csrf_stored = csrf.clone();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    if ok {
                        repo::record_login(c, user.id, 0, 0).await?;
                        repo::insert_event(c, now, &user.username, None, None, "login", &json!({}))
                            .await?;
                        repo::insert_session(
                            c,
                            &token_hash,
                            user.id,
                            &csrf_stored,
                            now + SESSION_SECONDS,
                        )
                        .await?;
                        return Ok(());
                    }
                    repo::insert_event(
                        c,
                        now,
                        &user.username,
                        None,
                        None,
                        "login_failed",
                        &json!({"failures": claimed, "disabled": user.disabled}),
                    )
                    .await?;
                    Ok(())
                })
            })
            .await?;
        if ok {
            Ok(Session { token, csrf })
        } else {
            Err(Error::Unauthorized)
        }
    }

    /// Disables (or enables again) an account; disabling ends its sessions.
    /// A disabled account's sign-in answers like a wrong password.
    pub async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<()> {
        let (name, now) = (username.to_string(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let user = repo::user_by_name(c, &name).await?.ok_or(Error::NotFound)?;
                    repo::set_user_disabled(c, &name, disabled).await?;
                    let ended = if disabled {
                        repo::delete_sessions_of(c, user.id).await?
                    } else {
                        0
                    };
                    repo::insert_event(
                        c,
                        now,
                        "cli",
                        None,
                        None,
                        if disabled {
                            "user_disabled"
                        } else {
                            "user_enabled"
                        },
                        &json!({"username": name, "sessions_ended": ended}),
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    /// Sets a user's password (the CLI, for a forgotten one): clears any
    /// lock and ends every session of the user.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        check_new_password("password", password)?;
        let hash = hash_password(password.to_string()).await?;
        let (name, now) = (username.to_string(), self.clock.timestamp());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let user = repo::user_by_name(c, &name).await?.ok_or(Error::NotFound)?;
                    repo::set_password_hash(c, user.id, &hash).await?;
                    let ended = repo::delete_sessions_of(c, user.id).await?;
                    repo::insert_event(
                        c,
                        now,
                        "cli",
                        None,
                        None,
                        "password_set",
                        &json!({"username": name, "sessions_ended": ended}),
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    /// A signed-in user changes their own password, giving the old one. The
    /// old password is checked like a sign-in (it claims a try, so this is
    /// no way around the lockout); on success every session of the user
    /// ends, this one too.
    pub async fn change_password(&self, actor: &Actor, input: PasswordChange) -> Result<()> {
        check_new_password("new_password", &input.new_password)?;
        if input.old_password.len() > 256 {
            return Err(wrong_old_password());
        }
        let (user_id, name, now) = (
            actor.user_id,
            actor.username.clone(),
            self.clock.timestamp(),
        );
        let user = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let user = repo::user_by_name(c, &name)
                        .await?
                        .ok_or(Error::Unauthorized)?;
                    if user.id != user_id || user.disabled {
                        return Err(Error::Unauthorized);
                    }
                    let failures = repo::claim_login(c, user.id, now)
                        .await?
                        .ok_or(Error::Locked)?;
                    repo::lock_login(c, user.id, lock_until(failures, now)).await?;
                    Ok(user)
                })
            })
            .await?;
        if !verify_password(&self.logins, input.old_password, user.password_hash.clone()).await {
            return Err(wrong_old_password());
        }
        let hash = hash_password(input.new_password).await?;
        self.db
            .write(move |c| {
                Box::pin(async move {
                    repo::set_password_hash(c, user.id, &hash).await?;
                    let ended = repo::delete_sessions_of(c, user.id).await?;
                    repo::insert_event(
                        c,
                        now,
                        &user.username,
                        None,
                        None,
                        "password_changed",
                        &json!({"sessions_ended": ended}),
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    /// The user behind a session token, if the session is valid.
    pub async fn session(&self, token: &str) -> Result<Actor> {
        if token.len() != 64 {
            return Err(Error::Unauthorized);
        }
        let mut c = self.db.pool().acquire().await?;
        let (user, csrf) =
            repo::session_user(&mut c, &crypto::sha256_hex(token), self.clock.timestamp())
                .await?
                .ok_or(Error::Unauthorized)?;
        Ok(Actor {
            user_id: user.id,
            username: user.username,
            role: Role::parse(&user.role).ok_or(Error::Unauthorized)?,
            region: RegionCode::parse(&user.region, "region").map_err(|_| Error::Unauthorized)?,
            csrf,
        })
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = crypto::sha256_hex(token);
        self.db
            .write(move |c| Box::pin(async move { repo::delete_session(c, &hash).await }))
            .await
    }
}

/// An argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Oa0XKzJ5BnBcmGtBUMeGzIZ7KvJjhLzRMRw3TjoZ5M";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_bound_to_a_region_of_their_role() {
        assert!(parse_new_user("zhang", "grid_worker", "330784001001001", "0123456789").is_ok());
        let e = parse_new_user("zhang", "grid_worker", "330784001", "0123456789").unwrap_err();
        assert_eq!(e.0[0].field, "region");
        let e = parse_new_user("a b", "admin", "x", "short").unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["username", "role", "region", "password"]);
    }

    fn lock(m: &mut UnknownNames, name: &str, now: i64) {
        for _ in 0..FREE_FAILURES {
            assert_eq!(m.claim(name, now), Some(()));
        }
        assert_eq!(m.claim(name, now), None, "{name} is locked");
    }

    #[test]
    fn a_full_map_of_unknown_names_forgets_expired_entries_first_then_the_oldest() {
        let mut m = UnknownNames::new(3);
        // Full of one expired lock, one count below the lockout, one lock.
        lock(&mut m, "a", 0);
        assert_eq!(m.claim("c", 50), Some(()));
        lock(&mut m, "b", 100);
        m.claim("d", 120).unwrap();
        assert!(!m.names.contains_key("a") && !m.names.contains_key("c"));
        assert_eq!(m.claim("b", 120), None, "a running lock is kept");
        // Full of running locks: only the least recently tried goes.
        let mut m = UnknownNames::new(3);
        for name in ["x", "y", "z"] {
            lock(&mut m, name, 0);
        }
        assert_eq!(m.claim("x", 1), None);
        m.claim("new", 1).unwrap();
        assert!(!m.names.contains_key("y"), "y was tried longest ago");
        assert_eq!(m.claim("x", 1), None);
        assert_eq!(m.claim("z", 1), None);
        assert_eq!(m.names.len(), 3);
    }
}
