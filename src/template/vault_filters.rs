//! The `vault` and `unvault` filters (ansible-core's `filter/encryption.py`), the
//! `unvault` lookup's decryption, and what an undecryptable `!vault` value is while a
//! template that calls `unvault` runs.
//!
//! An undecryptable inline `!vault` value renders as a call that fails (see
//! `yaml::scalar::vaulted`). Ansible's `unvault` filter accepts such markers and decrypts
//! their ciphertext with its own secret; here, while a template whose text calls `unvault`
//! is evaluated, the marker stands for its vault text instead of failing.

use super::filters::fail;
use crate::vault::{cipher, format, Secret, Secrets};
use minijinja::value::{Kwargs, Object, ObjectRepr};
use minijinja::{Environment, Error, State, Value as MjValue};
use std::cell::Cell;
use std::sync::Arc;

thread_local! {
    static DISARMED: Cell<usize> = const { Cell::new(0) };
}

/// Keeps undecryptable values disarmed while it lives (nested guards count).
pub struct Disarm(());

impl Drop for Disarm {
    fn drop(&mut self) {
        DISARMED.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// A guard when `src` calls `unvault`, else nothing.
pub fn disarm_for(src: &str) -> Option<Disarm> {
    src.contains("unvault").then(|| {
        DISARMED.with(|d| d.set(d.get() + 1));
        Disarm(())
    })
}

/// Whether undecryptable values stand for their vault text now (values rendered then must
/// not be cached: elsewhere they fail).
pub fn disarmed() -> bool {
    DISARMED.with(|d| d.get() > 0)
}

pub fn register(env: &mut Environment<'static>) {
    for prefix in ["", "ansible.builtin."] {
        env.add_filter(format!("{prefix}vault"), vault);
        env.add_filter(format!("{prefix}unvault"), unvault);
    }
    env.add_test("ansible._protomatter.tagged_with", tagged_with);
}

/// A string Ansible has tagged (`vault(..., wrap_object=True)` gives one tagged
/// `VaultedValue`); it prints as the string.
#[derive(Debug)]
struct Tagged {
    text: String,
    tag: &'static str,
}

impl Object for Tagged {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `x is ansible._protomatter.tagged_with(tag)`: the tag of a value made tagged here; any
/// other string counts as `TrustedAsTemplate` (everything yiqiu-play holds came from the
/// playbook's own files or is rendered as such; no other tags are kept).
fn tagged_with(v: MjValue, tag: String) -> bool {
    match v.downcast_object_ref::<Tagged>() {
        Some(t) => t.tag == tag,
        None => tag == "TrustedAsTemplate" && v.kind() == minijinja::value::ValueKind::String,
    }
}

fn string_arg(v: &MjValue, what: &str, which: &str) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_string()),
        None => Err(fail(format!(
            "{what} {which}, instead we got <class '{}'>.",
            super::filters::data(v)
                .map(|j| super::filters::type_name(&j))
                .unwrap_or("NoneType")
        ))),
    }
}

/// `data | vault(secret, salt=None, vault_id='filter_default', wrap_object=False)`.
fn vault(_: &State, data: MjValue, secret: MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let err = |e: Error| {
        fail(format!(
            "The filter plugin 'ansible.builtin.vault' failed: {e}"
        ))
    };
    let secret = string_arg(&secret, "Secret passed is required to be", "a string").map_err(err)?;
    let data = string_arg(&data, "Can only vault strings", "").map_err(err)?;
    let salt: Option<MjValue> = kwargs.get("salt")?;
    let vault_id: Option<String> = kwargs.get("vault_id")?;
    let wrap = kwargs.get::<Option<bool>>("wrap_object")?.unwrap_or(false);
    let _ = kwargs.get::<Option<String>>("vaultid")?;
    kwargs.assert_all_used()?;
    let salt = match salt.filter(|s| !s.is_none()) {
        // Python's to_bytes(str(salt)): `salt=7` is the one byte "7".
        Some(s) => s.to_string().into_bytes(),
        None => rand::random::<[u8; cipher::SALT_LEN]>().to_vec(),
    };
    if salt.is_empty() {
        return Err(err(fail("Unable to encrypt.")));
    }
    let payload = cipher::encrypt(data.as_bytes(), secret.as_bytes(), &salt);
    let id = vault_id.unwrap_or_else(|| "filter_default".into());
    let text = format::format_envelope(&payload, Some(&id));
    if wrap {
        // As ansible-core 2.19 does, the wrapped result is the secret, tagged.
        return Ok(MjValue::from_object(Tagged {
            text: secret,
            tag: "VaultedValue",
        }));
    }
    Ok(MjValue::from(text))
}

/// `vault | unvault(secret, vault_id='filter_default')`: text that is not vaulted is
/// returned as it is.
fn unvault(_: &State, data: MjValue, secret: MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let err = |e: Error| {
        fail(format!(
            "The filter plugin 'ansible.builtin.unvault' failed: {e}"
        ))
    };
    let secret =
        string_arg(&secret, "Secret passed is required to be", "as string").map_err(err)?;
    let data = string_arg(&data, "Vault should be in the form of", "a string").map_err(err)?;
    let vault_id: Option<String> = kwargs.get("vault_id")?;
    let _ = kwargs.get::<Option<String>>("vaultid")?;
    kwargs.assert_all_used()?;
    if !format::is_encrypted(data.as_bytes()) {
        return Ok(MjValue::from(data));
    }
    let id = vault_id.unwrap_or_else(|| "filter_default".into());
    let secrets = Secrets::new(
        vec![Secret::new(&id, secret.into_bytes(), "unvault filter")],
        false,
    );
    let opened = secrets
        .decrypt(data.as_bytes())
        .map_err(|_| err(fail("Unable to decrypt.")))?;
    Ok(MjValue::from(
        String::from_utf8_lossy(&opened.plaintext).into_owned(),
    ))
}
