//! Ansible's `VaultAES256`: PBKDF2-HMAC-SHA256 (10000 rounds) derives an AES-256 key, an
//! HMAC-SHA256 key and a 128-bit CTR counter from the password and a 32-byte salt; the
//! plaintext is PKCS#7-padded (Ansible pads even in CTR mode), encrypted with AES-256-CTR and
//! the ciphertext authenticated with HMAC-SHA256 (encrypt-then-MAC).

use super::format::{join_payload, split_payload, unhex};
use super::VaultError;
use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

const ROUNDS: u32 = 10_000;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
const BLOCK: usize = 16;
pub const SALT_LEN: usize = 32;

struct Keys {
    cipher: [u8; KEY_LEN],
    mac: [u8; KEY_LEN],
    iv: [u8; IV_LEN],
}

fn derive(password: &[u8], salt: &[u8]) -> Keys {
    let mut out = [0u8; 2 * KEY_LEN + IV_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut out);
    let mut keys = Keys {
        cipher: [0; KEY_LEN],
        mac: [0; KEY_LEN],
        iv: [0; IV_LEN],
    };
    keys.cipher.copy_from_slice(&out[..KEY_LEN]);
    keys.mac.copy_from_slice(&out[KEY_LEN..2 * KEY_LEN]);
    keys.iv.copy_from_slice(&out[2 * KEY_LEN..]);
    out.fill(0);
    keys
}

fn mac(keys: &Keys) -> HmacSha256 {
    // HMAC takes a key of any length; 32 bytes cannot fail.
    <HmacSha256 as Mac>::new_from_slice(&keys.mac).expect("HMAC accepts any key length")
}

/// Encrypts `plaintext` with `salt`; returns the hex payload that goes under the header.
pub fn encrypt(plaintext: &[u8], password: &[u8], salt: &[u8]) -> Vec<u8> {
    let keys = derive(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = Vec::with_capacity(plaintext.len() + pad);
    data.extend_from_slice(plaintext);
    data.resize(plaintext.len() + pad, pad as u8);
    Aes256Ctr::new(&keys.cipher.into(), &keys.iv.into()).apply_keystream(&mut data);
    let mut m = mac(&keys);
    m.update(&data);
    let tag = m.finalize().into_bytes();
    join_payload(salt, &tag, &data)
}

/// Decrypts a hex payload; a wrong password is [`VaultError::WrongSecret`] (the HMAC does not
/// match), a damaged payload [`VaultError::Format`].
pub fn decrypt(payload: &[u8], password: &[u8]) -> Result<Vec<u8>, VaultError> {
    let parts = split_payload(payload)?;
    let keys = derive(password, &parts.salt);
    let want = unhex(&parts.hmac_hex)?;
    let mut m = mac(&keys);
    m.update(&parts.ciphertext);
    // Constant-time comparison (hmac's verify).
    m.verify_slice(&want).map_err(|_| VaultError::WrongSecret)?;
    let mut data = parts.ciphertext;
    Aes256Ctr::new(&keys.cipher.into(), &keys.iv.into()).apply_keystream(&mut data);
    let pad = data.last().copied().unwrap_or(0) as usize;
    if pad == 0
        || pad > BLOCK
        || pad > data.len()
        || !data[data.len() - pad..].iter().all(|b| *b as usize == pad)
    {
        return Err(VaultError::Format("Invalid padding bytes."));
    }
    data.truncate(data.len() - pad);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let salt = [7u8; SALT_LEN];
        for text in [
            &b""[..],
            b"x",
            b"0123456789abcdef",
            b"a longer text\nwith lines\n",
        ] {
            let payload = encrypt(text, b"pw", &salt);
            assert_eq!(decrypt(&payload, b"pw").unwrap(), text);
            assert!(matches!(
                decrypt(&payload, b"other"),
                Err(VaultError::WrongSecret)
            ));
        }
    }

    #[test]
    fn a_changed_ciphertext_fails_the_hmac() {
        let payload = encrypt(b"secret", b"pw", &[1u8; SALT_LEN]);
        let mut inner = unhex(&payload).unwrap();
        let last = inner.len() - 1;
        inner[last] = if inner[last] == b'0' { b'1' } else { b'0' };
        let tampered = hex::encode(inner).into_bytes();
        assert!(matches!(
            decrypt(&tampered, b"pw"),
            Err(VaultError::WrongSecret)
        ));
    }
}
