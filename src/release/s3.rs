//! A small S3 client for publish: path-style requests signed with AWS Signature V4 by hand
//! (hmac + sha2 over ureq). Works with any S3-compatible endpoint. Credentials come only from
//! AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or from a named profile
//! in the AWS credentials file; they are never written anywhere. Deploys fetch from S3 on the
//! host through presigned URLs, so no credentials reach hosts either.

use super::{ReleaseError, Result};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, SystemTime};

#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "Credentials({}, ***)", self.access_key)
    }
}

impl Credentials {
    /// From a named profile if given, else from the environment.
    pub fn load(profile: Option<&str>) -> Result<Credentials> {
        match profile {
            Some(p) => {
                let path = std::env::var("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|_| {
                    format!(
                        "{}/.aws/credentials",
                        std::env::var("HOME").unwrap_or_default()
                    )
                });
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    ReleaseError::not_found(format!("credentials file {path}: {e}"))
                })?;
                Self::from_profile_text(&text, p).ok_or_else(|| {
                    ReleaseError::not_found(format!("profile [{p}] with aws_access_key_id and aws_secret_access_key not found in {path}"))
                })
            }
            None => {
                let ak = std::env::var("AWS_ACCESS_KEY_ID")
                    .ok()
                    .filter(|s| !s.is_empty());
                let sk = std::env::var("AWS_SECRET_ACCESS_KEY")
                    .ok()
                    .filter(|s| !s.is_empty());
                match (ak, sk) {
                    (Some(a), Some(s)) => Ok(Credentials {
                        access_key: a,
                        secret_key: s,
                        session_token: std::env::var("AWS_SESSION_TOKEN").ok().filter(|s| !s.is_empty()),
                    }),
                    _ => Err(ReleaseError::invalid(
                        "S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or name a profile",
                    )),
                }
            }
        }
    }

    /// Reads one `[profile]` section of an INI credentials file.
    pub fn from_profile_text(text: &str, profile: &str) -> Option<Credentials> {
        let mut in_section = false;
        let (mut ak, mut sk, mut tok) = (None, None, None);
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with('[') && l.ends_with(']') {
                let name = l[1..l.len() - 1].trim();
                in_section = name == profile || name == format!("profile {profile}");
                continue;
            }
            if !in_section {
                continue;
            }
            if let Some((k, v)) = l.split_once('=') {
                let v = v.trim().to_string();
                match k.trim() {
                    "aws_access_key_id" => ak = Some(v),
                    "aws_secret_access_key" => sk = Some(v),
                    "aws_session_token" => tok = Some(v),
                    _ => {}
                }
            }
        }
        Some(Credentials {
            access_key: ak?,
            secret_key: sk?,
            session_token: tok,
        })
    }
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut m = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// URI-encodes per SigV4: unreserved characters stay, the rest is %XX; '/' kept if asked.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `20130524T000000Z` for a time.
pub fn amz_date(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string(); // 2013-05-24T00:00:00Z
    s.replace(['-', ':'], "")
}

/// The signing key and signature of a string to sign.
fn signature(secret: &str, date: &str, region: &str, string_to_sign: &str) -> String {
    let k = hmac(format!("AWS4{secret}").as_bytes(), &date[..8]);
    let k = hmac(&k, region);
    let k = hmac(&k, "s3");
    let k = hmac(&k, "aws4_request");
    hex(&hmac(&k, string_to_sign))
}

/// The parts of a request that SigV4 signs.
#[derive(Clone, Copy, Debug)]
pub struct Canonical<'a> {
    pub method: &'a str,
    /// The URI-encoded path.
    pub uri: &'a str,
    /// The canonical query string (sorted, encoded).
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub payload_sha256: &'a str,
    /// `20130524T000000Z`.
    pub date: &'a str,
}

/// Signs a request: returns the `Authorization` header value. `headers` must include `host`
/// and `x-amz-date` (and `x-amz-content-sha256`); names lowercase. `query` is the canonical
/// query string (sorted, encoded).
pub fn authorization(creds: &Credentials, region: &str, req: &Canonical<'_>) -> String {
    let Canonical {
        method,
        uri: canonical_uri,
        query,
        headers,
        payload_sha256,
        date,
    } = *req;
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    hs.sort();
    let canon_headers: String = hs.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = hs.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let creq =
        format!("{method}\n{canonical_uri}\n{query}\n{canon_headers}\n{signed}\n{payload_sha256}");
    let scope = format!("{}/{region}/s3/aws4_request", &date[..8]);
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        sha256_hex(creq.as_bytes())
    );
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={}",
        creds.access_key,
        signature(&creds.secret_key, date, region, &sts)
    )
}

#[derive(Clone, Debug)]
pub struct S3Client {
    /// `http(s)://host[:port]`, no trailing slash.
    pub endpoint: String,
    pub region: String,
    pub creds: Credentials,
}

pub struct Head {
    pub size: u64,
    /// `x-amz-meta-sha256`, which publish sets on every package.
    pub sha256: Option<String>,
}

impl S3Client {
    pub fn new(endpoint: &str, region: Option<&str>, creds: Credentials) -> Result<S3Client> {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(ReleaseError::invalid(format!(
                "S3 endpoint {endpoint:?} must start with http:// or https://"
            )));
        }
        Ok(S3Client {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.unwrap_or("us-east-1").to_string(),
            creds,
        })
    }

    fn host(&self) -> &str {
        self.endpoint
            .split("://")
            .nth(1)
            .unwrap_or(&self.endpoint)
            .split('/')
            .next()
            .unwrap_or("")
    }

    fn path(bucket: &str, key: &str) -> String {
        format!("/{}/{}", uri_encode(bucket, false), uri_encode(key, true))
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(3600)))
            .build()
            .into()
    }

    fn signed_headers(
        &self,
        method: &str,
        path: &str,
        payload: &str,
        extra: &[(String, String)],
    ) -> Vec<(String, String)> {
        let date = amz_date(SystemTime::now());
        let mut h = vec![
            ("host".to_string(), self.host().to_string()),
            ("x-amz-content-sha256".to_string(), payload.to_string()),
            ("x-amz-date".to_string(), date.clone()),
        ];
        if let Some(t) = &self.creds.session_token {
            h.push(("x-amz-security-token".into(), t.clone()));
        }
        h.extend(extra.iter().cloned());
        let auth = authorization(
            &self.creds,
            &self.region,
            &Canonical {
                method,
                uri: path,
                query: "",
                headers: &h,
                payload_sha256: payload,
                date: &date,
            },
        );
        h.push(("authorization".into(), auth));
        h.retain(|(k, _)| k != "host");
        h
    }

    pub fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>> {
        let path = Self::path(bucket, key);
        let empty = sha256_hex(b"");
        let mut req = Self::agent().head(format!("{}{path}", self.endpoint));
        for (k, v) in self.signed_headers("HEAD", &path, &empty, &[]) {
            req = req.header(k, v);
        }
        let resp = req
            .call()
            .map_err(|e| ReleaseError::io(format!("S3 HEAD {path}: {e}")))?;
        match resp.status().as_u16() {
            200 => {
                let h = resp.headers();
                Ok(Some(Head {
                    size: h
                        .get("content-length")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                    sha256: h
                        .get("x-amz-meta-sha256")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                }))
            }
            404 => Ok(None),
            s => Err(ReleaseError::io(format!("S3 HEAD {path}: HTTP {s}"))),
        }
    }

    /// Reads a small object whole (manifests).
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>> {
        let path = Self::path(bucket, key);
        let empty = sha256_hex(b"");
        let mut req = Self::agent().get(format!("{}{path}", self.endpoint));
        for (k, v) in self.signed_headers("GET", &path, &empty, &[]) {
            req = req.header(k, v);
        }
        let resp = req
            .call()
            .map_err(|e| ReleaseError::io(format!("S3 GET {path}: {e}")))?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Err(ReleaseError::not_found(format!(
                "S3 object s3://{bucket}/{key} not found"
            )));
        }
        if status != 200 {
            return Err(ReleaseError::io(format!("S3 GET {path}: HTTP {status}")));
        }
        resp.into_body()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| ReleaseError::io(format!("S3 GET {path}: {e}")))
    }

    /// Uploads a file whose sha256 is known (it is the payload hash of the signature, so the
    /// server verifies the bytes too).
    pub fn put_file(&self, bucket: &str, key: &str, file: &Path, sha256: &str) -> Result<()> {
        let path = Self::path(bucket, key);
        let f = std::fs::File::open(file)
            .map_err(|e| ReleaseError::io(format!("{}: {e}", file.display())))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let extra = vec![("x-amz-meta-sha256".to_string(), sha256.to_string())];
        let mut req = Self::agent().put(format!("{}{path}", self.endpoint));
        for (k, v) in self.signed_headers("PUT", &path, sha256, &extra) {
            req = req.header(k, v);
        }
        req = req.header("content-length", len.to_string());
        let resp = req
            .send(f)
            .map_err(|e| ReleaseError::io(format!("S3 PUT {path}: {e}")))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = resp.into_body().read_to_string().unwrap_or_default();
            return Err(ReleaseError::io(format!(
                "S3 PUT {path}: HTTP {status} {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        Ok(())
    }

    /// A presigned GET URL (query-string auth), valid for `expires`.
    pub fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
        now: SystemTime,
    ) -> String {
        let path = Self::path(bucket, key);
        let date = amz_date(now);
        let scope = format!("{}/{}/s3/aws4_request", &date[..8], self.region);
        let mut params = vec![
            (
                "X-Amz-Algorithm".to_string(),
                "AWS4-HMAC-SHA256".to_string(),
            ),
            (
                "X-Amz-Credential".to_string(),
                format!("{}/{scope}", self.creds.access_key),
            ),
            ("X-Amz-Date".to_string(), date.clone()),
            ("X-Amz-Expires".to_string(), expires.as_secs().to_string()),
            ("X-Amz-SignedHeaders".to_string(), "host".to_string()),
        ];
        if let Some(t) = &self.creds.session_token {
            params.push(("X-Amz-Security-Token".into(), t.clone()));
        }
        params.sort();
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false)))
            .collect();
        let query = query.join("&");
        let auth = authorization(
            &self.creds,
            &self.region,
            &Canonical {
                method: "GET",
                uri: &path,
                query: &query,
                headers: &[("host".into(), self.host().into())],
                payload_sha256: "UNSIGNED-PAYLOAD",
                date: &date,
            },
        );
        let sig = auth.rsplit("Signature=").next().unwrap_or("");
        format!("{}{path}?{query}&X-Amz-Signature={sig}", self.endpoint)
    }
}

/// Splits `s3://bucket/key`.
pub fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (b, k) = rest.split_once('/')?;
    (!b.is_empty() && !k.is_empty()).then(|| (b.to_string(), k.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_creds() -> Credentials {
        Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    /// AWS's documented SigV4 example "GET Object" (S3 API reference, header auth).
    #[test]
    fn header_signature_matches_the_aws_documented_example() {
        let empty = sha256_hex(b"");
        let h = vec![
            (
                "host".to_string(),
                "examplebucket.s3.amazonaws.com".to_string(),
            ),
            ("range".to_string(), "bytes=0-9".to_string()),
            ("x-amz-content-sha256".to_string(), empty.clone()),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
        ];
        let auth = authorization(
            &example_creds(),
            "us-east-1",
            &Canonical {
                method: "GET",
                uri: "/test.txt",
                query: "",
                headers: &h,
                payload_sha256: &empty,
                date: "20130524T000000Z",
            },
        );
        assert!(
            auth.ends_with(
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
            ),
            "{auth}"
        );
        assert!(auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"));
    }

    /// AWS's documented presigned URL example (query-string auth, 86400 s).
    #[test]
    fn presigned_url_matches_the_aws_documented_example() {
        let c = S3Client::new(
            "https://examplebucket.s3.amazonaws.com",
            None,
            example_creds(),
        )
        .unwrap();
        // Virtual-host style in the example: the path has no bucket, so sign it directly.
        let date = "20130524T000000Z";
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host";
        let auth = authorization(
            &c.creds,
            "us-east-1",
            &Canonical {
                method: "GET",
                uri: "/test.txt",
                query,
                headers: &[("host".into(), "examplebucket.s3.amazonaws.com".into())],
                payload_sha256: "UNSIGNED-PAYLOAD",
                date,
            },
        );
        assert!(
            auth.ends_with(
                "Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            ),
            "{auth}"
        );
        let t = humantime::parse_rfc3339("2013-05-24T00:00:00Z").unwrap();
        let url = c.presign_get("b", "m/1/m-1.tar.gz", Duration::from_secs(86400), t);
        assert!(
            url.starts_with(
                "https://examplebucket.s3.amazonaws.com/b/m/1/m-1.tar.gz?X-Amz-Algorithm="
            ),
            "{url}"
        );
    }

    #[test]
    fn profile_file_parsing() {
        let t = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n[profile ci]\naws_access_key_id=C\naws_secret_access_key=D\n";
        assert_eq!(
            Credentials::from_profile_text(t, "ci").unwrap().access_key,
            "C"
        );
        assert!(Credentials::from_profile_text(t, "nope").is_none());
        assert_eq!(parse_s3_url("s3://b/k/x"), Some(("b".into(), "k/x".into())));
    }
}
