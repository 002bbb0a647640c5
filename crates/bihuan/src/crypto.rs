//! Personal data at rest: AES-256-GCM for identity numbers and phones, and an
//! HMAC-SHA256 lookup key so a document can be found without decrypting.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Holds the keys; its Debug never shows them.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
    lookup_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// Derives the encryption and lookup keys from one 32-byte master secret.
    pub fn new(master: &[u8; 32]) -> Vault {
        let enc = derive(master, b"bihuan/pii-encryption");
        Vault {
            cipher: Aes256Gcm::new_from_slice(&enc).expect("32-byte key"),
            lookup_key: derive(master, b"bihuan/pii-lookup"),
        }
    }

    /// Hex of nonce ‖ ciphertext.
    pub fn encrypt(&self, plain: &str) -> String {
        let nonce = random_bytes::<12>();
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption does not fail for short inputs");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        hex(&out)
    }

    pub fn decrypt(&self, stored: &str) -> Option<String> {
        let bytes = unhex(stored)?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
        String::from_utf8(plain).ok()
    }

    /// A stable keyed hash for exact-match lookups.
    pub fn lookup(&self, material: &str) -> String {
        hex(&derive(&self.lookup_key, material.as_bytes()))
    }
}

fn derive(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS has randomness");
    b
}

/// A random token for sessions, receipts and CSRF.
pub fn token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS has randomness");
    hex(&b)
}

/// Compares secrets without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Reads the master key from a file, creating one (mode 0600) on first start.
pub fn load_or_create_key(path: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return parse_key(text.trim())
            .ok_or_else(|| anyhow::anyhow!("{} does not hold a 64-hex-digit key", path.display()));
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        private_dir(dir)?;
    }
    let key = random_bytes::<32>();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    use std::io::Write;
    opts.open(path)?.write_all(hex(&key).as_bytes())?;
    Ok(key)
}

/// Creates a directory (and its parents) readable by the owner only (0700);
/// one that exists is left as it is.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

pub fn parse_key(s: &str) -> Option<[u8; 32]> {
    unhex(s)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_plain_text() {
        let v = Vault::new(&[7; 32]);
        let c = v.encrypt("11010519491231002X");
        assert!(!c.contains("11010519491231002X"));
        assert_ne!(c, v.encrypt("11010519491231002X"), "fresh nonce each time");
        assert_eq!(v.decrypt(&c).as_deref(), Some("11010519491231002X"));
        assert_eq!(Vault::new(&[8; 32]).decrypt(&c), None);
    }

    #[test]
    fn lookup_is_stable_and_keyed() {
        let a = Vault::new(&[7; 32]);
        assert_eq!(a.lookup("resident:1"), a.lookup("resident:1"));
        assert_ne!(
            a.lookup("resident:1"),
            Vault::new(&[8; 32]).lookup("resident:1")
        );
    }
}
