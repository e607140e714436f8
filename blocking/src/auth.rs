//! Credentials that need blocking I/O to obtain.

use std::sync::Arc;

use duet_core::Url;
use duet_core::auth::Auth;
use duet_core::client::Error;

/// Credentials obtained with blocking I/O, once per request.
///
/// Every pure scheme in [`duet_core::auth`] (Basic, Bearer, Digest, OAuth 1.0a, netrc, your
/// own [`Auth`]) works as it is, through `.auth(...)`. When getting the credentials needs I/O
/// — a token read from disk, refreshed under a lock — implement this trait instead: it
/// runs once per request before the request starts, may block, and hands back a pure
/// [`Auth`]. duet-async has a trait of the same name whose method is `async`; one cannot be
/// used for the other.
///
/// ```no_run
/// use std::sync::Arc;
/// use duet_blocking::{Authenticate, Error, Url};
/// use duet_blocking::core::auth::{Auth, BearerAuth};
///
/// #[derive(Debug)]
/// struct TokenFile(std::path::PathBuf);
///
/// impl Authenticate for TokenFile {
///     fn authenticate(&self, _url: &Url) -> Result<Arc<dyn Auth>, Error> {
///         let token = std::fs::read_to_string(&self.0).map_err(|e| Error::new(duet_blocking::ErrorKind::Auth, e))?;
///         let bearer = BearerAuth::new(token.trim()).map_err(|e| Error::new(duet_blocking::ErrorKind::Auth, e))?;
///         Ok(Arc::new(bearer))
///     }
/// }
///
/// let client = duet_blocking::Client::builder().authenticator(Arc::new(TokenFile("token".into()))).build()?;
/// # Ok::<(), Error>(())
/// ```
pub trait Authenticate: Send + Sync + std::fmt::Debug {
    /// The credentials for a request to `url`. An error fails the request (use
    /// `ErrorKind::Auth`).
    fn authenticate(&self, url: &Url) -> Result<Arc<dyn Auth>, Error>;
}

/// OAuth 1.0a request signing (RFC 5849) with the system clock for timestamps and the OS
/// CSPRNG for nonces; add a token with `.token(token, secret)` and pass it to `.auth(...)`.
pub fn oauth1(consumer_key: &str, consumer_secret: &str) -> duet_core::auth::OAuth1 {
    let clock = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let nonce = || {
        crate::entropy()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    duet_core::auth::OAuth1::new(consumer_key, consumer_secret, clock, nonce)
}
