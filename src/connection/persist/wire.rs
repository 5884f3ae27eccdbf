//! What a run and its connection keeper say to each other over the keeper's Unix socket: one
//! request, one response. A frame is a small JSON header (`u32` length first) and a raw byte
//! payload (`u64` length first): stdin, file data, stdout+stderr travel as bytes, so a large
//! upload costs a copy, not a base64 round of a JSON parser.

use super::super::{Become, Command, ConnError, Output};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;

/// Bumped when the messages change; part of the socket's name, so a run never talks to a
/// keeper of another build.
pub const PROTOCOL: u32 = 2;

/// A header larger than this is refused (headers hold names and paths, never data).
const MAX_HEADER: u32 = 64 << 20;

#[derive(Serialize, Deserialize)]
pub enum Request {
    /// The payload is the command's stdin (`has_stdin` tells an empty one from none).
    Exec(WireCommand),
    /// The payload is the data.
    Put {
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
    /// The payload is stdout then stderr.
    Output {
        rc: i32,
        stdout_len: u64,
    },
    Done,
    /// The payload is the file.
    Data,
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

    /// An output as a response and its payload.
    pub fn output(o: Output) -> (Response, Vec<u8>) {
        let stdout_len = o.stdout.len() as u64;
        let mut payload = o.stdout;
        payload.extend_from_slice(&o.stderr);
        (
            Response::Output {
                rc: o.rc,
                stdout_len,
            },
            payload,
        )
    }
}

/// The output an `Output` response and its payload carry.
pub fn output_of(rc: i32, stdout_len: u64, mut payload: Vec<u8>) -> Output {
    let split = usize::try_from(stdout_len)
        .unwrap_or(usize::MAX)
        .min(payload.len());
    let stderr = payload.split_off(split);
    Output {
        rc,
        stdout: payload,
        stderr,
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
    has_stdin: bool,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    become_: WireBecome,
    timeout_ms: Option<u64>,
}

impl WireCommand {
    /// The command as a request and its payload (stdin).
    pub fn request(c: &Command) -> (Request, &[u8]) {
        let wire = WireCommand {
            script: c.script.clone(),
            executable: c.executable.clone(),
            has_stdin: c.stdin.is_some(),
            env: c.env.clone(),
            cwd: c.cwd.clone(),
            become_: (&c.become_).into(),
            timeout_ms: c.timeout.map(|t| t.as_millis() as u64),
        };
        (Request::Exec(wire), c.stdin.as_deref().unwrap_or_default())
    }

    /// The command again, with its stdin from the payload.
    pub fn command(self, payload: Vec<u8>) -> Command {
        let c = self;
        Command {
            script: c.script,
            executable: c.executable,
            stdin: c.has_stdin.then_some(payload),
            env: c.env,
            cwd: c.cwd,
            become_: c.become_.into(),
            timeout: c.timeout_ms.map(std::time::Duration::from_millis),
        }
    }
}

/// Writes one frame: the header, then the payload.
pub fn write_frame<T: Serialize>(
    w: &mut impl Write,
    msg: &T,
    payload: &[u8],
) -> std::io::Result<()> {
    let header = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    let len = u32::try_from(header.len()).map_err(std::io::Error::other)?;
    let mut w = std::io::BufWriter::new(w);
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&header)?;
    w.write_all(&(payload.len() as u64).to_be_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

/// The next frame, or `None` at a clean end of stream.
pub fn read_frame<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
) -> std::io::Result<Option<(T, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len);
    if len > MAX_HEADER {
        return Err(std::io::Error::other(format!(
            "frame header of {len} bytes"
        )));
    }
    let mut header = vec![0u8; len as usize];
    r.read_exact(&mut header)?;
    let msg = serde_json::from_slice(&header).map_err(std::io::Error::other)?;
    let mut plen = [0u8; 8];
    r.read_exact(&mut plen)?;
    let plen = u64::from_be_bytes(plen);
    let mut payload = Vec::new();
    // Read as it arrives rather than trusting the length for one allocation.
    let got = r.take(plen).read_to_end(&mut payload)?;
    if got as u64 != plen {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "frame payload cut short",
        ));
    }
    Ok(Some((msg, payload)))
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
        let (req, stdin) = WireCommand::request(&cmd);
        let mut buf = Vec::new();
        write_frame(&mut buf, &req, stdin).unwrap();
        let (back, payload): (Request, _) = read_frame(&mut buf.as_slice()).unwrap().unwrap();
        let Request::Exec(w) = back else {
            panic!("not exec")
        };
        let c = w.command(payload);
        assert_eq!(c.stdin.as_deref(), Some(&[0u8, 255, b'\n'][..]));
        assert_eq!(c.timeout, Some(std::time::Duration::from_millis(1500)));
        let none = Command::default();
        let (req, stdin) = WireCommand::request(&none);
        let Request::Exec(w) = req else { panic!() };
        assert_eq!(w.command(stdin.to_vec()).stdin, None);
    }

    #[test]
    fn output_splits_back_into_stdout_and_stderr() {
        let (resp, payload) = Response::output(Output {
            rc: 3,
            stdout: b"out".to_vec(),
            stderr: b"err".to_vec(),
        });
        let Response::Output { rc, stdout_len } = resp else {
            panic!()
        };
        let o = output_of(rc, stdout_len, payload);
        assert_eq!(
            (o.rc, &o.stdout[..], &o.stderr[..]),
            (3, &b"out"[..], &b"err"[..])
        );
    }

    #[test]
    fn end_of_stream_is_none_and_bad_frames_are_errors() {
        let none: Option<(Response, _)> = read_frame(&mut [].as_slice()).unwrap();
        assert!(none.is_none());
        let huge = u32::MAX.to_be_bytes();
        assert!(read_frame::<Response>(&mut huge.as_slice()).is_err());
        let mut cut = Vec::new();
        write_frame(&mut cut, &Response::Data, b"0123456789").unwrap();
        cut.truncate(cut.len() - 3);
        assert!(read_frame::<Response>(&mut cut.as_slice()).is_err());
    }
}
