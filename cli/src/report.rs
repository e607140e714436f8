//! `--report`: one JSON object describing the exchange, the same from either client (but for
//! `elapsed_ms`).
//!
//! ```json
//! {"status": 200, "version": "HTTP/1.1", "url": "http://127.0.0.1:8000/",
//!  "headers": [["Content-Type", "text/html"]],
//!  "history": [{"status": 302, "url": "http://127.0.0.1:8000/login", "headers": [...]}],
//!  "body": "<p>Welcome</p>",
//!  "cookies": [{"name": "sessionid", "value": "...", "domain": "127.0.0.1", "path": "/",
//!               "secure": false, "http_only": true, "expires": 1767225600}],
//!  "elapsed_ms": 3, "error": null}
//! ```
//!
//! `body` holds the body when it is UTF-8; otherwise `body_base64` holds it instead. Without
//! a response, or when the body went to a file (`-o`), `body` is `null`. Without a response,
//! `status`, `version` are `null`, `headers` is empty, `url` is where the client was (or the
//! URL asked for), and `history` lists the redirects followed before the failure.

use base64::Engine;
use duet_blocking::{Cookie, Headers, HistoryEntry};
use serde::Serialize;

use crate::failure::{Failure, Kind};
use crate::send::Outcome;

/// The report, fields in the order they are printed.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The final status code.
    pub status: Option<u16>,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: Option<String>,
    /// The final URL.
    pub url: String,
    /// The final response's headers, in order, names as the server wrote them.
    pub headers: Vec<(String, String)>,
    /// The redirects followed, oldest first.
    pub history: Vec<Hop>,
    /// The body, as text or base64.
    #[serde(flatten)]
    pub body: Body,
    /// The cookies in the jar after the exchange.
    pub cookies: Vec<ReportCookie>,
    /// Milliseconds from building the client to the end of the body.
    pub elapsed_ms: u64,
    /// What failed, if anything.
    pub error: Option<ReportError>,
}

/// One redirect.
#[derive(Debug, Serialize)]
pub struct Hop {
    /// Its status.
    pub status: u16,
    /// The URL that answered with it.
    pub url: String,
    /// Its headers.
    pub headers: Vec<(String, String)>,
}

/// The body: `"body"` when it is UTF-8 (or `null`), else `"body_base64"`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Body {
    /// UTF-8 text, or none.
    Text {
        /// The text.
        body: Option<String>,
    },
    /// Anything else.
    Binary {
        /// The bytes, base64 (standard alphabet, padded).
        body_base64: String,
    },
}

/// A cookie, with the fields of the jar file that matter to a reader.
#[derive(Debug, Serialize)]
pub struct ReportCookie {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// The host (host-only cookie) or domain it belongs to.
    pub domain: String,
    /// Its path.
    pub path: String,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
    /// When it expires, in Unix seconds; `null` for a session cookie.
    pub expires: Option<u64>,
}

/// `error`: the kind and a one-line message.
#[derive(Debug, Serialize)]
pub struct ReportError {
    /// The kind (see [`Kind`]).
    pub kind: Kind,
    /// What happened.
    pub message: String,
}

impl Report {
    /// The report of `outcome`, for a request to `requested`.
    pub fn new(outcome: &Outcome, requested: &str) -> Report {
        let response = outcome.response.as_ref();
        let failure = outcome.error.as_ref();
        let history = match response {
            Some(info) => info.history(),
            None => failure.map_or(&[][..], |f| &f.history[..]),
        };
        let url = match (response, failure.and_then(|f| f.url.as_ref())) {
            (Some(info), _) => info.url().to_string(),
            (None, Some(url)) => url.to_string(),
            (None, None) => requested.to_owned(),
        };
        Report {
            status: response.map(|info| info.status().as_u16()),
            version: response.map(|info| format!("{:?}", info.version())),
            url,
            headers: response.map_or_else(Vec::new, |info| pairs(info.headers())),
            history: history.iter().map(Hop::from).collect(),
            body: Body::of(outcome.body.as_deref()),
            cookies: outcome.cookies.iter().map(ReportCookie::from).collect(),
            elapsed_ms: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
            error: failure.map(ReportError::from),
        }
    }

    /// The report as JSON: one field per line, each value on its line (so a long header
    /// list stays readable, and `grep '"status"'` works).
    pub fn to_json(&self) -> String {
        fn compact(value: &impl Serialize) -> String {
            serde_json::to_string(value).expect("a report always serializes")
        }
        let body = match &self.body {
            Body::Text { body } => ("body", compact(body)),
            Body::Binary { body_base64 } => ("body_base64", compact(body_base64)),
        };
        let fields = [
            ("status", compact(&self.status)),
            ("version", compact(&self.version)),
            ("url", compact(&self.url)),
            ("headers", compact(&self.headers)),
            ("history", compact(&self.history)),
            body,
            ("cookies", compact(&self.cookies)),
            ("elapsed_ms", compact(&self.elapsed_ms)),
            ("error", compact(&self.error)),
        ];
        let lines: Vec<String> = fields
            .iter()
            .map(|(name, value)| format!("  \"{name}\": {value}"))
            .collect();
        format!("{{\n{}\n}}", lines.join(",\n"))
    }
}

impl Body {
    fn of(bytes: Option<&[u8]>) -> Body {
        match bytes.map(|b| std::str::from_utf8(b).map_err(|_| b)) {
            None => Body::Text { body: None },
            Some(Ok(text)) => Body::Text {
                body: Some(text.to_owned()),
            },
            Some(Err(bytes)) => Body::Binary {
                body_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        }
    }
}

fn pairs(headers: &Headers) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_owned(), String::from_utf8_lossy(value).into_owned()))
        .collect()
}

impl From<&HistoryEntry> for Hop {
    fn from(entry: &HistoryEntry) -> Self {
        Hop {
            status: entry.status.as_u16(),
            url: entry.url.to_string(),
            headers: pairs(&entry.headers),
        }
    }
}

impl From<&Cookie> for ReportCookie {
    fn from(cookie: &Cookie) -> Self {
        ReportCookie {
            name: cookie.name.clone(),
            value: cookie.value.clone(),
            domain: cookie.domain.clone(),
            path: cookie.path.clone(),
            secure: cookie.secure,
            http_only: cookie.http_only,
            expires: cookie.expires.map(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
        }
    }
}

impl From<&Failure> for ReportError {
    fn from(failure: &Failure) -> Self {
        ReportError {
            kind: failure.kind,
            message: failure.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_failure_before_any_response() {
        let outcome = Outcome::failed(Failure::new(Kind::Body, "nope"), Instant::now());
        let json = serde_json::to_value(Report::new(&outcome, "http://h/")).unwrap();
        let printed: serde_json::Value =
            serde_json::from_str(&Report::new(&outcome, "http://h/").to_json()).unwrap();
        assert_eq!(printed, json);
        assert_eq!(
            json,
            serde_json::json!({
                "status": null, "version": null, "url": "http://h/", "headers": [],
                "history": [], "body": null, "cookies": [], "elapsed_ms": 0,
                "error": {"kind": "body", "message": "nope"}
            })
        );
    }

    #[test]
    fn bodies_are_text_or_base64() {
        let mut outcome = Outcome::failed(Failure::new(Kind::Io, "x"), Instant::now());
        outcome.error = None;
        outcome.elapsed = Duration::from_millis(7);
        outcome.body = Some(vec![0xff, 0x00]);
        let json = serde_json::to_value(Report::new(&outcome, "http://h/")).unwrap();
        assert_eq!(json["body_base64"], "/wA=");
        assert!(json.get("body").is_none());
        assert_eq!(
            (json["elapsed_ms"].clone(), json["error"].clone()),
            (7.into(), serde_json::Value::Null)
        );
        let printed = Report::new(&outcome, "http://h/").to_json();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&printed).unwrap(),
            json
        );
        assert!(
            printed.contains("\n  \"body_base64\": \"/wA=\",\n"),
            "{printed}"
        );
        outcome.body = Some("héllo".as_bytes().to_vec());
        let json = serde_json::to_value(Report::new(&outcome, "http://h/")).unwrap();
        assert_eq!(json["body"], "héllo");
        assert!(json.get("body_base64").is_none());
    }
}
