//! OAuth 1.0a request signing (RFC 5849), as requests-oauthlib offers it.
//!
//! See [`OAuth1`].

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};
use url::Url;

use super::{Auth, AuthError, AuthFlow, AuthRequest};

/// How a request is signed (RFC 5849 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignatureMethod {
    /// `HMAC-SHA1` (§3.4.2): the default, as in requests-oauthlib.
    #[default]
    HmacSha1,
    /// `HMAC-SHA256`: the same construction with SHA-256, a widely deployed extension.
    HmacSha256,
    /// `PLAINTEXT` (§3.4.4): the signature is the key itself; use it only over TLS (§4.11).
    Plaintext,
}

impl SignatureMethod {
    /// The `oauth_signature_method` value: `HMAC-SHA1`, `HMAC-SHA256` or `PLAINTEXT`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }
}

/// The driver's clock: seconds since the Unix epoch (`oauth_timestamp`, RFC 5849 §3.3).
type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;
/// The driver's nonce source: a fresh random string per request (`oauth_nonce`, §3.3).
type NonceSource = Arc<dyn Fn() -> String + Send + Sync>;

/// OAuth 1.0a credentials that sign every request (RFC 5849 §3), like requests-oauthlib's
/// `OAuth1`.
///
/// Every request is signed on its own, so the flow is one step: [`AuthFlow::authorize`] builds
/// the signature base string (§3.4.1), signs it (§3.4.2 HMAC-SHA1, the HMAC-SHA256 extension,
/// or §3.4.4 PLAINTEXT) and sets `Authorization: OAuth ...` (§3.5.1); every response is
/// [`AuthStep::Done`](super::AuthStep::Done). The timestamp and nonce come from functions the
/// driver supplies (its clock and its CSPRNG): duet-core reads neither.
///
/// ```text
///   base string = METHOD & encode(base URI) & encode(normalized parameters)
///   key         = encode(consumer secret) & encode(token secret)
///   signature   = base64(HMAC(key, base string))   or the key itself (PLAINTEXT)
/// ```
///
/// The normalized parameters (§3.4.1.3) are the query's, the `oauth_*` protocol parameters
/// (without `oauth_signature` and `realm`) and, when the request's `Content-Type` is
/// `application/x-www-form-urlencoded`, the body's. The flow therefore asks for the request
/// body ([`AuthFlow::needs_request_body`]); other bodies are not signed.
///
/// Built with the client credentials, the driver's clock and nonce source, then optionally the
/// token credentials and other settings. `oauth_version="1.0"` is sent by default, as oauthlib
/// does (the RFC makes it optional, §3.1; [`OAuth1::include_version`] turns it off).
///
/// The example of RFC 5849 §1.2, signed by the flow:
///
/// ```
/// use duet_core::auth::{Auth, AuthRequest, OAuth1, SignatureMethod};
/// let auth = OAuth1::new("dpf43f3p2l4k3l03", "kd94hf93k423kf44", || 137131202, || "chapoH".into())
///     .token("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
///     .signature_method(SignatureMethod::HmacSha1)
///     .realm("Photos")
///     .include_version(false);
/// let url = url::Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original")
///     .unwrap();
/// let mut headers = duet_core::Headers::new();
/// let mut request = AuthRequest {
///     method: &http::Method::GET,
///     url: &url,
///     headers: &mut headers,
///     body: None,
/// };
/// auth.flow(&url).unwrap().authorize(&mut request).unwrap();
/// assert_eq!(
///     headers.get_str("Authorization").unwrap(),
///     "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
///      oauth_token=\"nnch734d00sl2jdk\", oauth_signature_method=\"HMAC-SHA1\", \
///      oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\", \
///      oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\""
/// );
/// ```
#[derive(Clone)]
pub struct OAuth1 {
    consumer_key: String,
    consumer_secret: String,
    token: Option<(String, String)>,
    method: SignatureMethod,
    realm: Option<String>,
    callback: Option<String>,
    verifier: Option<String>,
    include_version: bool,
    clock: Clock,
    nonce: NonceSource,
}

impl OAuth1 {
    /// Client credentials (RFC 5849 §1.1) with the driver's `clock` (Unix seconds) and `nonce`
    /// source (a fresh, unpredictable string per call, from a CSPRNG). Signs with HMAC-SHA1 and
    /// no token until told otherwise.
    pub fn new(
        consumer_key: impl Into<String>,
        consumer_secret: impl Into<String>,
        clock: impl Fn() -> u64 + Send + Sync + 'static,
        nonce: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        OAuth1 {
            consumer_key: consumer_key.into(),
            consumer_secret: consumer_secret.into(),
            token: None,
            method: SignatureMethod::default(),
            realm: None,
            callback: None,
            verifier: None,
            include_version: true,
            clock: Arc::new(clock),
            nonce: Arc::new(nonce),
        }
    }

    /// The token credentials (or temporary credentials): `oauth_token` and the secret that
    /// completes the signing key (§3.4.2).
    pub fn token(mut self, token: impl Into<String>, secret: impl Into<String>) -> Self {
        self.token = Some((token.into(), secret.into()));
        self
    }

    /// The signature method (default HMAC-SHA1).
    pub fn signature_method(mut self, method: SignatureMethod) -> Self {
        self.method = method;
        self
    }

    /// The `realm` put first in the header (§3.5.1); it is not signed.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// `oauth_callback`, sent when asking for temporary credentials (§2.1); `"oob"` when there
    /// is no callback URI.
    pub fn callback(mut self, callback: impl Into<String>) -> Self {
        self.callback = Some(callback.into());
        self
    }

    /// `oauth_verifier`, sent when exchanging temporary credentials for token credentials
    /// (§2.3).
    pub fn verifier(mut self, verifier: impl Into<String>) -> Self {
        self.verifier = Some(verifier.into());
        self
    }

    /// Whether to send `oauth_version="1.0"` (default true, as oauthlib; optional per §3.1).
    pub fn include_version(mut self, include: bool) -> Self {
        self.include_version = include;
        self
    }

    /// The protocol parameters of one request (§3.1), without `oauth_signature`.
    fn protocol_params(&self, timestamp: u64, nonce: &str) -> Vec<(&'static str, String)> {
        let mut params = vec![("oauth_consumer_key", self.consumer_key.clone())];
        if let Some((token, _)) = &self.token {
            params.push(("oauth_token", token.clone()));
        }
        params.push(("oauth_signature_method", self.method.as_str().to_owned()));
        params.push(("oauth_timestamp", timestamp.to_string()));
        params.push(("oauth_nonce", nonce.to_owned()));
        if self.include_version {
            params.push(("oauth_version", "1.0".to_owned()));
        }
        if let Some(callback) = &self.callback {
            params.push(("oauth_callback", callback.clone()));
        }
        if let Some(verifier) = &self.verifier {
            params.push(("oauth_verifier", verifier.clone()));
        }
        params
    }

    /// The `Authorization` value for a request (§3.5.1), signed with this timestamp and nonce.
    fn authorization(
        &self,
        method: &http::Method,
        url: &Url,
        form_body: Option<&[u8]>,
        timestamp: u64,
        nonce: &str,
    ) -> String {
        let mut params = self.protocol_params(timestamp, nonce);
        let base = base_string(method, url, &params, form_body);
        params.push(("oauth_signature", self.sign(&base)));
        let mut value = String::from("OAuth ");
        if let Some(realm) = &self.realm {
            value.push_str("realm=\"");
            value.push_str(&quote_escape(realm));
            value.push_str("\", ");
        }
        let fields: Vec<String> = params
            .iter()
            .map(|(name, v)| format!("{name}=\"{}\"", encode(v.as_bytes())))
            .collect();
        value.push_str(&fields.join(", "));
        value
    }

    /// The signature of a base string (§3.4.2, §3.4.4).
    fn sign(&self, base: &str) -> String {
        let token_secret = self.token.as_ref().map_or("", |(_, s)| s.as_str());
        let key = format!(
            "{}&{}",
            encode(self.consumer_secret.as_bytes()),
            encode(token_secret.as_bytes())
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        match self.method {
            SignatureMethod::HmacSha1 => b64.encode(mac::<Hmac<sha1::Sha1>>(&key, base)),
            SignatureMethod::HmacSha256 => b64.encode(mac::<Hmac<sha2::Sha256>>(&key, base)),
            SignatureMethod::Plaintext => key,
        }
    }
}

/// HMAC of `message` under `key` (RFC 2104), with the hash `M` is built on.
fn mac<M: Mac + KeyInit>(key: &str, message: &str) -> Vec<u8> {
    let mut mac =
        <M as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl fmt::Debug for OAuth1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1")
            .field("consumer_key", &self.consumer_key)
            .field("token", &self.token.as_ref().map(|(token, _)| token))
            .field("method", &self.method)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Auth for OAuth1 {
    fn flow(&self, _url: &Url) -> Option<Box<dyn AuthFlow>> {
        Some(Box::new(OAuth1Flow { auth: self.clone() }))
    }

    /// Form bodies are signed, so the driver must hold the body in memory.
    fn needs_request_body(&self) -> bool {
        true
    }
}

/// Signs one request; every response is final.
#[derive(Debug)]
struct OAuth1Flow {
    auth: OAuth1,
}

impl AuthFlow for OAuth1Flow {
    fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        let form_body = if is_form(request.headers.get("Content-Type")) {
            Some(request.body.ok_or(AuthError::BodyNotReplayable)?)
        } else {
            None
        };
        let timestamp = (self.auth.clock)();
        let nonce = (self.auth.nonce)();
        let value =
            self.auth
                .authorization(request.method, request.url, form_body, timestamp, &nonce);
        request.set_authorization(value)
    }

    fn needs_request_body(&self) -> bool {
        true
    }
}

/// Whether a `Content-Type` is `application/x-www-form-urlencoded` (parameters ignored).
fn is_form(content_type: Option<&[u8]>) -> bool {
    content_type.is_some_and(|value| {
        let essence = value.split(|&b| b == b';').next().unwrap_or_default();
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(crate::FORM_CONTENT_TYPE.as_bytes())
    })
}

/// The signature base string (§3.4.1.1): method, base string URI and normalized parameters,
/// each encoded (§3.6) and joined with `&`.
fn base_string(
    method: &http::Method,
    url: &Url,
    protocol: &[(&'static str, String)],
    form_body: Option<&[u8]>,
) -> String {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut add = |name: &[u8], value: &[u8]| params.push((encode(name), encode(value)));
    for (name, value) in parse_form(url.query().unwrap_or_default().as_bytes()) {
        add(&name, &value);
    }
    for (name, value) in protocol {
        add(name.as_bytes(), value.as_bytes());
    }
    for (name, value) in parse_form(form_body.unwrap_or_default()) {
        add(&name, &value);
    }
    // §3.4.1.3.2: sort by encoded name, then by encoded value, in byte order.
    params.sort();
    let normalized: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
    format!(
        "{}&{}&{}",
        encode(method.as_str().to_ascii_uppercase().as_bytes()),
        encode(base_uri(url).as_bytes()),
        encode(normalized.join("&").as_bytes())
    )
}

/// The base string URI (§3.4.1.2): lowercase scheme and host, the port only when it is not
/// the scheme's default, the path; no userinfo, query or fragment.
fn base_uri(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{host}{port}{}",
        url.scheme().to_ascii_lowercase(),
        url.path()
    )
}

/// Parses `application/x-www-form-urlencoded` bytes into decoded byte pairs (§3.4.1.3.1):
/// `+` is a space, `%XX` a byte, a pair without `=` has an empty value, empty pairs are
/// skipped. Bytes stay bytes, so a non-UTF-8 value is signed as sent.
fn parse_form(input: &[u8]) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            (decode(name), decode(value))
        })
}

fn decode(input: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = input
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

/// What §3.6 encodes: every byte but the unreserved characters (ALPHA, DIGIT, `-`, `.`, `_`,
/// `~`).
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes per §3.6: every byte in [`RESERVED`] becomes `%XX` with uppercase hex.
fn encode(input: &[u8]) -> String {
    percent_encode(input, RESERVED).to_string()
}

/// Escapes `"` and `\` for a quoted-string (the `realm`, RFC 2617 §1.2 via RFC 5849 §3.5.1).
fn quote_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
#[path = "oauth1_tests.rs"]
mod tests;
