//! What a run and its connection keeper say to each other over the keeper's Unix socket: one
//! request, one response, each a length-prefixed JSON frame (byte payloads as base64).

use super::super::{Become, Command, ConnError, Output};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;

/// Bumped when the messages change; part of the socket's name, so a run never talks to a
/// keeper of another build.
pub const PROTOCOL: u32 = 1;

/// A frame larger than this is refused (a `get` of a huge file streams through a direct
/// connection's SFTP instead: see `Request::Get`).
const MAX_FRAME: u32 = 1 << 30;

#[derive(Serialize, Deserialize)]
pub enum Request {
    Exec(WireCommand),
    Put {
        #[serde(with = "b64")]
        data: Vec<u8>,
        dest: String,
        mode: Option<u32>,
        become_: WireBecome,
    },
    /// The keeper runs on the same machine as the same user, so it reads the file itself.
    PutFile {
        src: PathBuf,
        dest: String,
        mode: Option<u32>,
        become_: WireBecome,
    },
    Get {
        path: String,
        become_: WireBecome,
    },
}

#[derive(Serialize, Deserialize)]
pub enum Response {
    Output {
        rc: i32,
        #[serde(with = "b64")]
        stdout: Vec<u8>,
        #[serde(with = "b64")]
        stderr: Vec<u8>,
    },
    Done,
    Data(#[serde(with = "b64")] Vec<u8>),
    Unreachable(String),
    Failed(String),
}

impl Response {
    pub fn from_error(e: ConnError) -> Response {
        match e {
            ConnError::Unreachable(m) => Response::Unreachable(m),
            ConnError::Failed(m) => Response::Failed(m),
        }
    }

    /// The error this response carries, if any.
    pub fn error(self) -> Result<Response, ConnError> {
        match self {
            Response::Unreachable(m) => Err(ConnError::Unreachable(m)),
            Response::Failed(m) => Err(ConnError::Failed(m)),
            ok => Ok(ok),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct WireBecome {
    enabled: bool,
    method: String,
    user: String,
    flags: String,
    password: Option<String>,
}

impl From<&Become> for WireBecome {
    fn from(b: &Become) -> Self {
        WireBecome {
            enabled: b.enabled,
            method: b.method.clone(),
            user: b.user.clone(),
            flags: b.flags.clone(),
            password: b.password.clone(),
        }
    }
}

impl From<WireBecome> for Become {
    fn from(b: WireBecome) -> Self {
        Become {
            enabled: b.enabled,
            method: b.method,
            user: b.user,
            flags: b.flags,
            password: b.password,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct WireCommand {
    script: String,
    executable: Option<String>,
    #[serde(with = "b64_opt")]
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    become_: WireBecome,
    timeout_ms: Option<u64>,
}

impl From<&Command> for WireCommand {
    fn from(c: &Command) -> Self {
        WireCommand {
            script: c.script.clone(),
            executable: c.executable.clone(),
            stdin: c.stdin.clone(),
            env: c.env.clone(),
            cwd: c.cwd.clone(),
            become_: (&c.become_).into(),
            timeout_ms: c.timeout.map(|t| t.as_millis() as u64),
        }
    }
}

impl From<WireCommand> for Command {
    fn from(c: WireCommand) -> Self {
        Command {
            script: c.script,
            executable: c.executable,
            stdin: c.stdin,
            env: c.env,
            cwd: c.cwd,
            become_: c.become_.into(),
            timeout: c.timeout_ms.map(std::time::Duration::from_millis),
        }
    }
}

impl From<Output> for Response {
    fn from(o: Output) -> Self {
        Response::Output {
            rc: o.rc,
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }
}

pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> std::io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&body)?;
    w.flush()
}

/// The next frame, or `None` at a clean end of stream.
pub fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> std::io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!("frame of {len} bytes")));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(std::io::Error::other)
}

mod b64 {
    use super::*;
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

mod b64_opt {
    use super::*;
    pub fn serialize<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::b64::serialize(v, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_survives_the_wire_with_binary_stdin() {
        let cmd = Command {
            script: "cat".into(),
            stdin: Some(vec![0, 255, b'\n']),
            timeout: Some(std::time::Duration::from_millis(1500)),
            ..Command::default()
        };
        let mut buf = Vec::new();
        write_frame(&mut buf, &Request::Exec((&cmd).into())).unwrap();
        let back: Request = read_frame(&mut buf.as_slice()).unwrap().unwrap();
        let Request::Exec(w) = back else {
            panic!("not exec")
        };
        let c: Command = w.into();
        assert_eq!(c.stdin.as_deref(), Some(&[0u8, 255, b'\n'][..]));
        assert_eq!(c.timeout, Some(std::time::Duration::from_millis(1500)));
    }

    #[test]
    fn end_of_stream_is_none_and_a_huge_length_is_an_error() {
        let none: Option<Response> = read_frame(&mut [].as_slice()).unwrap();
        assert!(none.is_none());
        let huge = u32::MAX.to_be_bytes();
        assert!(read_frame::<Response>(&mut huge.as_slice()).is_err());
    }
}
