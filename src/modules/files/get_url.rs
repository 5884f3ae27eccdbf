//! `get_url`: downloads a URL to a file on the host, with curl (else wget) there.
//!
//! One round trip: a sh script checks an existing `dest` against `checksum` (no download when
//! it matches), downloads to a temp file in dest's directory (`If-Modified-Since` from dest's
//! mtime unless `force`), verifies the checksum, and renames over dest only when the content
//! differs, like Ansible's `atomic_move`. In check mode it sends HEAD, as Ansible does.

use crate::connection::{quote, Command};
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};
use std::time::Instant;

pub struct GetUrl;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("url", ArgKind::Str).required(),
    ArgSpec::new("dest", ArgKind::Path).required(),
    ArgSpec::new("checksum", ArgKind::Str),
    ArgSpec::new("force", ArgKind::Bool).aliases(&["thirsty"]),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("headers", ArgKind::Dict),
    ArgSpec::new("url_username", ArgKind::Str).aliases(&["username"]),
    ArgSpec::new("url_password", ArgKind::Str).aliases(&["password"]),
    ArgSpec::new("force_basic_auth", ArgKind::Bool),
    ArgSpec::new("validate_certs", ArgKind::Bool),
    ArgSpec::new("use_proxy", ArgKind::Bool),
    ArgSpec::new("http_agent", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("tmp_dest", ArgKind::Path),
    ArgSpec::new("decompress", ArgKind::Bool),
    ArgSpec::new("use_netrc", ArgKind::Bool),
    ArgSpec::new("unredirected_headers", ArgKind::List),
    ArgSpec::new("ciphers", ArgKind::List),
    ArgSpec::new("use_gssapi", ArgKind::Bool),
    ArgSpec::new("client_cert", ArgKind::Path),
    ArgSpec::new("client_key", ArgKind::Path),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

const MARK: &str = "@@yiqiu:";

/// Python's `url_filename`: the URL path's last part, or `index.html`.
fn url_filename(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    let path = no_query.split_once("://").map_or(no_query, |(_, rest)| {
        rest.split_once('/').map_or("", |(_, p)| p)
    });
    match path.rsplit('/').next() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => "index.html".into(),
    }
}

/// A curl config line value (`"..."` with `\` and `"` escaped), read from stdin so the
/// password is not on the command line.
fn curl_conf_value(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

struct Parsed {
    fields: Map<String, Value>,
    lines: Vec<String>,
}

fn parse_marks(stdout: &str) -> Parsed {
    let mut fields = Map::new();
    let mut lines = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix(MARK) {
            let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
            fields.insert(k.to_string(), Value::String(v.to_string()));
        } else {
            lines.push(line.to_string());
        }
    }
    Parsed { fields, lines }
}

impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let url = args.str("url").unwrap_or_default().to_string();
        let dest_arg = args.str("dest").unwrap_or_default().to_string();
        let force = args.bool_or("force", false);
        let timeout = args.int("timeout").unwrap_or(10).max(1);
        let mut result = map([
            ("changed", Value::Bool(false)),
            ("checksum_dest", Value::Null),
            ("checksum_src", Value::Null),
            ("dest", Value::String(dest_arg.clone())),
            ("elapsed", Value::from(0)),
            ("url", Value::String(url.clone())),
        ]);
        let fail = |res: &Map<String, Value>, msg: String| {
            let mut m = res.clone();
            m.insert("msg".into(), Value::String(msg));
            ModuleError::Failed(m)
        };
        let (algo, want) = match args.str("checksum").filter(|c| !c.is_empty()) {
            None => (String::new(), String::new()),
            Some(c) => {
                let Some((a, sum)) = c.split_once(':') else {
                    return Err(fail(
                        &result,
                        "The checksum parameter has to be in format <algorithm>:<checksum>".into(),
                    ));
                };
                if sum.contains("://") {
                    return Err(fail(
                        &result,
                        "get_url: a checksum URL is not supported yet; give the digest itself"
                            .into(),
                    ));
                }
                let sum: String = sum
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
                    .to_lowercase();
                if sum.is_empty() || !sum.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(fail(&result, "The checksum format is invalid".into()));
                }
                let a = a.to_lowercase();
                if !["md5", "sha1", "sha224", "sha256", "sha384", "sha512"].contains(&a.as_str()) {
                    return Err(fail(&result, format!("Unsupported hash algorithm {a}")));
                }
                (a, sum)
            }
        };

        let mode = args.get("mode").and_then(util::mode_arg);
        let attrs = util::apply_attrs_script(
            "\"$D\"",
            mode.as_deref(),
            args.str("owner"),
            args.str("group"),
        );
        let mut curl = vec![
            "curl".to_string(),
            "-sS".into(),
            "-L".into(),
            "-K".into(),
            "-".into(),
        ];
        let mut wget = vec![
            "wget".to_string(),
            "-q".into(),
            "-S".into(),
            format!("--timeout={timeout}"),
        ];
        curl.extend(["--max-time".into(), timeout.to_string()]);
        if !args.bool_or("validate_certs", true) {
            curl.push("-k".into());
            wget.push("--no-check-certificate".into());
        }
        if !args.bool_or("use_proxy", true) {
            curl.extend(["--noproxy".into(), "*".into()]);
            wget.push("--no-proxy".into());
        }
        let agent = args.str("http_agent").unwrap_or("ansible-httpget");
        curl.extend(["-A".into(), agent.to_string()]);
        wget.push(format!("--user-agent={agent}"));
        if let Some(h) = args.dict("headers") {
            for (k, v) in h {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                curl.extend(["-H".into(), format!("{k}: {v}")]);
                wget.push(format!("--header={k}: {v}"));
            }
        }
        let mut curl_conf = String::new();
        if let Some(u) = args.str("url_username") {
            let p = args.str("url_password").unwrap_or("");
            curl_conf.push_str(&format!(
                "user = {}\n",
                curl_conf_value(&format!("{u}:{p}"))
            ));
            wget.push(format!("--user={u}"));
            wget.push(format!("--password={p}"));
        }
        if ctx.check_mode {
            curl.push("-I".into());
            wget.push("--spider".into());
        }
        let curl = curl.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        let wget = wget.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        let sum_cmd = |file: &str, a: &str| format!("$({a}sum < {file} | cut -d' ' -f1)");

        let script = format!(
            r#"D={dest}; U={url}; WANT={want}; FORCE={force}; CHECK={check}
if [ -d "$D" ]; then D="${{D%/}}/"{fname}; echo {MARK}dest "$D"; IS_DIR=1; else IS_DIR=0; fi
if [ "$IS_DIR" = 0 ] && [ -e "$D" ] && [ "$FORCE" = 0 ] && [ -n "$WANT" ]; then
  if [ "{sum_dest_algo}" = "$WANT" ]; then
    echo {MARK}exists
    {attrs_or_none}
    {stat} 2>/dev/null; exit 0
  fi
  FORCE=1
fi
DIR=$(dirname "$D")
[ -d "$DIR" ] || {{ echo {MARK}nodir "$DIR"; exit 0; }}
T=$(mktemp "$DIR/.yiqiu-get_url.XXXXXX") || {{ echo {MARK}notmp; exit 0; }}
echo {MARK}src "$T"
H=$(mktemp) || exit 1
trap 'rm -f "$T" "$H"' EXIT
IMS=""
if [ "$FORCE" = 0 ] && [ -f "$D" ] && [ "$IS_DIR" = 0 ]; then IMS=1; fi
if command -v curl >/dev/null 2>&1; then
  if [ -n "$IMS" ]; then set -- -z "$D"; else set --; fi
  printf '%s' {curl_conf} | {curl} -D "$H" -o "$T" "$@" -- "$U" 2>"$H.err"; RC=$?
  ERR=$(cat "$H.err"); rm -f "$H.err"
  CODE=$(awk '/^HTTP\//{{c=$2; r=$0}} END{{print c}}' "$H")
  REASON=$(awk '/^HTTP\//{{r=$0}} END{{sub(/^HTTP\/[^ ]* [0-9]* ?/, "", r); sub(/\r$/, "", r); print r}}' "$H")
elif command -v wget >/dev/null 2>&1; then
  {wget} -O "$T" -- "$U" 2>"$H"; RC=$?
  [ "$RC" = 8 ] && RC=0
  ERR=$(grep -v '^  ' "$H")
  CODE=$(awk '/^  HTTP\//{{c=$2}} END{{print c}}' "$H")
  REASON=$(awk '/^  HTTP\//{{r=$0}} END{{sub(/^  HTTP\/[^ ]* [0-9]* ?/, "", r); print r}}' "$H")
else
  echo {MARK}notool; exit 0
fi
echo {MARK}rc "$RC"; echo {MARK}code "$CODE"; echo {MARK}reason "$REASON"
if [ "$RC" != 0 ] || [ -z "$CODE" ]; then printf '%s\n' "$ERR"; exit 0; fi
[ "$CODE" = 304 ] && {{ {stat} 2>/dev/null; exit 0; }}
case "$CODE" in 2*) ;; *) exit 0;; esac
echo {MARK}size "$(wc -c < "$T")"
SRC={sum_src}; echo {MARK}checksum_src "$SRC"
DST=""; [ -f "$D" ] && DST={sum_dst}; echo {MARK}checksum_dest "$DST"
if [ "$CHECK" = 1 ]; then exit 0; fi
if [ -n "$WANT" ]; then GOT={sum_tmp_algo}; [ "$GOT" = "$WANT" ] || {{ echo {MARK}mismatch "$GOT"; exit 0; }}; fi
if [ "$SRC" != "$DST" ]; then
  if [ -e "$D" ]; then chmod "$(stat -c %a "$D")" "$T"; else chmod "$(printf '%o' $(( 0666 & ~0$(umask) )))" "$T"; fi
  if [ {backup} = 1 ] && [ -e "$D" ]; then
    B="$D.$$.$(date +%Y-%m-%d@%H:%M:%S~)"; cp -p "$D" "$B" && echo {MARK}backup_file "$B"
  fi
  mv -f "$T" "$D" || {{ echo {MARK}mvfail; exit 0; }}
  echo {MARK}moved
fi
{attrs}
echo {MARK}md5sum {md5}
{stat} 2>/dev/null
"#,
            dest = util::shell_path(&dest_arg),
            url = quote(&url),
            want = quote(&want),
            force = u8::from(force),
            check = u8::from(ctx.check_mode),
            backup = u8::from(args.bool_or("backup", false)),
            fname = quote(&url_filename(&url)),
            sum_dest_algo = if algo.is_empty() {
                String::new()
            } else {
                sum_cmd("\"$D\"", &algo)
            },
            attrs_or_none = if ctx.check_mode || attrs.is_empty() {
                ":".to_string()
            } else {
                attrs.clone()
            },
            stat = util::attrs_script("\"$D\""),
            curl_conf = quote(&curl_conf),
            sum_src = sum_cmd("\"$T\"", "sha1"),
            sum_dst = sum_cmd("\"$D\"", "sha1"),
            sum_tmp_algo = if algo.is_empty() {
                String::new()
            } else {
                sum_cmd("\"$T\"", &algo)
            },
            md5 = sum_cmd("\"$D\"", "md5"),
        );
        let cmd = Command {
            script,
            env: ctx.env.clone(),
            become_: ctx.become_.clone(),
            ..Command::default()
        };
        let began = Instant::now();
        let out = ctx.conn.exec(&cmd).map_err(util::conn_err)?;
        let elapsed = began.elapsed().as_secs();
        if out.rc != 0 {
            return Err(fail(
                &result,
                format!(
                    "get_url failed on the host: {}",
                    util::text(&out.stderr).trim()
                ),
            ));
        }
        let p = parse_marks(&util::text(&out.stdout));
        let f = |k: &str| p.fields.get(k).and_then(Value::as_str).map(str::to_string);
        let attrs_map = p.lines.iter().rev().find_map(|l| util::parse_attrs(l));
        if let Some(d) = f("dest") {
            result.insert("dest".into(), Value::String(d));
        }
        let dest = result["dest"].as_str().unwrap_or_default().to_string();
        let with_attrs = |mut r: Map<String, Value>| {
            if let Some(a) = &attrs_map {
                r.extend(a.clone());
            }
            r.sort_keys();
            r
        };
        if p.fields.contains_key("exists") {
            let changed = p.lines.iter().any(|l| l == util::ATTRS_CHANGED);
            result.insert("changed".into(), Value::Bool(changed));
            let msg = if changed {
                "file already exists but file attributes changed"
            } else {
                "file already exists"
            };
            result.insert("msg".into(), Value::String(msg.into()));
            return Ok(with_attrs(result));
        }
        if let Some(dir) = f("nodir") {
            return Err(fail(&result, format!("{dir} directory does not exist.")));
        }
        if p.fields.contains_key("notool") {
            return Err(fail(
                &result,
                "get_url needs curl or wget on the host; neither was found".into(),
            ));
        }
        if p.fields.contains_key("notmp") {
            return Err(fail(
                &result,
                format!("Destination {} is not writable", dest),
            ));
        }
        result.insert("elapsed".into(), Value::from(elapsed));
        if let Some(src) = f("src") {
            result.insert("src".into(), Value::String(src));
        }
        let code: i64 = f("code").and_then(|c| c.parse().ok()).unwrap_or(-1);
        let reason = f("reason").unwrap_or_default();
        if f("rc").as_deref() != Some("0") || code < 0 {
            let mut m = result.clone();
            m.insert("status_code".into(), Value::from(-1));
            m.insert(
                "msg".into(),
                Value::String(format!("Request failed: {}", p.lines.join("\n").trim())),
            );
            m.shift_remove("checksum_dest");
            m.shift_remove("checksum_src");
            return Err(ModuleError::Failed(m));
        }
        if code == 304 {
            let r = map([
                ("changed", Value::Bool(false)),
                ("dest", Value::String(dest)),
                ("elapsed", Value::from(elapsed)),
                ("msg", Value::String(format!("HTTP Error 304: {reason}"))),
                ("status_code", Value::from(304)),
                ("url", Value::String(url)),
            ]);
            return Ok(with_attrs(r));
        }
        if !(200..300).contains(&code) {
            let r = map([
                ("dest", Value::String(dest)),
                ("elapsed", Value::from(elapsed)),
                ("msg", Value::String("Request failed".into())),
                (
                    "response",
                    Value::String(format!("HTTP Error {code}: {reason}")),
                ),
                ("status_code", Value::from(code)),
                ("url", Value::String(url)),
            ]);
            return Err(ModuleError::Failed(r));
        }
        let size = f("size").unwrap_or_default();
        let src = f("checksum_src").unwrap_or_default();
        let dst = f("checksum_dest").filter(|d| !d.is_empty());
        result.insert("checksum_src".into(), Value::String(src.clone()));
        result.insert(
            "checksum_dest".into(),
            dst.clone().map_or(Value::Null, Value::String),
        );
        let msg = format!("OK ({} bytes)", size.trim());
        if ctx.check_mode {
            result.insert(
                "changed".into(),
                Value::Bool(dst.as_deref() != Some(src.as_str())),
            );
            result.insert("msg".into(), Value::String(msg));
            return Ok(with_attrs(result));
        }
        if let Some(got) = f("mismatch") {
            return Err(fail(
                &result,
                format!("The checksum for {dest} did not match {want}; it was {got}."),
            ));
        }
        if p.fields.contains_key("mvfail") {
            return Err(fail(
                &result,
                format!("failed to copy the download to {dest}"),
            ));
        }
        let changed =
            p.fields.contains_key("moved") || p.lines.iter().any(|l| l == util::ATTRS_CHANGED);
        result.insert("changed".into(), Value::Bool(changed));
        if let Some(b) = f("backup_file") {
            result.insert("backup_file".into(), Value::String(b));
        }
        if let Some(m) = f("md5sum") {
            result.insert("md5sum".into(), Value::String(m));
        }
        result.insert("msg".into(), Value::String(msg));
        result.insert("status_code".into(), Value::from(code));
        Ok(with_attrs(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A tiny HTTP server answering every request with `body` (404 for paths with "missing",
    /// 304 when the request carries If-Modified-Since and `honour_ims`).
    fn serve(
        body: &'static str,
        honour_ims: bool,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        let h = std::thread::spawn(move || {
            let mut seen = Vec::new();
            l.set_nonblocking(false).unwrap();
            for stream in l.incoming().take(1) {
                let mut s = stream.unwrap();
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let resp = if req.starts_with("GET /missing") {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string()
                } else if honour_ims && req.to_lowercase().contains("if-modified-since") {
                    "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n".to_string()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                s.write_all(resp.as_bytes()).unwrap();
                seen.push(req);
            }
            seen
        });
        (base, h)
    }

    const BODY_SHA256: &str =
        "sha256:9e2ec912af5dff2a72300863864fc4da04e81999339d9fac5c7590ba8a3f4e11";

    #[test]
    fn downloads_verifies_and_skips_when_checksum_matches() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("out file");
        let d = dest.to_str().unwrap();
        let (base, h) = serve("body\n", false);
        let r = run(
            &GetUrl,
            json!({"url": format!("{base}/f.txt"), "dest": d, "checksum": BODY_SHA256, "headers": {"X-Test": "it's"}, "mode": "0640"}),
        )
        .unwrap();
        let reqs = h.join().unwrap();
        assert!(reqs[0].contains("X-Test: it's"), "{reqs:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "body\n");
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["status_code"], json!(200));
        assert_eq!(r["msg"], json!("OK (5 bytes)"));
        assert_eq!(
            r["checksum_src"],
            json!("7f561fb7b86ada3acd30461a32354e5ceea9fcec")
        );
        assert_eq!(r["checksum_dest"], json!(null));
        assert_eq!(r["md5sum"], json!("ae6ba5b4c6eb1efd4a9fac3708046cbe"));
        assert_eq!(r["mode"], json!("0640"));
        assert_eq!(r["size"], json!(5));
        assert!(!std::path::Path::new(r["src"].as_str().unwrap()).exists());
        // Second run: the checksum matches, nothing is downloaded (no server is listening).
        let r = run(
            &GetUrl,
            json!({"url": "http://127.0.0.1:1/none", "dest": d, "checksum": BODY_SHA256}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["msg"], json!("file already exists"));
        // No leftover temp files.
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn checksum_mismatch_fails_and_keeps_dest_untouched() {
        let t = tempfile::tempdir().unwrap();
        let (base, h) = serve("other\n", false);
        let m = failed(run(
            &GetUrl,
            json!({"url": format!("{base}/x"), "dest": t.path().to_str().unwrap(), "checksum": BODY_SHA256}),
        ));
        h.join().unwrap();
        let msg = m["msg"].as_str().unwrap();
        assert!(msg.contains("did not match 9e2ec912"), "{msg}");
        assert_eq!(m["dest"], json!(format!("{}/x", t.path().display())));
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn not_modified_and_same_content_are_unchanged() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("f");
        std::fs::write(&dest, "body\n").unwrap();
        let (base, h) = serve("body\n", true);
        let r = run(
            &GetUrl,
            json!({"url": format!("{base}/f"), "dest": dest.to_str().unwrap()}),
        )
        .unwrap();
        h.join().unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["status_code"], json!(304));
        assert_eq!(r["msg"], json!("HTTP Error 304: Not Modified"));
        // A server that ignores If-Modified-Since: downloaded, same content, unchanged.
        let (base, h) = serve("body\n", false);
        let r = run(
            &GetUrl,
            json!({"url": format!("{base}/f"), "dest": dest.to_str().unwrap()}),
        )
        .unwrap();
        h.join().unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["checksum_dest"], r["checksum_src"]);
        // New content with backup: the old file is kept beside it.
        let (base, h) = serve("new\n", false);
        let r = run(
            &GetUrl,
            json!({"url": format!("{base}/f"), "dest": dest.to_str().unwrap(), "force": true, "backup": true}),
        )
        .unwrap();
        h.join().unwrap();
        assert_eq!(r["changed"], json!(true));
        let b = r["backup_file"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(b).unwrap(), "body\n");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new\n");
    }

    #[test]
    fn http_errors_and_check_mode() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("f");
        let (base, h) = serve("", false);
        let m = failed(run(
            &GetUrl,
            json!({"url": format!("{base}/missing"), "dest": dest.to_str().unwrap()}),
        ));
        h.join().unwrap();
        assert_eq!(m["msg"], json!("Request failed"));
        assert_eq!(m["status_code"], json!(404));
        assert_eq!(m["response"], json!("HTTP Error 404: Not Found"));
        assert!(!dest.exists());
        let (base, h) = serve("body\n", false);
        let opts = Opts {
            check: true,
            ..Opts::default()
        };
        let r = run_with(
            &GetUrl,
            json!({"url": format!("{base}/f"), "dest": dest.to_str().unwrap()}),
            opts,
        )
        .unwrap();
        let reqs = h.join().unwrap();
        assert!(reqs[0].starts_with("HEAD "), "{reqs:?}");
        assert_eq!(r["changed"], json!(true));
        assert!(!dest.exists());
        assert_eq!(url_filename("http://h/a/b.tgz?x=1"), "b.tgz");
        assert_eq!(url_filename("http://h"), "index.html");
    }
}
