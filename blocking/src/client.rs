//! The client: shared configuration, TLS, and the connection pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use duet_core::client::{Call, ClientConfig, Error, IntoUrl, LoadedRoots, rustls_config};
use duet_core::{Headers, Limits, Method};

use crate::exchange::Exchange;
use crate::pool::ConnectionPool;
use crate::request::{Request, RequestBuilder};
use crate::response::Response;

/// Numbers TLS configurations so connections made with different ones are never shared.
static TLS_PROFILES: AtomicU64 = AtomicU64::new(1);

/// An HTTP client: holds the configuration and a pool of connections. Cloning is cheap and
/// clones share the pool.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: ClientConfig,
    pub tls: Arc<rustls::ClientConfig>,
    pub tls_profile: u64,
    pub pool: ConnectionPool,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client with the default configuration.
    ///
    /// # Panics
    /// If the system's TLS roots named by `SSL_CERT_FILE` cannot be loaded; use
    /// [`Client::builder`] to handle that as an error.
    pub fn new() -> Self {
        Client::builder()
            .build()
            .expect("the default client configuration is valid")
    }

    /// A builder to configure a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: ClientConfig::default(),
            error: None,
        }
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A request with this method and URL.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// A GET request.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A POST request.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A HEAD request.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// An OPTIONS request.
    pub fn options(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::OPTIONS, url)
    }

    /// Sends a request; returns once the response head has arrived.
    pub fn execute(&self, request: Request) -> Result<Response, Error> {
        let (request, body) = request.into_parts();
        let call = Call::new(
            &self.inner.config,
            request,
            self.inner.tls_profile,
            Instant::now(),
        )?;
        let mut exchange = Exchange::new(call, self.inner.clone(), body.into_sender());
        let head = exchange.send()?;
        Response::new(head, exchange, self.inner.config.decompress)
    }
}

/// Configures a [`Client`].
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    config: ClientConfig,
    error: Option<Error>,
}

impl ClientBuilder {
    fn keep(mut self, result: Result<(), Error>) -> Self {
        if let (Err(e), None) = (result, &self.error) {
            self.error = Some(e);
        }
        self
    }

    /// A total deadline for each request (default none).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.total = Some(timeout);
        self
    }

    /// The connect (DNS, TCP and TLS) timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.connect = Some(timeout);
        self
    }

    /// The longest wait for any read to make progress (default 30 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.read = Some(timeout);
        self
    }

    /// The longest wait for any write to make progress (default 30 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.write = Some(timeout);
        self
    }

    /// The longest wait for a connection when the per-host cap is reached (default 30 s).
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.pool = Some(timeout);
        self
    }

    /// Idle connections kept per host (default 16; 0 disables reuse).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.config.pool.max_idle_per_host = n;
        self
    }

    /// How long an idle connection may wait for reuse (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.pool.idle_timeout = timeout;
        self
    }

    /// A cap on open connections per host (default none).
    pub fn pool_max_per_host(mut self, n: usize) -> Self {
        self.config.pool.max_connections_per_host = Some(n);
        self
    }

    /// Adds a header sent with every request (unless a request sets the same name).
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        let result = self
            .config
            .default_headers
            .insert(name, value)
            .map_err(Error::from);
        self = self.keep(result);
        self
    }

    /// Replaces the default headers (`User-Agent` and `Accept` unless you include them).
    pub fn default_headers(mut self, headers: Headers) -> Self {
        self.config.default_headers = headers;
        self
    }

    /// The `User-Agent` sent with every request.
    pub fn user_agent(self, value: &str) -> Self {
        self.default_header("User-Agent", value)
    }

    /// Whether to ask for and decode compressed responses (default on).
    pub fn decompress(mut self, on: bool) -> Self {
        self.config.decompress = on;
        self
    }

    /// Protocol limits (head size, header count, decoded body size, ...).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Trusts an extra CA certificate (PEM).
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.tls.extra_roots_pem.push(pem.into());
        self
    }

    /// Whether to trust the bundled Mozilla roots (default on).
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.config.tls.webpki_roots = on;
        self
    }

    /// Whether to trust the operating system's roots too (default off).
    pub fn native_roots(mut self, on: bool) -> Self {
        self.config.tls.native_roots = on;
        self
    }

    /// Whether to also trust the PEM bundle named by `SSL_CERT_FILE` when it is set
    /// (default on, as curl and OpenSSL do).
    pub fn ssl_cert_file(mut self, on: bool) -> Self {
        self.config.tls.ssl_cert_file = on;
        self
    }

    /// A client certificate chain and key (PEM) for mutual TLS.
    pub fn identity_pem(mut self, cert_chain: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.config.tls.client_identity_pem = Some((cert_chain.into(), key.into()));
        self
    }

    /// **Dangerous**: accept any server certificate and host name.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.config.tls.verify = !accept;
        self
    }

    /// Builds the client. Fails on invalid TLS material or default headers.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let tls = rustls_config(&self.config.tls, &load_roots(&self.config.tls)?)?;
        let pool = ConnectionPool::new(self.config.pool);
        let tls_profile = TLS_PROFILES.fetch_add(1, Ordering::Relaxed);
        Ok(Client {
            inner: Arc::new(Inner {
                config: self.config,
                tls,
                tls_profile,
                pool,
            }),
        })
    }
}

/// Reads the roots that live outside the program: `SSL_CERT_FILE` and the system store.
fn load_roots(settings: &duet_core::client::TlsSettings) -> Result<LoadedRoots, Error> {
    let mut loaded = LoadedRoots::default();
    if settings.ssl_cert_file
        && let Some(path) = std::env::var_os("SSL_CERT_FILE")
    {
        let pem = std::fs::read(&path).map_err(|e| {
            Error::msg(
                duet_core::client::ErrorKind::Tls,
                format!("SSL_CERT_FILE {}: {e}", path.to_string_lossy()),
            )
        })?;
        loaded.ssl_cert_file_pem = Some(pem);
    }
    if settings.native_roots {
        loaded.native = rustls_native_certs::load_native_certs().certs;
    }
    Ok(loaded)
}
