//! `yiqiu-play vault encrypt|decrypt|view|encrypt_string|rekey`: ansible-vault 2.19's
//! actions, flags, messages and exit codes (options errors 5, other errors 1, usage 2).

use super::args::VaultArgs;
use super::vault_setup;
use super::Config;
use crate::error::{Error, Result};
use crate::vault::secrets::{Prompter, Purpose, TerminalPrompter};
use crate::vault::{self, Secret, Secrets};
use clap::{ArgAction, Args, Parser, Subcommand};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// `yiqiu-play vault`: encryption/decryption utility for Ansible data files.
#[derive(Parser, Clone, Debug, PartialEq)]
#[command(
    name = "yiqiu-play vault",
    about = "encryption/decryption utility for Ansible data files (like ansible-vault)",
    disable_version_flag = true,
    args_override_self = true
)]
pub struct VaultCmdArgs {
    #[command(subcommand)]
    pub action: Action,
}

/// Flags every action takes.
#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct Common {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// More output; up to -vvvvvv (accepted)
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Clone, Debug, PartialEq)]
pub enum Action {
    /// Encrypt YAML file
    Encrypt {
        #[command(flatten)]
        common: Common,
        /// output file name for encrypt or decrypt; use - for stdout
        #[arg(long = "output", value_name = "OUTPUT_FILE")]
        output: Option<PathBuf>,
        /// the vault id used to encrypt (required if more than one vault-id is provided)
        #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
        encrypt_vault_id: Option<String>,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// Decrypt vault encrypted file or string
    Decrypt {
        #[command(flatten)]
        common: Common,
        /// output file name for encrypt or decrypt; use - for stdout
        #[arg(long = "output", value_name = "OUTPUT_FILE")]
        output: Option<PathBuf>,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// View vault encrypted file
    View {
        #[command(flatten)]
        common: Common,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// Encrypt a string
    #[command(name = "encrypt_string")]
    EncryptString {
        #[command(flatten)]
        common: Common,
        /// output file name for encrypt or decrypt; use - for stdout
        #[arg(long = "output", value_name = "OUTPUT_FILE")]
        output: Option<PathBuf>,
        /// the vault id used to encrypt (required if more than one vault-id is provided)
        #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
        encrypt_vault_id: Option<String>,
        /// Prompt for the string to encrypt
        #[arg(short = 'p', long = "prompt")]
        prompt: bool,
        /// Do not hide input when prompted for the string to encrypt
        #[arg(long = "show-input")]
        show_input: bool,
        /// Specify the variable name
        #[arg(short = 'n', long = "name", action = ArgAction::Append)]
        names: Vec<String>,
        /// Specify the variable name for stdin
        #[arg(long = "stdin-name", value_name = "ENCRYPT_STRING_STDIN_NAME")]
        stdin_name: Option<String>,
        #[arg(value_name = "string_to_encrypt")]
        strings: Vec<String>,
    },
    /// Re-key a vault encrypted file
    Rekey {
        #[command(flatten)]
        common: Common,
        /// the vault id used to encrypt (required if more than one vault-id is provided)
        #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
        encrypt_vault_id: Option<String>,
        /// new vault password file for rekey
        #[arg(
            long = "new-vault-password-file",
            value_name = "NEW_VAULT_PASSWORD_FILE",
            conflicts_with = "new_vault_id"
        )]
        new_vault_password_file: Option<PathBuf>,
        /// the new vault identity to use for rekey
        #[arg(long = "new-vault-id", value_name = "NEW_VAULT_ID")]
        new_vault_id: Option<String>,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
}

impl Action {
    fn common(&self) -> &Common {
        match self {
            Action::Encrypt { common, .. }
            | Action::Decrypt { common, .. }
            | Action::View { common, .. }
            | Action::EncryptString { common, .. }
            | Action::Rekey { common, .. } => common,
        }
    }
}

/// Runs one action; returns the exit code.
pub fn run_vault(args: &VaultCmdArgs, cfg: &Config) -> Result<i32> {
    check_options(&args.action)?;
    // Files written here hold secrets or ciphertext: private to the user, as ansible-vault.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe { libc::umask(0o077) };
    match &args.action {
        Action::Encrypt {
            common,
            output,
            encrypt_vault_id,
            files,
        } => {
            let secret = encrypt_secret(common, cfg, encrypt_vault_id.as_deref())?;
            if files.is_empty() && std::io::stdin().is_terminal() {
                eprintln!("Reading plaintext input from stdin");
            }
            for f in names_or_stdin(files) {
                let path = real_path(&f);
                let plain = read_data(&path)?;
                let text = vault::encrypt(&plain, &secret, Some(&secret.id)).map_err(err)?;
                write_data(text.as_bytes(), &target(output, &path))?;
            }
            if std::io::stdout().is_terminal() {
                eprintln!("Encryption successful");
            }
        }
        Action::Decrypt {
            common,
            output,
            files,
        } => {
            let secrets = open_secrets(common, cfg)?;
            if files.is_empty() && std::io::stdin().is_terminal() {
                eprintln!("Reading ciphertext input from stdin");
            }
            for f in names_or_stdin(files) {
                let path = real_path(&f);
                let plain = decrypt(&secrets, &read_data(&path)?, &path)?;
                write_data(&plain, &target(output, &path))?;
            }
            if std::io::stdout().is_terminal() {
                eprintln!("Decryption successful");
            }
        }
        Action::View { common, files } => {
            let secrets = open_secrets(common, cfg)?;
            for f in files {
                let plain = decrypt(&secrets, &read_data(f)?, f)?;
                let mut text = String::from_utf8_lossy(&plain).into_owned();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                super::print::stdout(&text);
            }
        }
        Action::EncryptString { .. } => encrypt_string(&args.action, cfg)?,
        Action::Rekey {
            common,
            encrypt_vault_id,
            new_vault_password_file,
            new_vault_id,
            files,
        } => {
            let secrets = open_secrets(common, cfg)?;
            let encrypt_id = encrypt_vault_id
                .clone()
                .or_else(|| cfg.vault_encrypt_identity.clone());
            let mut new_src = vault_setup::sources(&VaultArgs::default(), cfg);
            if encrypt_id.is_none() {
                new_src.identity_list.clear();
            }
            new_src.vault_ids = new_vault_id.iter().cloned().collect();
            new_src.password_files = new_vault_password_file
                .iter()
                .cloned()
                .chain(cfg.vault_password_file.clone())
                .collect();
            new_src.ask = common.vault.ask_vault_pass;
            let new = vault_setup::load(&new_src, true, Purpose::New)?;
            if new.is_empty() {
                return Err(Error::options(
                    "A new vault password is required to use Ansible's Vault rekey",
                ));
            }
            let new_secret = new.encrypt_secret(encrypt_id.as_deref()).map_err(err)?;
            for f in files {
                rekey(&secrets, new_secret, &real_path(f))?;
            }
            eprintln!("Rekey successful");
        }
    }
    Ok(0)
}

fn check_options(action: &Action) -> Result<()> {
    if let Some(bad) = action
        .common()
        .vault
        .vault_id
        .iter()
        .find(|v| v.contains(';'))
    {
        return Err(Error::options(format!(
            "'{bad}' is not a valid vault id. The character ';' is not allowed in vault ids"
        )));
    }
    let too_many = match action {
        Action::Encrypt { output, files, .. } | Action::Decrypt { output, files, .. } => {
            output.is_some() && files.len() > 1
        }
        _ => false,
    };
    if too_many {
        return Err(Error::options(
            "At most one input file may be used with the --output option",
        ));
    }
    Ok(())
}

fn err(e: vault::VaultError) -> Error {
    Error::other(e.to_string())
}

/// The secrets that open vaults (decrypt, view, rekey): prompts when none is given.
fn open_secrets(common: &Common, cfg: &Config) -> Result<Secrets> {
    let secrets = vault_setup::load(
        &vault_setup::sources(&common.vault, cfg),
        true,
        Purpose::Open,
    )?;
    if secrets.is_empty() {
        return Err(Error::options(
            "A vault password is required to use Ansible's Vault",
        ));
    }
    Ok(secrets)
}

/// The secret to encrypt with: `--encrypt-vault-id` (or `vault_encrypt_identity`), or the only
/// one given.
fn encrypt_secret(common: &Common, cfg: &Config, encrypt_id: Option<&str>) -> Result<Secret> {
    let encrypt_id = encrypt_id
        .map(str::to_string)
        .or_else(|| cfg.vault_encrypt_identity.clone());
    let secrets = vault_setup::load(
        &vault_setup::sources(&common.vault, cfg),
        true,
        Purpose::New,
    )?;
    if secrets.list.len() > 1 && encrypt_id.is_none() {
        let ids: Vec<&str> = secrets.list.iter().map(|s| s.id.as_str()).collect();
        return Err(Error::options(format!(
            "The vault-ids {} are available to encrypt. Specify the vault-id to encrypt with --encrypt-vault-id",
            ids.join(",")
        )));
    }
    if secrets.is_empty() {
        return Err(Error::options(
            "A vault password is required to use Ansible's Vault",
        ));
    }
    secrets
        .encrypt_secret(encrypt_id.as_deref())
        .cloned()
        .map_err(err)
}

fn decrypt(secrets: &Secrets, data: &[u8], name: &str) -> Result<Vec<u8>> {
    secrets
        .decrypt(data)
        .map(|o| o.plaintext)
        .map_err(|e| Error::other(format!("{e} for {name}")))
}

fn rekey(secrets: &Secrets, new: &Secret, path: &str) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let prev = std::fs::metadata(path)
        .map_err(|e| Error::other(format!("Unable to read source file ({path}): {e}")))?;
    let plain = decrypt(secrets, &read_data(path)?, path)?;
    let text = vault::encrypt(&plain, new, Some(&new.id)).map_err(err)?;
    write_data(text.as_bytes(), path)?;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(prev.mode()));
    let _ = std::os::unix::fs::chown(path, Some(prev.uid()), Some(prev.gid()));
    Ok(())
}

fn names_or_stdin(files: &[String]) -> Vec<String> {
    if files.is_empty() {
        vec!["-".to_string()]
    } else {
        files.to_vec()
    }
}

/// Where the result of one input goes: `--output`, or back over the input.
fn target(output: &Option<PathBuf>, input: &str) -> String {
    match output {
        Some(o) if o.as_os_str() == "-" => "-".into(),
        Some(o) => absolute(o).display().to_string(),
        None => input.to_string(),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// `os.path.realpath`, except for `-` (stdin/stdout).
fn real_path(name: &str) -> String {
    if name == "-" {
        return name.into();
    }
    std::fs::canonicalize(name)
        .unwrap_or_else(|_| absolute(Path::new(name)))
        .display()
        .to_string()
}

fn read_data(name: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    let read = if name == "-" {
        std::io::stdin().lock().read_to_end(&mut data).map(|_| ())
    } else {
        std::fs::read(absolute(Path::new(name))).map(|d| data = d)
    };
    read.map_err(|e| Error::other(format!("Unable to read source file ({name}): {e}")))?;
    Ok(data)
}

/// `VaultEditor.write_data`: stdout for `-`; otherwise the old file is removed and a new
/// one created with mode 0600, so no other user ever sees a partly written secret.
fn write_data(data: &[u8], dest: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if dest == "-" {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(data)
            .and_then(|_| out.flush())
            .map_err(|e| Error::other(format!("Unable to write to stdout: {e}")));
    }
    let path = Path::new(dest);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir_c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap_or_default();
    // SAFETY: access(2) on a NUL-terminated path.
    if unsafe { libc::access(dir_c.as_ptr(), libc::W_OK) } != 0 {
        return Err(Error::other(format!(
            "Destination '{}' not writable",
            dir.display()
        )));
    }
    if path.is_file() {
        std::fs::remove_file(path)
            .map_err(|e| Error::other(format!("Could not replace {dest}: {e}")))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                Error::other("Vault file got recreated while we were operating on it.")
            }
            _ => Error::other("Problem creating temporary vault file."),
        })?;
    f.write_all(data)
        .map_err(|e| Error::other(format!("Unable to write to temporary vault file: {e}")))
}

/// `ansible-vault encrypt_string`: arguments, a prompt and/or stdin, each as a YAML
/// `name: !vault |` block.
fn encrypt_string(action: &Action, cfg: &Config) -> Result<()> {
    let Action::EncryptString {
        common,
        output,
        encrypt_vault_id,
        prompt,
        show_input,
        names,
        stdin_name,
        strings,
    } = action
    else {
        return Ok(());
    };
    let read_stdin =
        strings.iter().any(|s| s == "-") || stdin_name.is_some() || (strings.is_empty() && !prompt);
    if *prompt && read_stdin {
        return Err(Error::options(
            "The --prompt option is not supported if also reading input from stdin",
        ));
    }
    let secret = encrypt_secret(common, cfg, encrypt_vault_id.as_deref())?;
    // (plaintext, where from, name)
    let mut inputs: Vec<(Vec<u8>, &str, Option<String>)> = Vec::new();
    if *prompt {
        inputs.push(prompted(*show_input)?);
    }
    if read_stdin {
        if std::io::stdout().is_terminal() {
            eprintln!("Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)");
        }
        let data = read_data("-")?;
        if data.is_empty() {
            return Err(Error::options("stdin was empty, not encrypting"));
        }
        inputs.push((data, "stdin", stdin_name.clone()));
    }
    let args: Vec<&String> = strings.iter().filter(|s| *s != "-").collect();
    if !names.is_empty() && args.len() > names.len() {
        eprintln!("The number of --name options do not match the number of args.");
        eprintln!(
            "The last named variable will be \"{}\". The rest will not have names.",
            names[names.len() - 1]
        );
    }
    for (i, text) in args.iter().enumerate() {
        if text.is_empty() {
            return Err(Error::options(
                "The plaintext provided from the command line args was empty, not encrypting",
            ));
        }
        inputs.push((
            text.as_bytes().to_vec(),
            "the command line args",
            names.get(i).cloned(),
        ));
    }
    let many = inputs.len() > 1;
    let mut out = Vec::new();
    for (i, (plain, from, name)) in inputs.iter().enumerate() {
        let text = vault::encrypt(plain, &secret, Some(&secret.id)).map_err(err)?;
        if many {
            match name {
                Some(n) => eprintln!(
                    "# The encrypted version of variable (\"{n}\", the string #{} from {from}).",
                    i + 1
                ),
                None => eprintln!(
                    "# The encrypted version of the string #{} from {from}.)",
                    i + 1
                ),
            }
        }
        out.push(yaml_block(&text, name.as_deref()));
    }
    out.push(String::new());
    let dest = output
        .as_ref()
        .map(|o| target(&Some(o.clone()), "-"))
        .unwrap_or_else(|| "-".into());
    write_data(out.join("\n").as_bytes(), &dest)?;
    if std::io::stdout().is_terminal() {
        eprintln!("Encryption successful");
    }
    Ok(())
}

fn prompted(show_input: bool) -> Result<(Vec<u8>, &'static str, Option<String>)> {
    eprint!("Variable name (enter for no name): ");
    let _ = std::io::stderr().flush();
    let mut name = String::new();
    std::io::stdin()
        .read_line(&mut name)
        .map_err(|e| Error::other(format!("Could not read the variable name: {e}")))?;
    let name = name.trim_end_matches(['\n', '\r']).to_string();
    let text = if show_input {
        eprint!("String to encrypt:");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error::other(format!("Could not read the string: {e}")))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        TerminalPrompter
            .ask("String to encrypt (hidden): ")
            .map_err(|e| Error::other(format!("Could not read the string: {e}")))?
            .unwrap_or_default()
    };
    if text.is_empty() {
        return Err(Error::options(
            "The plaintext provided from the prompt was empty, not encrypting",
        ));
    }
    Ok((
        text.into_bytes(),
        "the interactive prompt",
        Some(name).filter(|n| !n.is_empty()),
    ))
}

/// `format_ciphertext_yaml`: `name: !vault |` and the vault text indented by 10.
fn yaml_block(vault_text: &str, name: Option<&str>) -> String {
    let mut lines = vec![match name {
        Some(n) => format!("{n}: !vault |"),
        None => "!vault |".to_string(),
    }];
    lines.extend(vault_text.lines().map(|l| format!("{}{l}", " ".repeat(10))));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_blocks_are_indented_like_ansible_vault() {
        let b = yaml_block("$ANSIBLE_VAULT;1.1;AES256\n3031\n", Some("pw"));
        assert_eq!(
            b,
            "pw: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          3031"
        );
        assert!(yaml_block("x\n", None).starts_with("!vault |\n"));
    }

    #[test]
    fn actions_parse_with_ansible_vault_flags() {
        let a = VaultCmdArgs::try_parse_from([
            "v",
            "encrypt_string",
            "--vault-id",
            "dev@pw",
            "-n",
            "a",
            "--name",
            "b",
            "x",
            "y",
        ])
        .unwrap();
        let Action::EncryptString {
            names,
            strings,
            common,
            ..
        } = a.action
        else {
            panic!("encrypt_string");
        };
        assert_eq!((names.len(), strings.len()), (2, 2));
        assert_eq!(common.vault.vault_id, ["dev@pw"]);
        assert!(VaultCmdArgs::try_parse_from([
            "v",
            "rekey",
            "--new-vault-id",
            "a",
            "--new-vault-password-file",
            "b",
            "f"
        ])
        .is_err());
    }
}
