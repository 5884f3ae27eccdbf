//! The vault text format, as ansible-core's `lib/ansible/parsing/vault/__init__.py` writes it:
//!
//! ```text
//! $ANSIBLE_VAULT;1.1;AES256            (1.2 adds ";LABEL", the vault id)
//! 3634...                              hexlify(hexlify(salt) \n hexlify(hmac) \n hexlify(ct)),
//! ...                                  in lines of 80 characters
//! ```

use super::VaultError;

pub const HEADER: &str = "$ANSIBLE_VAULT";
/// The vault id a vault without one (format 1.1) is taken to have (`DEFAULT_VAULT_IDENTITY`).
pub const DEFAULT_ID: &str = "default";

/// Whether `data` is vault text: it starts with the header (Ansible checks nothing else).
pub fn is_encrypted(data: &[u8]) -> bool {
    data.starts_with(HEADER.as_bytes())
}

/// A parsed envelope: the header's fields and the hex payload without line breaks.
#[derive(Debug, PartialEq)]
pub struct Envelope {
    pub version: String,
    pub cipher: String,
    /// The header's label (1.2), or `default_id`.
    pub vault_id: String,
    pub payload: Vec<u8>,
}

/// Splits the header from the payload (`parse_vaulttext_envelope`).
pub fn parse_envelope(text: &[u8], default_id: &str) -> Result<Envelope, VaultError> {
    let text = std::str::from_utf8(text)
        .map_err(|_| VaultError::Format("Vault envelope format error."))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().trim();
    let fields: Vec<&str> = header.split(';').collect();
    if fields.len() < 3 {
        return Err(VaultError::Format("Vault envelope format error."));
    }
    let vault_id = match fields.get(3) {
        Some(id) => id.trim().to_string(),
        None => default_id.to_string(),
    };
    let payload: Vec<u8> = lines.flat_map(|l| l.trim().bytes()).collect();
    Ok(Envelope {
        version: fields[1].trim().to_string(),
        cipher: fields[2].trim().to_string(),
        vault_id,
        payload,
    })
}

/// The header and the payload in 80-column lines, ending in a newline
/// (`format_vaulttext_envelope`). A vault id other than `default` makes it format 1.2.
pub fn format_envelope(payload: &[u8], vault_id: Option<&str>) -> String {
    let mut out = String::from(HEADER);
    match vault_id.filter(|id| !id.is_empty() && *id != DEFAULT_ID) {
        Some(id) => {
            out.push_str(";1.2;AES256;");
            out.push_str(id);
        }
        None => out.push_str(";1.1;AES256"),
    }
    for chunk in payload.chunks(80) {
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(chunk));
    }
    out.push('\n');
    out
}

/// The three parts of the payload: salt, HMAC and ciphertext (`parse_vaulttext`).
pub struct Parts {
    pub salt: Vec<u8>,
    /// Still hex, as Ansible compares it.
    pub hmac_hex: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub fn split_payload(payload: &[u8]) -> Result<Parts, VaultError> {
    let inner = unhex(payload)?;
    let mut it = inner.splitn(3, |b| *b == b'\n');
    let (Some(salt), Some(mac), Some(ct)) = (it.next(), it.next(), it.next()) else {
        return Err(VaultError::Format("Vault vaulttext format error."));
    };
    Ok(Parts {
        salt: unhex(salt)?,
        hmac_hex: mac.to_vec(),
        ciphertext: unhex(ct)?,
    })
}

pub fn join_payload(salt: &[u8], hmac: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(hmac),
        hex::encode(ciphertext)
    );
    hex::encode(inner).into_bytes()
}

pub fn unhex(data: &[u8]) -> Result<Vec<u8>, VaultError> {
    hex::decode(data).map_err(|_| VaultError::Format("Vault format unhexlify error."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_with_and_without_vault_id() {
        let payload = vec![b'a'; 170];
        let text = format_envelope(&payload, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "$ANSIBLE_VAULT;1.1;AES256");
        assert_eq!(lines[1].len(), 80);
        assert_eq!(lines[3].len(), 10);
        assert!(text.ends_with('\n'));
        let env = parse_envelope(text.as_bytes(), DEFAULT_ID).unwrap();
        assert_eq!(
            (env.version.as_str(), env.vault_id.as_str()),
            ("1.1", "default")
        );
        assert_eq!(env.payload, payload);

        let text = format_envelope(b"00", Some("prod"));
        assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        assert_eq!(
            parse_envelope(text.as_bytes(), DEFAULT_ID)
                .unwrap()
                .vault_id,
            "prod"
        );
        // `default` stays 1.1, as Ansible writes it.
        assert!(format_envelope(b"00", Some("default")).starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    }

    #[test]
    fn bad_payloads_are_format_errors() {
        assert!(matches!(
            parse_envelope(b"$ANSIBLE_VAULT\nzz", DEFAULT_ID),
            Err(VaultError::Format(_))
        ));
        assert!(matches!(split_payload(b"zz"), Err(VaultError::Format(_))));
        assert!(matches!(
            split_payload(&hex::encode("aa\nbb").into_bytes()),
            Err(VaultError::Format(_))
        ));
    }
}
