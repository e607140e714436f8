//! Client-wide settings shared by both drivers: the drivers' builders fill a [`ClientConfig`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::cookies::SharedJar;
use crate::headers::Headers;
use crate::limits::Limits;
use crate::redirect::RedirectPolicy;
use crate::request::RequestHead;
use crate::response::ResponseHead;

/// How long each step of a request may take. `None` means no limit for that step.
///
/// Defaults are finite wherever a silent server could otherwise hang a request forever:
/// connect 10 s, write 30 s, read 30 s (the gap between two reads, not the whole body),
/// pool acquire 30 s. The total deadline is off by default so long downloads work; the read
/// timeout still catches a stalled server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// DNS, TCP connect and TLS handshake together.
    pub connect: Option<Duration>,
    /// Any single write of the request making no progress.
    pub write: Option<Duration>,
    /// Any single read of the response making no progress.
    pub read: Option<Duration>,
    /// Waiting for a connection when a connection cap (per host or in all) is reached.
    pub pool: Option<Duration>,
    /// The whole request, from start to the last body byte.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Some(Duration::from_secs(10)),
            write: Some(Duration::from_secs(30)),
            read: Some(Duration::from_secs(30)),
            pool: Some(Duration::from_secs(30)),
            total: None,
        }
    }
}

/// How connections are kept for reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Idle connections kept per pool key. Default 16; 0 disables reuse.
    pub max_idle_per_host: usize,
    /// An idle connection older than this is closed instead of reused. Default 90 s (as reqwest
    /// and hyper).
    pub idle_timeout: Duration,
    /// Open connections (busy and idle) per pool key; further requests wait up to
    /// `Timeouts::pool`. Default: no cap.
    pub max_connections_per_host: Option<usize>,
    /// Idle connections kept in all, whatever their key; past it the one idle longest is
    /// closed (httpx's `max_keepalive_connections`). Default 128.
    pub max_idle: usize,
    /// Open connections (busy and idle) in all, whatever their key (httpx's
    /// `max_connections`). At the cap an idle connection to another key is closed to make
    /// room; when none is idle, further requests wait up to `Timeouts::pool`. Default: no
    /// cap.
    pub max_connections: Option<usize>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_idle_per_host: 16,
            idle_timeout: Duration::from_secs(90),
            max_connections_per_host: None,
            max_idle: 128,
            max_connections: None,
        }
    }
}

/// A TLS protocol version, for [`TlsSettings::min_version`] and
/// [`TlsSettings::max_version`]. rustls speaks TLS 1.2 and 1.3 only; older versions are
/// never offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls1_2,
    /// TLS 1.3 (RFC 8446).
    Tls1_3,
}

/// Where trusted root certificates come from, the client identity, and the TLS versions
/// offered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsSettings {
    /// Verify the server's certificate and host name. Turning this off is dangerous.
    pub verify: bool,
    /// Trust the Mozilla roots bundled in webpki-roots. Default on.
    pub webpki_roots: bool,
    /// Trust the operating system's roots. Default off.
    pub native_roots: bool,
    /// Also trust the PEM bundle named by the `SSL_CERT_FILE` environment variable and the
    /// certificates in the directories `SSL_CERT_DIR` names, when set. Default on.
    pub ssl_cert_file: bool,
    /// Write each TLS connection's secrets to the file named by the `SSLKEYLOGFILE`
    /// environment variable, when set (NSS key log format, for Wireshark and friends; as curl,
    /// requests and httpx). Default on: only someone who can set the client's environment
    /// can turn it on.
    pub ssl_key_log_file: bool,
    /// Extra trusted CA certificates, PEM.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// A client certificate chain and its private key, PEM, for mutual TLS.
    pub client_identity_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// The oldest TLS version offered. Default `None`: TLS 1.2.
    pub min_version: Option<TlsVersion>,
    /// The newest TLS version offered. Default `None`: TLS 1.3.
    pub max_version: Option<TlsVersion>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            verify: true,
            webpki_roots: true,
            native_roots: false,
            ssl_cert_file: true,
            ssl_key_log_file: true,
            extra_roots_pem: Vec::new(),
            client_identity_pem: None,
            min_version: None,
            max_version: None,
        }
    }
}

/// Called with each request head just before it goes out (every hop, every retry).
pub type RequestHook = Arc<dyn Fn(&Url, &RequestHead) + Send + Sync>;
/// Called with each response head as it arrives (every hop, redirects included).
pub type ResponseHook = Arc<dyn Fn(&Url, &ResponseHead) + Send + Sync>;

/// Event hooks, run by the engine for both clients alike.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Hooks {
    /// Run before each request goes out.
    pub on_request: Vec<RequestHook>,
    /// Run as each response head arrives.
    pub on_response: Vec<ResponseHook>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_request", &self.on_request.len())
            .field("on_response", &self.on_response.len())
            .finish()
    }
}

/// Everything a client decides with, shared by every request it makes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Protocol limits.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Connection reuse.
    pub pool: PoolConfig,
    /// TLS trust and identity.
    pub tls: TlsSettings,
    /// Headers sent with every request unless the request sets the same name.
    /// Default: `User-Agent: duet/<version>` and `Accept: */*`.
    pub default_headers: Headers,
    /// Ask for compressed responses (`Accept-Encoding`) and decode them. Default on.
    pub decompress: bool,
    /// How redirects are followed. Default: followed, at most 20 hops.
    pub redirect: RedirectPolicy,
    /// Refuse every `http://` URL: a request's own is an invalid-URL error before anything
    /// is sent, a redirect to one a redirect error (whatever a request's redirect policy
    /// says). Default: off.
    pub https_only: bool,
    /// The session's cookie jar; `None` keeps no cookies between requests (cookies still
    /// live for the hops of one redirect chain). Default: a new jar per client.
    pub cookies: Option<SharedJar>,
    /// Relative request URLs are joined to this.
    pub base_url: Option<Url>,
    /// Query parameters added to every request's URL, before the request's own.
    pub default_query: Vec<(String, String)>,
    /// Event hooks.
    pub hooks: Hooks,
    /// Credentials for every request (a request may set its own).
    pub auth: Option<Arc<dyn crate::auth::Auth>>,
    /// Where to read netrc credentials from when building the client: `Some(None)` for
    /// `$NETRC` or `~/.netrc`, `Some(Some(path))` for a given file; see [`settle`](super::settle).
    pub netrc: Option<Option<std::path::PathBuf>>,
    /// Which proxy each request goes through. `None` (the default) means: from the
    /// environment (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`), read by the driver
    /// when the client is built; `Some(ProxyConfig::none())` connects directly.
    pub proxies: Option<crate::proxy::ProxyConfig>,
    /// Credentials for proxies that answer `407` (any scheme: Basic, Digest, your own),
    /// besides the Basic credentials a proxy URL may carry.
    pub proxy_auth: Option<Arc<dyn crate::auth::Auth>>,
    /// Where the bytes of every exchange are recorded, if anywhere.
    pub recorder: Option<crate::transport::Recorder>,
    /// When failed requests are sent again. Default: never ([`RetryPolicy::none`]).
    ///
    /// [`RetryPolicy::none`]: super::RetryPolicy::none
    pub retry: super::RetryPolicy,
    /// How connections are opened: addresses fixed for host names, and the delay before a
    /// host's next address is tried beside one that has not answered yet.
    pub dial: super::DialConfig,
    /// Take configuration from the environment (httpx's and requests' `trust_env`): proxies
    /// (`http_proxy` and friends), `SSL_CERT_FILE` and `SSLKEYLOGFILE`. Default true. A netrc
    /// file asked for with `netrc` is still found through `$NETRC` or `$HOME`.
    pub trust_env: bool,
    /// The URL patterns a transport is mounted on (`ClientBuilder::mount`): a request to a
    /// URL one matches goes to that transport, never through a proxy, as in httpx.
    pub mounted: Vec<crate::transport::MountPattern>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let mut default_headers = Headers::new();
        default_headers.push_unchecked(
            b"User-Agent",
            concat!("duet/", env!("CARGO_PKG_VERSION")).as_bytes(),
        );
        default_headers.push_unchecked(b"Accept", b"*/*");
        ClientConfig {
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            pool: PoolConfig::default(),
            tls: TlsSettings::default(),
            default_headers,
            decompress: true,
            redirect: RedirectPolicy::default(),
            https_only: false,
            cookies: Some(SharedJar::new()),
            base_url: None,
            default_query: Vec::new(),
            hooks: Hooks::default(),
            auth: None,
            netrc: None,
            retry: super::RetryPolicy::none(),
            dial: super::DialConfig::default(),
            proxies: None,
            recorder: None,
            proxy_auth: None,
            trust_env: true,
            mounted: Vec::new(),
        }
    }
}

/// The `Accept-Encoding` value for the codings this build can decode.
pub fn accept_encoding() -> &'static str {
    match (cfg!(feature = "brotli"), cfg!(feature = "zstd")) {
        (true, true) => "gzip, deflate, br, zstd",
        (true, false) => "gzip, deflate, br",
        (false, true) => "gzip, deflate, zstd",
        (false, false) => "gzip, deflate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Accept-Encoding` offers exactly the codings this build decodes: a server may answer
    /// with any coding offered, and one duet cannot decode would reach the caller coded.
    #[test]
    fn accept_encoding_offers_what_this_build_decodes() {
        let offered: Vec<&str> = accept_encoding().split(", ").collect();
        let mut decodable = vec!["gzip", "deflate"];
        decodable.extend(cfg!(feature = "brotli").then_some("br"));
        decodable.extend(cfg!(feature = "zstd").then_some("zstd"));
        assert_eq!(offered, decodable);
        for coding in offered {
            let mut headers = Headers::new();
            headers.append("Content-Encoding", coding).unwrap();
            let decoder = crate::ContentDecoder::from_headers(&headers, &Limits::default());
            assert!(matches!(decoder, Ok(Some(_))), "{coding}");
        }
    }

    #[test]
    fn hooks_show_how_many_there_are() {
        let hook: RequestHook = Arc::new(|_, _| {});
        let hooks = Hooks {
            on_request: vec![hook.clone(), hook],
            on_response: Vec::new(),
        };
        assert_eq!(
            format!("{hooks:?}"),
            "Hooks { on_request: 2, on_response: 0 }"
        );
    }
}
