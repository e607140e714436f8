//! The demo site: duet-tests' [`HueServer`] (a Django/Hue login with CSRF and a small JSON
//! API) and an echo server, both on 127.0.0.1 with ports the system picks.
//!
//! The echo server's endpoints:
//!
//! | path | answer |
//! |---|---|
//! | `/echo` | JSON: the method, path, query, headers and body it got (a urlencoded form, multipart parts and JSON bodies decoded) |
//! | `/redirect/N` | `302` to `/redirect/N-1`; `/redirect/1` goes to `/echo` |
//! | `/gzip` | a JSON document, `Content-Encoding: gzip` |
//! | `/basic` | `200` for Basic `ada:lovelace`, else `401` |
//! | `/digest` | `200` for Digest `ada:lovelace` (MD5, `qop=auth`, RFC 7616), else a `401` challenge |
//! | `/slow` | `200` after 2 seconds |
//! | `/status/N` | status `N` |
//! | `/bytes/N` | `N` bytes `0, 1, 2, ... 255, 0, ...` (`application/octet-stream`) |
//! | `/cookies/set?NAME=VALUE` | sets the cookie (`Path=/`) and echoes |

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use duet_tests::hue::HueServer;
use duet_tests::server::{Reply, Request, Server};
use md5::{Digest, Md5};
use serde_json::{Value, json};

/// The user the echo server's auth endpoints accept.
pub const USER: &str = "ada";
/// [`USER`]'s password.
pub const PASSWORD: &str = "lovelace";
/// The Digest realm of `/digest`.
pub const REALM: &str = "duet demo";
/// How long `/slow` waits.
pub const SLOW: Duration = Duration::from_secs(2);

/// The running demo site; stops when dropped.
pub struct Site {
    hue: HueServer,
    echo: Server,
}

impl Site {
    /// Starts both servers on 127.0.0.1.
    pub fn start() -> Site {
        let nonces = AtomicU64::new(0);
        Site {
            hue: HueServer::start(),
            echo: Server::http(move |request| answer(request, &nonces)),
        }
    }

    /// The URL of `path` on the Hue-like server.
    pub fn hue(&self, path: &str) -> String {
        self.hue.url(path)
    }

    /// The URL of `path` on the echo server.
    pub fn echo(&self, path: &str) -> String {
        self.echo.url(path)
    }

    /// The Hue-like server (its requests, sessions, logins).
    pub fn hue_server(&self) -> &HueServer {
        &self.hue
    }

    /// The echo server (its requests).
    pub fn echo_server(&self) -> &Server {
        &self.echo
    }
}

fn answer(request: &Request, nonces: &AtomicU64) -> Reply {
    let path = request.path();
    let number = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|n| n.parse::<u64>().ok())
    };
    if let Some(n) = number("/redirect/") {
        let to = if n <= 1 {
            "/echo".to_owned()
        } else {
            format!("/redirect/{}", n - 1)
        };
        return Reply::redirect(302, &to);
    }
    if let Some(status) = number("/status/").and_then(|n| u16::try_from(n).ok()) {
        return Reply::new(status).json(&json!({"status": status}));
    }
    if let Some(n) = number("/bytes/") {
        let bytes: Vec<u8> = (0..n.min(64 << 20)).map(|i| i as u8).collect();
        return Reply::ok(bytes).header("Content-Type", "application/octet-stream");
    }
    match path {
        "/echo" => Reply::new(200).json(&echo(request)),
        "/gzip" => {
            let document = json!({"gzipped": true, "message": "decoded by duet", "numbers": (1..=50).collect::<Vec<_>>()});
            Reply::ok(duet_tests::codec::gzip(document.to_string().as_bytes()))
                .header("Content-Type", "application/json")
                .header("Content-Encoding", "gzip")
        }
        "/basic" => match request.header_str("authorization") {
            Some(value) if value == basic_credentials() => Reply::ok(format!("hello {USER}")),
            _ => Reply::new(401)
                .header("WWW-Authenticate", format!("Basic realm=\"{REALM}\""))
                .body("who are you?"),
        },
        "/digest" => digest(request, nonces),
        "/slow" => Reply::ok("finally").delay(SLOW),
        "/cookies/set" => {
            let mut reply = Reply::new(200).json(&echo(request));
            for (name, value) in query(request) {
                reply = reply.header("Set-Cookie", format!("{name}={value}; Path=/"));
            }
            reply
        }
        _ => Reply::new(404).json(&json!({"error": "not found", "path": path})),
    }
}

/// What `/echo` answers: the request as the server read it.
fn echo(request: &Request) -> Value {
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    let content_type = request.header_str("content-type").unwrap_or("").to_owned();
    let mut out = json!({
        "method": request.method,
        "path": request.path(),
        "query": query(request),
        "headers": headers,
        "body": request.body_str(),
    });
    if content_type.starts_with("application/x-www-form-urlencoded") {
        out["form"] = json!(pairs(&request.body_str()));
    } else if content_type.starts_with("application/json") {
        out["json"] = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    } else if let Some(boundary) = content_type.split("boundary=").nth(1) {
        out["parts"] = json!(parts(&request.body, boundary.trim_matches('"')));
        out["body"] = json!(format!("({} bytes of multipart)", request.body.len()));
    }
    out
}

fn query(request: &Request) -> Vec<(String, String)> {
    pairs(request.query().unwrap_or(""))
}

fn pairs(encoded: &str) -> Vec<(String, String)> {
    let mut url = duet_blocking::Url::parse("http://form.invalid/").expect("a valid URL");
    url.set_query(Some(encoded));
    url.query_pairs().into_owned().collect()
}

/// The parts of a `multipart/form-data` body (RFC 7578): name, file name, content type,
/// size, and the content when it is short UTF-8 text.
fn parts(body: &[u8], boundary: &str) -> Vec<Value> {
    let delimiter = format!("\r\n--{boundary}");
    // With a CRLF in front, the first delimiter looks like the others.
    let mut rest = [&b"\r\n"[..], body].concat();
    let mut sections = Vec::new();
    while let Some(at) = find(&rest, delimiter.as_bytes()) {
        sections.push(rest[..at].to_vec());
        rest.drain(..at + delimiter.len());
    }
    let mut found = Vec::new();
    // Each section after a delimiter starts with CRLF; the one after the last, with `--`.
    for section in sections.iter().skip(1) {
        let Some(section) = section.strip_prefix(b"\r\n") else {
            continue;
        };
        let Some(blank) = find(section, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&section[..blank]);
        let content = &section[blank + 4..];
        let param = |key: &str| {
            let marker = format!("{key}=\"");
            let start = head.find(&marker)? + marker.len();
            head[start..].split('"').next().map(str::to_owned)
        };
        let content_type = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        });
        let mut part = json!({
            "name": param(" name"),
            "filename": param("filename"),
            "content_type": content_type,
            "size": content.len(),
        });
        match std::str::from_utf8(content) {
            Ok(text) if text.len() <= 64 => part["text"] = json!(text),
            _ => {}
        }
        found.push(part);
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn basic_credentials() -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    format!("Basic {token}")
}

/// `/digest`: RFC 7616 with MD5 and `qop=auth`, checked here; a fresh nonce per challenge.
fn digest(request: &Request, nonces: &AtomicU64) -> Reply {
    let challenge = || {
        let nonce = format!("{:016x}", nonces.fetch_add(1, Ordering::Relaxed) + 0x5eed);
        Reply::new(401)
            .header(
                "WWW-Authenticate",
                format!("Digest realm=\"{REALM}\", qop=\"auth\", algorithm=MD5, nonce=\"{nonce}\", opaque=\"demo\""),
            )
            .body("a Digest challenge")
    };
    let Some(header) = request.header_str("authorization") else {
        return challenge();
    };
    let params = digest_params(header);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    };
    let ha1 = hex_md5(&format!("{}:{REALM}:{PASSWORD}", get("username")));
    let ha2 = hex_md5(&format!("{}:{}", request.method, get("uri")));
    let expected = hex_md5(&format!(
        "{ha1}:{}:{}:{}:{}:{ha2}",
        get("nonce"),
        get("nc"),
        get("cnonce"),
        get("qop")
    ));
    let valid = get("username") == USER
        && get("response") == expected
        && get("uri") == request.target
        && get("opaque") == "demo";
    if valid {
        Reply::ok(format!("hello {USER}, your Digest response checks out"))
    } else {
        challenge()
    }
}

/// The `name="value"` / `name=value` parameters of a Digest `Authorization` header.
fn digest_params(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header.trim_start_matches("Digest").trim();
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = &rest[eq + 1..];
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (&quoted[..end], &quoted[(end + 1).min(quoted.len())..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim(), &after[end..])
            }
        };
        out.push((name, value.to_owned()));
        rest = next.trim_start_matches(',').trim();
    }
    out
}

fn hex_md5(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_parameters() {
        let params = digest_params(
            "Digest username=\"ada\", realm=\"duet demo\", nc=00000001, qop=auth, uri=\"/d?a=1,2\"",
        );
        let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(
            (get("username"), get("nc"), get("qop"), get("uri")),
            (
                "ada".into(),
                "00000001".into(),
                "auth".into(),
                "/d?a=1,2".into()
            )
        );
        assert_eq!(hex_md5(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn multipart_parts() {
        let body = b"--XY\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nholiday\r\n\
            --XY\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"b.png\"\r\n\
            Content-Type: image/png\r\n\r\n\x89PNG\r\n--XY--\r\n";
        let found = parts(body, "XY");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0]["name"], "title");
        assert_eq!(found[0]["text"], "holiday");
        assert_eq!(found[1]["filename"], "b.png");
        assert_eq!(found[1]["content_type"], "image/png");
        assert_eq!(found[1]["size"], 4);
        assert!(found[1].get("text").is_none());
    }
}
