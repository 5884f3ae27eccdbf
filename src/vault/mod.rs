//! Ansible Vault: the `$ANSIBLE_VAULT;1.1;AES256` / `1.2;AES256;LABEL` format (`format.rs`),
//! its cipher (`cipher.rs`, RustCrypto's aes/ctr/pbkdf2/hmac) and the password sources
//! (`secrets.rs`). The CLI loads the run's secrets once and [`install`]s them; the YAML loader
//! and every controller-side file read (`copy`/`template` src, `lookup('file')`, inventory
//! sources) then decrypt through [`open`] as Ansible's DataLoader does.
//!
//! Decrypted values are secrets: each is remembered so that the round-trip trace and the
//! `-vvv` connection lines censor any command that carries one ([`carries_secret`]).

pub mod cipher;
pub mod format;
pub mod secrets;

pub use format::is_encrypted;
pub use secrets::{encrypt, Secret, Secrets};

use std::sync::{Arc, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("Input is not vault encrypted data.")]
    NotVault,
    #[error("Attempting to decrypt but no vault secrets found.")]
    NoSecrets,
    #[error("Decryption failed (no vault secrets were found that could decrypt).")]
    WrongSecret,
    #[error("{0}")]
    Format(&'static str),
    #[error("Cipher '{0}' could not be found.")]
    Cipher(String),
    #[error("{0}")]
    Other(String),
}

static CURRENT: RwLock<Option<Arc<Secrets>>> = RwLock::new(None);
/// Plaintexts decrypted in this process (see [`carries_secret`]).
static OPENED: RwLock<Vec<String>> = RwLock::new(Vec::new());
/// Shorter plaintexts would match everywhere; they are not looked for in the trace.
const MIN_TRACKED: usize = 3;

/// Makes `secrets` the process's secrets (the CLI does, once, before loading anything).
pub fn install(secrets: Secrets) {
    if let Ok(mut c) = CURRENT.write() {
        *c = Some(Arc::new(secrets));
    }
}

/// The installed secrets (none before [`install`]).
pub fn current() -> Arc<Secrets> {
    CURRENT
        .read()
        .ok()
        .and_then(|c| c.clone())
        .unwrap_or_default()
}

/// Decrypts vault text with the installed secrets and remembers the plaintext as a secret.
pub fn open(text: &[u8]) -> Result<Vec<u8>, VaultError> {
    let opened = current().decrypt(text)?;
    remember(&String::from_utf8_lossy(&opened.plaintext));
    Ok(opened.plaintext)
}

/// `data` itself, or its plaintext when it is vault text (`_decrypt_if_vault_data`).
pub fn open_if_vaulted(data: Vec<u8>) -> Result<Vec<u8>, VaultError> {
    if is_encrypted(&data) {
        open(&data)
    } else {
        Ok(data)
    }
}

/// Reads a controller file, decrypting it when it is vaulted; errors name the file.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let data =
        std::fs::read(path).map_err(|e| format!("Could not read '{}': {e}", path.display()))?;
    open_if_vaulted(data).map_err(|e| format!("{e} for {}", path.display()))
}

/// Marks a decrypted value as secret.
pub fn remember(plaintext: &str) {
    let t = plaintext.trim();
    if t.len() < MIN_TRACKED {
        return;
    }
    if let Ok(mut o) = OPENED.write() {
        if !o.iter().any(|s| s == t) {
            o.push(t.to_string());
        }
    }
}

/// Whether `text` contains a value decrypted from a vault (then it must not be logged).
pub fn carries_secret(text: &str) -> bool {
    OPENED
        .read()
        .map(|o| o.iter().any(|s| text.contains(s.as_str())))
        .unwrap_or(true)
}
