//! The vault secrets of a run: `--vault-id`, `--vault-password-file`, `--ask-vault-pass`
//! and ansible.cfg's vault settings, loaded once before anything is read (as
//! ansible-playbook's `_play_prereqs` does) and installed for the whole process.

use super::args::VaultArgs;
use super::Config;
use crate::error::{Error, Result};
use crate::vault::secrets::{self, Purpose, Sources, TerminalPrompter};
use crate::vault::Secrets;

/// Where the secrets come from: config first, then the command line, as Ansible orders them.
pub fn sources(v: &VaultArgs, cfg: &Config) -> Sources {
    let mut password_files = v.vault_password_file.clone();
    password_files.extend(cfg.vault_password_file.clone());
    Sources {
        identity_list: cfg.vault_identity_list.clone(),
        vault_ids: v.vault_id.clone(),
        password_files,
        ask: v.ask_vault_pass,
        default_identity: cfg.vault_identity.clone(),
        id_match: cfg.vault_id_match,
    }
}

/// Loads the secrets (warnings on stderr) without prompting unless asked to.
pub fn load(src: &Sources, auto_prompt: bool, purpose: Purpose) -> Result<Secrets> {
    let mut warnings = Vec::new();
    let loaded = secrets::load(
        src,
        auto_prompt,
        purpose,
        &mut TerminalPrompter,
        &mut warnings,
    );
    for w in warnings {
        eprintln!("[WARNING]: {w}");
    }
    loaded.map_err(|e| Error::other(e.to_string()))
}

/// Loads and installs the run's secrets (playbook, ad-hoc and inventory commands).
pub fn install_run_secrets(v: &VaultArgs, cfg: &Config) -> Result<()> {
    let secrets = load(&sources(v, cfg), false, Purpose::Open)?;
    crate::vault::install(secrets);
    Ok(())
}
