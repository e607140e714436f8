//! Credentials that need async I/O to obtain.

use std::sync::Arc;

use duet_core::Url;
use duet_core::auth::Auth;
use duet_core::client::Error;

/// Credentials obtained with async I/O, once per request.
///
/// Every pure scheme in [`duet_core::auth`] (Basic, Bearer, Digest, OAuth 1.0a, netrc, your
/// own [`Auth`]) works as it is, through `.auth(...)`. When getting the credentials needs I/O
/// — a token read from disk, refreshed under a lock — implement this trait instead: it
/// runs once per request before the request starts, may await, and hands back a pure
/// [`Auth`]. duet-blocking has a trait of the same name whose method blocks; one cannot be
/// used for the other.
///
/// ```no_run
/// use std::sync::Arc;
/// use duet_async::{Authenticate, Error, Url};
/// use duet_async::core::auth::{Auth, BearerAuth};
///
/// #[derive(Debug)]
/// struct TokenFile(std::path::PathBuf);
///
/// #[duet_async::async_trait]
/// impl Authenticate for TokenFile {
///     async fn authenticate(&self, _url: &Url) -> Result<Arc<dyn Auth>, Error> {
///         let token = tokio::fs::read_to_string(&self.0).await.map_err(|e| Error::new(duet_async::ErrorKind::Auth, e))?;
///         let bearer = BearerAuth::new(token.trim()).map_err(|e| Error::new(duet_async::ErrorKind::Auth, e))?;
///         Ok(Arc::new(bearer))
///     }
/// }
///
/// let client = duet_async::Client::builder().authenticator(Arc::new(TokenFile("token".into()))).build()?;
/// # Ok::<(), Error>(())
/// ```
#[async_trait::async_trait]
pub trait Authenticate: Send + Sync + std::fmt::Debug {
    /// The credentials for a request to `url`. An error fails the request (use
    /// `ErrorKind::Auth`).
    async fn authenticate(&self, url: &Url) -> Result<Arc<dyn Auth>, Error>;
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
