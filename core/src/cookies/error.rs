//! Why a cookie was refused, and why a cookie file could not be loaded.
//!
//! ```text
//! CookieRejected        one Set-Cookie value (or an inserted Cookie) was ignored; the jar is
//!                       unchanged. Browsers ignore such cookies silently, and so does
//!                       CookieJar::store_response; CookieJar::store returns the reason.
//! CookieFileError       a saved jar could not be read; nothing was loaded
//! ├── Json              not JSON, or not an array of cookie objects
//! ├── InvalidCookie     a JSON cookie object broke a rule (its index and the rule)
//! └── Netscape          a cookies.txt line is malformed (its line number and why)
//! ```

/// Why a `Set-Cookie` value, or a [`Cookie`](super::Cookie) given to the jar, was refused.
/// The step numbers are those of RFC 6265bis §5.7 (the storage model).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieRejected {
    /// A control byte other than HTAB (§5.6 step 1, §5.7 step 3).
    #[error("the cookie contains control byte 0x{byte:02x}")]
    ControlCharacter {
        /// The first such byte.
        byte: u8,
    },
    /// The `Set-Cookie` value is not UTF-8 (duet keeps cookies as strings).
    #[error("the Set-Cookie value is not UTF-8")]
    NotUtf8,
    /// Both the name and the value are empty (§5.6, §5.7 step 2).
    #[error("the cookie has neither a name nor a value")]
    Empty,
    /// Name and value together are longer than
    /// [`MAX_NAME_VALUE_BYTES`](super::MAX_NAME_VALUE_BYTES) (§5.7 step 4).
    #[error("the cookie's name and value are {size} bytes together, more than {limit}")]
    TooLarge {
        /// Bytes of name and value together.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The request URL has no host (a `data:` or `file:` URL), so nothing can be stored for it.
    #[error("the URL {url} has no host to store cookies for")]
    NoHost {
        /// The URL.
        url: String,
    },
    /// The cookie has no domain (a cookie given to [`CookieJar::insert`] or loaded from a file).
    ///
    /// [`CookieJar::insert`]: super::CookieJar::insert
    #[error("the cookie has no domain")]
    NoDomain,
    /// The `Domain` attribute (or a cookie's domain) is not ASCII (§5.7 step 8).
    #[error("the cookie domain {domain:?} is not ASCII")]
    NonAsciiDomain {
        /// The domain.
        domain: String,
    },
    /// The `Domain` attribute is a public suffix (`com`, `co.uk`, `github.io`) other than the
    /// request host itself (§5.7 step 9).
    #[error("Domain={domain} is a public suffix, and the request host is {host}")]
    PublicSuffix {
        /// The `Domain` attribute, lowercase, without its leading dot.
        domain: String,
        /// The request host.
        host: String,
    },
    /// The request host does not domain-match the `Domain` attribute (§5.1.3, §5.7 step 10);
    /// for an IP-address host the two must be identical.
    #[error("the request host {host} does not domain-match Domain={domain}")]
    DomainMismatch {
        /// The `Domain` attribute, lowercase, without its leading dot.
        domain: String,
        /// The request host.
        host: String,
    },
    /// A `Secure` cookie from a URL that is not `https` or `wss`, nor on a loopback host
    /// (§5.7 step 13).
    #[error("a Secure cookie may only be set over https (or from a loopback host)")]
    SecureFromInsecure,
    /// An insecure URL tried to set a cookie with the name of an existing `Secure` cookie whose
    /// domain and path overlap it (§5.7 step 16).
    #[error("an insecure URL may not set {name:?} over an existing Secure cookie")]
    ShadowsSecure {
        /// The cookie's name.
        name: String,
    },
    /// `SameSite=None` without `Secure` (§5.7 step 19).
    #[error("SameSite=None requires Secure")]
    SameSiteNoneWithoutSecure,
    /// A `__Secure-` name without `Secure` (§4.1.3.1, §5.7 step 20).
    #[error("a __Secure- cookie must be Secure")]
    SecurePrefix,
    /// A `__Host-` name without `Secure`, with a `Domain`, or without `Path=/`
    /// (§4.1.3.2, §5.7 step 21).
    #[error("a __Host- cookie must be Secure, have no Domain and have Path=/")]
    HostPrefix,
    /// A nameless cookie whose value starts with `__Secure-` or `__Host-` (§5.7 step 22).
    #[error("a nameless cookie's value may not start with __Secure- or __Host-")]
    NamelessPrefix,
    /// A character that would change how the `Cookie` header splits: `;` or `=` in the name,
    /// `;` in the value (only possible in a cookie built by hand or loaded from a file).
    #[error("the cookie's {part} contains {ch:?}")]
    InvalidCharacter {
        /// `"name"` or `"value"`.
        part: &'static str,
        /// The character.
        ch: char,
    },
    /// The cookie's path does not start with `/`.
    #[error("the cookie path {path:?} does not start with '/'")]
    InvalidPath {
        /// The path.
        path: String,
    },
}

/// Why a saved jar could not be loaded. Loading is all or nothing: on an error no jar is
/// returned, never a partly filled one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieFileError {
    /// The text is not JSON, or not an array of cookie objects with the expected fields.
    #[error(
        "the cookie file is not a JSON array of cookies: {message} (line {line}, column {column})"
    )]
    Json {
        /// What serde_json reported.
        message: String,
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
    },
    /// A cookie object in a JSON file breaks a rule every stored cookie obeys.
    #[error("cookie {index} of the JSON file is invalid: {reason}")]
    InvalidCookie {
        /// Index of the cookie in the array, from 0.
        index: usize,
        /// The rule it breaks.
        reason: CookieRejected,
    },
    /// A line of a Netscape `cookies.txt` file is malformed.
    #[error("line {line} of the cookies.txt file is malformed: {reason}")]
    Netscape {
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
