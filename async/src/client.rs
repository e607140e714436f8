//! The client: shared configuration, TLS, and the connection pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use duet_core::Method;
use duet_core::client::{
    BodyPlan, Call, ClientConfig, Driver, Error, ErrorKind, IntoUrl, LazyTls, RootLoaders,
};
use duet_core::cookies::SharedJar;

use crate::auth::Authenticate;
use crate::body::Body;
use crate::exchange::Exchange;
use crate::multipart::Form;
use crate::pool::ConnectionPool;
use crate::resolver::Resolve;
use crate::response::Response;
use crate::transport::Transport;
use crate::{Request, RequestBuilder};
use duet_core::transport::Mounts;

/// An HTTP client: holds the configuration and a pool of connections. Cloning is cheap and
/// clones share the pool; it is `Send + Sync`, so one client can serve every task.
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
    pub resolver: Option<Arc<dyn Resolve>>,
    pub pool: ConnectionPool,
}

impl Inner {
    /// The TLS configuration as configured, or `flipped`; builds it at the first use. Reading
    /// the system's roots is blocking file I/O (the operating system's store can be hundreds of
    /// files), so that build runs on tokio's blocking pool, never on a runtime thread.
    pub(crate) async fn tls_config(
        self: Arc<Self>,
        flipped: bool,
    ) -> Result<Arc<rustls::ClientConfig>, Error> {
        if let Some(built) = self.tls.built(flipped) {
            return built;
        }
        if !self.tls.loads_system_roots() {
            return self.build_tls(flipped);
        }
        match tokio::task::spawn_blocking(move || self.build_tls(flipped)).await {
            Ok(built) => built,
            // A panic while loading goes on as it would have inline (and in duet-blocking).
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::new(ErrorKind::Tls, e)), // the runtime is shutting down
        }
    }

    fn build_tls(&self, flipped: bool) -> Result<Arc<rustls::ClientConfig>, Error> {
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
    pub async fn execute(&self, request: Request) -> Result<Response, Error> {
        run(self.clone(), request).await
    }

    /// The client's authenticator, when `request` has no credentials of its own.
    fn authenticator_for<'a>(&'a self, request: &Request) -> Option<&'a Arc<dyn Authenticate>> {
        self.inner
            .authenticator
            .as_ref()
            .filter(|_| request.auth().is_none())
    }

    /// Whether `request` needs asynchronous work before its exchange can start: asking the
    /// authenticator, or reading a streamed body into memory for an auth scheme that signs it.
    fn needs_preparing(&self, request: &Request) -> bool {
        self.authenticator_for(request).is_some() || request.auth_needs_body(&self.inner.config)
    }

    /// Does what [`needs_preparing`](Self::needs_preparing) found.
    async fn prepare(&self, mut request: Request) -> Result<Request, Error> {
        if let Some(authenticator) = self.authenticator_for(&request) {
            let auth = authenticator
                .authenticate(request.url())
                .await
                .map_err(|e| e.with_url(request.url()))?;
            request.set_auth(auth);
        }
        if request.auth_needs_body(&self.inner.config) {
            let body = request.take_body().into_buffered().await?;
            request.set_body(body);
        }
        Ok(request)
    }

    /// The exchange for a prepared request, not started yet.
    fn start(&self, request: Request) -> Result<Exchange, Error> {
        let inner = &self.inner;
        let flip = inner.tls.flips(request.verify_tls());
        let (request, body) = request.into_parts(&inner.config);
        let now = crate::now();
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

/// Sends `request` on `client`. The preparing and starting happen in helpers, so this future
/// keeps one request and one exchange, not a copy of each at every await: it is moved into
/// a box for every request.
#[allow(clippy::manual_async_fn)] // on purpose: see above
fn run(client: Client, request: Request) -> impl Future<Output = Result<Response, Error>> + Send {
    // A block rather than an `async fn`: that would keep a second copy of each argument.
    async move {
        let mut exchange = match client.needs_preparing(&request) {
            true => client.start(Box::pin(client.prepare(request)).await?)?,
            false => client.start(request)?,
        };
        let head = exchange.send().await?;
        Response::new(head, exchange)
    }
}

/// duet-async's plug into duet-core's shared builders: [`ClientBuilder`], [`Request`] and
/// [`RequestBuilder`] are duet-core's, specialised to this driver.
#[derive(Debug, Clone, Copy)]
pub struct Async;

/// Configures a [`Client`]; `Client::builder()` makes one.
pub type ClientBuilder = duet_core::client::ClientBuilder<Async>;

/// The future of a sent request: resolves once the response head has arrived. `Send`, so it
/// can be spawned.
#[must_use = "futures do nothing unless awaited"]
pub struct Pending(Pin<Box<dyn Future<Output = Result<Response, Error>> + Send>>);

impl Future for Pending {
    type Output = Result<Response, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

impl Driver for Async {
    type Client = Client;
    type Body = Body;
    type Form = Form;
    type Authenticator = dyn Authenticate;
    type Transport = dyn Transport;
    type Resolver = dyn Resolve;
    type Sent = Pending;

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
                resolver,
                pool,
            }),
        })
    }

    fn client_config(client: &Client) -> &ClientConfig {
        &client.inner.config
    }

    fn execute(client: &Client, request: Request) -> Pending {
        Pending(Box::pin(run(client.clone(), request)))
    }

    fn failed(error: Error) -> Pending {
        Pending(Box::pin(std::future::ready(Err(error))))
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

#[cfg(test)]
mod tests {
    /// Every request's future is boxed (in [`Pending`](super::Pending)): kept within glibc's
    /// thread cache (1032 bytes), the box comes from the allocator's fast path, where one
    /// larger costs several hundred instructions more to allocate and free. What makes it
    /// larger belongs behind a box on the path that needs it (as the body's source reads
    /// and new connections are).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_requests_future_stays_within_the_allocators_fast_path() {
        let client = super::Client::new();
        let request = client.get("http://127.0.0.1:9/").build().unwrap();
        let size = std::mem::size_of_val(&super::run(client.clone(), request));
        assert!(size <= 1024, "the future is {size} bytes");
    }
}
