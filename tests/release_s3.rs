//! publish to a real S3-compatible server (moto_server, from the `moto` PyPI package, with
//! signature checking on: INITIAL_NO_AUTH_ACTION_COUNT lets only the setup calls through),
//! then deploy from the s3:// URL through a presigned URL fetched with curl on the "host".

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-release");

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// IAM setup calls, unsigned (they fall within the no-auth allowance). The fake
/// Authorization header only routes them to IAM.
fn iam(endpoint: &str, form: &[(&str, &str)]) -> String {
    let mut c = Command::new("curl");
    c.args(["-fsS", "-X", "POST", endpoint, "-H", "Authorization: AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"]);
    for (k, v) in form {
        c.args(["--data-urlencode", &format!("{k}={v}")]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let i = s.find(a).unwrap() + a.len();
    &s[i..i + s[i..].find(b).unwrap()]
}

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(dir)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

/// The Python that has moto: `.ci/run` installs it into a venv of its own and names it in
/// `YIQIU_TEST_PYTHON` (never the system Python).
fn python() -> String {
    std::env::var("YIQIU_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Starts moto_server; `no_auth_calls`: how many requests pass unsigned before signatures
/// are checked (None: never checked).
fn start(no_auth_calls: Option<u32>) -> Option<(Server, String)> {
    // A missing server is a failure, not a skip: `.ci/run` installs it.
    let installed = Command::new(python())
        .args(["-m", "moto.server", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "the S3 tests need a real S3 server (moto): run .ci/run, or make a venv with \
         `pip install 'moto[server]'` and set YIQIU_TEST_PYTHON to its python"
    );
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(python());
    cmd.args(["-m", "moto.server", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(n) = no_auth_calls {
        cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
    }
    let server = Server(cmd.spawn().unwrap());
    let t0 = std::time::Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed().as_secs() < 60, "moto_server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Some((server, endpoint))
}

fn project(p: &Path, models: &str) {
    std::fs::create_dir_all(p.join("models/bert")).unwrap();
    std::fs::write(p.join("models/bert/config.json"), models).unwrap();
    std::fs::write(
        p.join(".yiqiu-release.yaml"),
        format!(
            "components:\n  model: {{source: ./models}}\npublish:\n  targets:\n    - {{name: local, type: filesystem, path: '{}/store'}}\n    - {{name: prod, type: s3, endpoint: '${{TEST_S3_ENDPOINT}}', bucket: releases, prefix: ml}}\ndeploy:\n  root: {}/root\n",
            p.display(),
            p.display()
        ),
    )
    .unwrap();
}

/// Signatures checked by the server: publish with real SigV4 header auth.
#[test]
fn publish_to_s3_and_filesystem_with_signatures_checked() {
    let Some((_server, endpoint)) = start(Some(4)) else {
        return;
    };
    iam(
        &endpoint,
        &[
            ("Action", "CreateUser"),
            ("Version", "2010-05-08"),
            ("UserName", "rel"),
        ],
    );
    let keys = iam(
        &endpoint,
        &[
            ("Action", "CreateAccessKey"),
            ("Version", "2010-05-08"),
            ("UserName", "rel"),
        ],
    );
    let ak = between(&keys, "<AccessKeyId>", "<").to_string();
    let sk = between(&keys, "<SecretAccessKey>", "<").to_string();
    iam(
        &endpoint,
        &[
            ("Action", "PutUserPolicy"),
            ("Version", "2010-05-08"),
            ("UserName", "rel"),
            ("PolicyName", "all"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            ),
        ],
    );
    let out = Command::new("curl")
        .args(["-fsS", "-X", "PUT", &format!("{endpoint}/releases")])
        .output()
        .unwrap();
    assert!(out.status.success());

    let t = tempfile::tempdir().unwrap();
    let p = t.path();
    project(p, "v1");
    let env = [
        ("AWS_ACCESS_KEY_ID", ak.as_str()),
        ("AWS_SECRET_ACCESS_KEY", sk.as_str()),
        ("TEST_S3_ENDPOINT", endpoint.as_str()),
    ];
    let out = run(p, &env, &["pack", "--type", "model", "--version", "1.0.0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = "dist/model-1.0.0.manifest.json";

    // Wrong secret: the server checks the signature and refuses.
    let bad = [
        ("AWS_ACCESS_KEY_ID", ak.as_str()),
        ("AWS_SECRET_ACCESS_KEY", "wrong"),
        ("TEST_S3_ENDPOINT", endpoint.as_str()),
    ];
    let out = run(p, &bad, &["publish", manifest, "--target", "prod"]);
    assert!(!out.status.success(), "a wrong secret was accepted");

    let out = run(p, &env, &["--json", "publish", manifest]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["changed"], true);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("dist/model-1.0.0.publish.json")).unwrap())
            .unwrap();
    assert_eq!(
        record["component"],
        serde_json::json!({"type": "model", "version": "1.0.0"})
    );
    let locs = record["locations"].as_array().unwrap();
    assert_eq!(locs[0]["name"], "local");
    assert_eq!(
        locs[0]["path"],
        format!("{}/store/model/1.0.0/", p.display())
    );
    assert_eq!(
        locs[1],
        serde_json::json!({"name": "prod", "type": "s3", "endpoint": endpoint, "bucket": "releases", "object_key": "ml/model/1.0.0/model-1.0.0.tar.gz"})
    );
    assert!(record["published_at"].as_str().unwrap().ends_with('Z'));
    let text = std::fs::read_to_string(p.join("dist/model-1.0.0.publish.json")).unwrap();
    assert!(
        !text.contains(&sk) && !text.contains(&ak),
        "credentials leaked into the record"
    );
    assert!(p.join("store/model/1.0.0/model-1.0.0.tar.gz").is_file());

    // The object is really there, with the checksum.
    let creds = yiqiu_play::release::s3::Credentials {
        access_key: ak.clone(),
        secret_key: sk.clone(),
        session_token: None,
    };
    let client = yiqiu_play::release::s3::S3Client::new(&endpoint, None, creds).unwrap();
    let m = yiqiu_play::release::manifest::Manifest::load(&p.join(manifest)).unwrap();
    let head = client
        .head("releases", "ml/model/1.0.0/model-1.0.0.tar.gz")
        .unwrap()
        .unwrap();
    assert_eq!(
        head.sha256.as_deref(),
        Some(m.package.checksum.value.as_str())
    );
    assert_eq!(head.size, m.package.size);

    // Identical re-publish: unchanged.
    let out = run(p, &env, &["--json", "publish", manifest]);
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["changed"], false, "{rep}");

    // Different bytes under the same version: refused, then forced.
    std::fs::write(p.join("models/bert/config.json"), "v1-changed").unwrap();
    assert!(
        run(p, &env, &["pack", "--type", "model", "--version", "1.0.0"])
            .status
            .success()
    );
    let out = run(p, &env, &["publish", manifest]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(p, &env, &["publish", manifest, "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// moto checks only header signatures: a presigned URL makes its checker fail (it reads the
/// Authorization header), so the presigned fetch runs against a server without checks. The
/// presigned signature itself is checked against AWS's documented example in s3.rs.
#[test]
fn deploy_from_an_s3_url_via_a_presigned_url() {
    let Some((_server, endpoint)) = start(None) else {
        return;
    };
    let out = Command::new("curl")
        .args(["-fsS", "-X", "PUT", &format!("{endpoint}/releases")])
        .output()
        .unwrap();
    assert!(out.status.success());
    let t = tempfile::tempdir().unwrap();
    let p = t.path();
    project(p, "from-s3");
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("TEST_S3_ENDPOINT", endpoint.as_str()),
    ];
    assert!(
        run(p, &env, &["pack", "--type", "model", "--version", "1.0.0"])
            .status
            .success()
    );
    let out = run(
        p,
        &env,
        &[
            "publish",
            "dist/model-1.0.0.manifest.json",
            "--target",
            "prod",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(p.join("dist")).unwrap();
    // Deploy from S3: manifest read on the controller, package fetched by curl via a presigned URL.
    let out = run(
        p,
        &env,
        &[
            "--json",
            "deploy",
            "--type",
            "model",
            "--version",
            "1.0.0",
            "--from",
            "s3://releases/ml/model/1.0.0/model-1.0.0.manifest.json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        rep["source"].as_str().unwrap().starts_with(&format!(
            "{endpoint}/releases/ml/model/1.0.0/model-1.0.0.tar.gz"
        )),
        "{rep}"
    );
    assert!(
        !rep.to_string().contains("X-Amz-Signature"),
        "signature leaked into the report"
    );
    assert_eq!(
        std::fs::read_to_string(p.join("root/links/model/bert/config.json")).unwrap(),
        "from-s3"
    );
    // By publish target name: the key comes from the target's prefix and the layout.
    std::fs::write(p.join("models/bert/config.json"), "second").unwrap();
    assert!(
        run(p, &env, &["pack", "--type", "model", "--version", "1.0.1"])
            .status
            .success()
    );
    let out = run(
        p,
        &env,
        &[
            "publish",
            "dist/model-1.0.1.manifest.json",
            "--target",
            "prod",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        p,
        &env,
        &[
            "deploy",
            "--type",
            "model",
            "--version",
            "1.0.1",
            "--from",
            "prod",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(p.join("root/links/model/bert/config.json")).unwrap(),
        "second"
    );
}
