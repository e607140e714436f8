//! The client: shared configuration, TLS, and the connection pool.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use duet_core::Method;
use duet_core::client::{
    BodyPlan, Call, ClientConfig, Driver, Error, IntoUrl, LazyTls, RootLoaders,
};
use duet_core::cookies::SharedJar;

use crate::auth::Authenticate;
use crate::body::Body;
use crate::exchange::Exchange;
use crate::multipart::Form;
use crate::pool::ConnectionPool;
use crate::resolver::{Resolve, Resolver};
use crate::response::Response;
use crate::transport::Transport;
use crate::{Request, RequestBuilder};
use duet_core::transport::Mounts;

/// An HTTP client: holds the configuration and a pool of connections. Cloning is cheap and
/// clones share the pool.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: Arc<ClientConfig>,
    /// The TLS configurations, built when the first TLS connection needs one.
    pub tls: LazyTls,
    pub authenticator: Option<Arc<dyn Authenticate>>,
    pub mounts: Mounts<Arc<dyn Transport>>,
    /// The caller's resolver, if any (else the system's).
    pub resolver: Option<Resolver>,
    pub pool: ConnectionPool,
}

impl Inner {
    /// The TLS configuration as configured, or `flipped`; loads the system's roots at the
    /// first use.
    pub(crate) fn tls_config(&self, flipped: bool) -> Result<Arc<rustls::ClientConfig>, Error> {
        self.tls.config(
            flipped,
            RootLoaders {
                read_file: &mut |path| std::fs::read(path),
                cert_dir: &mut |dir| {
                    // A directory that cannot be listed is an error; unusable files in it are
                    // skipped.
                    std::fs::read_dir(dir)?;
                    Ok(rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs)
                },
                native: &mut || rustls_native_certs::load_native_certs().certs,
                key_log: &mut || Arc::new(rustls::KeyLogFile::new()),
            },
        )
    }
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
    /// If the default configuration cannot be completed from the environment; use
    /// [`Client::builder`] to handle that as an error. (TLS roots, `SSL_CERT_FILE`'s
    /// included, are loaded at the first TLS connection, which fails if they cannot be.)
    pub fn new() -> Self {
        Client::builder()
            .build()
            .expect("the default client configuration is valid")
    }

    /// A builder to configure a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The session's cookie jar, unless the client was built with `cookie_store(false)`.
    pub fn cookies(&self) -> Option<&SharedJar> {
        self.inner.config.cookies.as_ref()
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
    pub fn execute(&self, mut request: Request) -> Result<Response, Error> {
        self.prepare(&mut request)?;
        let mut exchange = self.start(request)?;
        let head = exchange.send()?;
        Response::new(head, exchange)
    }

    /// The client's authenticator, when `request` has no credentials of its own.
    fn authenticator_for<'a>(&'a self, request: &Request) -> Option<&'a Arc<dyn Authenticate>> {
        self.inner
            .authenticator
            .as_ref()
            .filter(|_| request.auth().is_none())
    }

    /// The work before a request's exchange can start: asking the authenticator, and reading
    /// a streamed body into memory for an auth scheme that signs it.
    fn prepare(&self, request: &mut Request) -> Result<(), Error> {
        if let Some(authenticator) = self.authenticator_for(request) {
            let auth = authenticator
                .authenticate(request.url())
                .map_err(|e| e.with_url(request.url()))?;
            request.set_auth(auth);
        }
        if request.auth_needs_body(&self.inner.config) {
            let body = request.take_body().into_buffered()?;
            request.set_body(body);
        }
        Ok(())
    }

    /// The exchange for a prepared request, not started yet.
    fn start(&self, request: Request) -> Result<Exchange, Error> {
        let inner = &self.inner;
        let flip = inner.tls.flips(request.verify_tls());
        let (request, body) = request.into_parts(&inner.config);
        let now = Instant::now();
        let call = Call::new(
            &inner.config,
            request,
            inner.tls.profile(flip),
            now,
            SystemTime::now(),
        )?;
        let body = body.into_sender();
        Ok(Exchange::new(call, inner.clone(), flip, body, now))
    }
}

/// duet-blocking's plug into duet-core's shared builders: [`ClientBuilder`], [`Request`] and
/// [`RequestBuilder`] are duet-core's, specialised to this driver.
#[derive(Debug, Clone, Copy)]
pub struct Blocking;

/// Configures a [`Client`]; `Client::builder()` makes one.
pub type ClientBuilder = duet_core::client::ClientBuilder<Blocking>;

impl Driver for Blocking {
    type Client = Client;
    type Body = Body;
    type Form = Form;
    type Authenticator = dyn Authenticate;
    type Transport = dyn Transport;
    type Resolver = dyn Resolve;
    type Sent = Result<Response, Error>;

    fn build_client(
        config: ClientConfig,
        authenticator: Option<Arc<dyn Authenticate>>,
        mounts: Mounts<Arc<dyn Transport>>,
        resolver: Option<Arc<dyn Resolve>>,
    ) -> Result<Client, Error> {
        let settled = duet_core::client::settle(config, std::env::vars_os(), &mut |path| {
            std::fs::read(path)
        })?;
        let config = settled.config;
        let tls = LazyTls::new(config.tls.clone(), settled.ssl_cert_file)?
            .with_cert_dirs(settled.ssl_cert_dirs)
            .with_key_log(settled.ssl_key_log_file.is_some());
        let pool = ConnectionPool::new(config.pool);
        Ok(Client {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                tls,
                authenticator,
                mounts,
                resolver: resolver.map(Resolver::new),
                pool,
            }),
        })
    }

    fn client_config(client: &Client) -> &ClientConfig {
        &client.inner.config
    }

    fn execute(client: &Client, request: Request) -> Result<Response, Error> {
        client.execute(request)
    }

    fn failed(error: Error) -> Result<Response, Error> {
        Err(error)
    }

    fn body_plan(body: &Body) -> BodyPlan {
        body.plan()
    }

    fn body_bytes(body: &Body) -> Option<bytes::Bytes> {
        body.shared_bytes()
    }

    fn multipart(form: Form) -> (String, Body) {
        (form.content_type(), Body::multipart(form))
    }

    fn entropy() -> [u8; 16] {
        crate::entropy()
    }
}
