//! Digest flows end to end against a reference server written here: it issues challenges
//! and recomputes every answer from RFC 7616 §3.4 with the hash crates directly.
//! `rounds.rs`: the RFC example, every algorithm, nonce counts, retries and the choice of
//! challenge. `edges.rs`: bodies, usernames, hostile input, `Authentication-Info`, limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Method, StatusCode};
use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};
use url::Url;

use super::challenge::parse_challenges;
use super::{CnonceSource, DigestAuth, MAX_SPACES};
use crate::auth::{Auth, AuthError, AuthFlow, AuthRequest, AuthResponse, AuthStep};
use crate::headers::Headers;

/// cnonces "c1", "c2", … and how many were drawn.
fn counting() -> (CnonceSource, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let drawn = Arc::clone(&n);
    let source = move || format!("c{}", n.fetch_add(1, Ordering::SeqCst) + 1);
    (CnonceSource::from_text(source), drawn)
}

fn auth(user: &str, password: &str) -> DigestAuth {
    DigestAuth::new(user, password, counting().0)
}

fn fields(name: &str, values: &[&str]) -> Headers {
    let mut headers = Headers::new();
    for value in values {
        headers.append(name, value).unwrap();
    }
    headers
}

/// One request as a flow sees it.
struct Req {
    method: Method,
    url: Url,
    headers: Headers,
    body: Option<Vec<u8>>,
}

impl Req {
    fn new(method: Method, url: &str, body: Option<&[u8]>) -> Self {
        let (url, headers) = (Url::parse(url).unwrap(), Headers::new());
        Req {
            method,
            url,
            headers,
            body: body.map(<[u8]>::to_vec),
        }
    }

    fn get(url: &str) -> Self {
        Req::new(Method::GET, url, None)
    }

    fn parts(&mut self) -> AuthRequest<'_> {
        AuthRequest {
            method: &self.method,
            url: &self.url,
            headers: &mut self.headers,
            body: self.body.as_deref(),
        }
    }

    fn authorize(&mut self, flow: &mut dyn AuthFlow) -> Result<(), AuthError> {
        flow.authorize(&mut self.parts())
    }

    fn respond(
        &mut self,
        flow: &mut dyn AuthFlow,
        status: u16,
        headers: &Headers,
    ) -> Result<AuthStep, AuthError> {
        let status = StatusCode::from_u16(status).unwrap();
        let response = AuthResponse {
            status,
            headers,
            body: None,
        };
        flow.respond(&mut self.parts(), &response)
    }

    /// The `Authorization` field sent, parsed back: (lowercase name, value).
    fn sent(&self) -> Option<Vec<(String, String)>> {
        let value = self.headers.get("Authorization")?;
        let mut credentials = parse_challenges(value).unwrap();
        assert_eq!(credentials.len(), 1);
        let credentials = credentials.remove(0);
        assert_eq!(credentials.scheme, b"Digest");
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        Some(
            credentials
                .params
                .iter()
                .map(|(n, v)| (text(n).to_lowercase(), text(v)))
                .collect(),
        )
    }

    fn sent_param(&self, name: &str) -> Option<String> {
        let sent = self.sent()?;
        sent.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

fn reference_hash(algorithm: &str, data: &[u8]) -> String {
    match algorithm.trim_end_matches("-sess") {
        "MD5" => format!("{:x}", Md5::digest(data)),
        "SHA-256" => format!("{:x}", Sha256::digest(data)),
        "SHA-512-256" => format!("{:x}", Sha512_256::digest(data)),
        "SHA" => format!("{:x}", sha1::Sha1::digest(data)),
        "SHA-512" => format!("{:x}", sha2::Sha512::digest(data)),
        other => panic!("no reference for {other}"),
    }
}

/// The server side, written from RFC 7616 §3.3–§3.4 independently of the client code.
struct Server {
    realm: String,
    nonce: String,
    algorithm: &'static str,
    qop: Option<&'static str>,
    opaque: Option<&'static str>,
    userhash: bool,
    stale: bool,
    user: String,
    password: String,
}

impl Server {
    fn new(algorithm: &'static str, qop: Option<&'static str>) -> Self {
        Server {
            realm: "users@example.org".into(),
            nonce: "nonce-1".into(),
            algorithm,
            qop,
            opaque: Some("op/aque"),
            userhash: false,
            stale: false,
            user: "Mufasa".into(),
            password: "Circle of Life".into(),
        }
    }

    fn challenge(&self) -> String {
        let mut c = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}",
            self.realm.replace('\\', "\\\\").replace('"', "\\\""),
            self.nonce,
            self.algorithm
        );
        if let Some(qop) = self.qop {
            c += &format!(", qop=\"{qop}\"");
        }
        if let Some(opaque) = self.opaque {
            c += &format!(", opaque=\"{opaque}\"");
        }
        if self.userhash {
            c += ", charset=UTF-8, userhash=true";
        }
        if self.stale {
            c += ", stale=true";
        }
        c
    }

    fn unauthorized(&self) -> Headers {
        fields("WWW-Authenticate", &[&self.challenge()])
    }

    /// Checks the request's `Authorization`; returns its nonce count.
    fn verify(&self, req: &Req) -> Result<u32, String> {
        let sent = req.sent().ok_or("no Authorization")?;
        let get = |name: &str| {
            sent.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let h = |data: &[u8]| reference_hash(self.algorithm, data);
        let expected_user = match (self.userhash, get("username*")) {
            (true, _) => h(format!("{}:{}", self.user, self.realm).as_bytes()),
            (false, Some(ext)) => decode_ext_value(ext),
            (false, None) => self.user.clone(),
        };
        let user = get("username").or(get("username*").map(|_| expected_user.as_str()));
        let form = match req.method == Method::CONNECT {
            true => crate::request::TargetForm::Authority,
            false => crate::request::TargetForm::Origin,
        };
        let uri = crate::request::target_for(&req.url, form);
        let checks = [
            ("username", user, Some(expected_user.as_str())),
            ("realm", get("realm"), Some(self.realm.as_str())),
            ("nonce", get("nonce"), Some(self.nonce.as_str())),
            ("uri", get("uri"), Some(uri.as_str())),
            ("algorithm", get("algorithm"), Some(self.algorithm)),
            ("opaque", get("opaque"), self.opaque),
            ("userhash", get("userhash"), self.userhash.then_some("true")),
        ];
        for (name, got, want) in checks {
            if got != want {
                return Err(format!("{name}: got {got:?}, want {want:?}"));
            }
        }
        let (nc, cnonce, qop) = (
            get("nc").unwrap_or(""),
            get("cnonce").unwrap_or(""),
            get("qop"),
        );
        if let Some(qop) = qop {
            let offered = self.qop.unwrap_or("");
            if !offered.split(',').any(|q| q.trim() == qop) {
                return Err(format!("qop {qop} not offered"));
            }
        }
        let mut ha1 = h(format!("{}:{}:{}", self.user, self.realm, self.password).as_bytes());
        if self.algorithm.ends_with("-sess") {
            ha1 = h(format!("{ha1}:{}:{cnonce}", self.nonce).as_bytes());
        }
        let a2 = match qop {
            Some("auth-int") => {
                let body = req.body.as_deref().ok_or("auth-int without a body")?;
                format!("{}:{uri}:{}", req.method, h(body))
            }
            _ => format!("{}:{uri}", req.method),
        };
        let ha2 = h(a2.as_bytes());
        let expected = match qop {
            Some(qop) => h(format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", self.nonce).as_bytes()),
            None => h(format!("{ha1}:{}:{ha2}", self.nonce).as_bytes()),
        };
        if get("response") != Some(expected.as_str()) {
            return Err("wrong response".into());
        }
        match qop {
            Some(_) if nc.len() == 8 => u32::from_str_radix(nc, 16).map_err(|e| e.to_string()),
            Some(_) => Err(format!("nc {nc:?} is not 8 hex digits")),
            None => Ok(0),
        }
    }
}

/// RFC 8187 `UTF-8''…` back to text.
fn decode_ext_value(ext: &str) -> String {
    let encoded = ext.strip_prefix("UTF-8''").expect("UTF-8 ext-value");
    let (mut bytes, mut rest) = (Vec::new(), encoded.as_bytes());
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            bytes.push(u8::from_str_radix(std::str::from_utf8(&tail[..2]).unwrap(), 16).unwrap());
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// Runs one request against `server`: authorize, then one 401 if nothing was sent.
fn exchange(auth: &DigestAuth, server: &Server, req: &mut Req) -> Result<u32, String> {
    let mut flow = auth.flow(&req.url).unwrap();
    req.authorize(flow.as_mut()).unwrap();
    if req.sent().is_none() {
        let step = req
            .respond(flow.as_mut(), 401, &server.unauthorized())
            .unwrap();
        assert_eq!(step, AuthStep::Retry);
    }
    let nc = server.verify(req)?;
    assert_eq!(
        req.respond(flow.as_mut(), 200, &Headers::new()),
        Ok(AuthStep::Done)
    );
    Ok(nc)
}

mod edges;
mod parse;
mod rounds;
