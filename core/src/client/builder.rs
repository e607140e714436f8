//! The client and request builders, written once for both drivers.
//!
//! Configuring a client or a request involves no I/O, so it lives here; a driver plugs in
//! through [`Driver`]: its body type, how a configured client is built, and what sending
//! returns (a response, or a future of one). duet-blocking's `ClientBuilder` is
//! `ClientBuilder<Blocking>`, duet-async's is `ClientBuilder<Async>`: the same methods, by
//! construction.

use std::fmt;
use std::time::Duration;

use http::Method;
use url::Url;

use super::call::{BodyPlan, RequestParts};
use super::config::{ClientConfig, Timeouts};
use super::error::Error;
use super::origin::IntoUrl;
use super::retry::RetryPolicy;
use crate::proxy::{Proxy, ProxyConfig};
use crate::transport::{MountPattern, Mounts, Recorder};
use std::sync::Arc;

use crate::auth::{Auth, BasicAuth, BearerAuth, CnonceSource, DigestAuth};
use crate::cookies::SharedJar;
use crate::headers::Headers;
use crate::limits::Limits;
use crate::redirect::RedirectPolicy;
use crate::request::RequestHead;
use crate::response::ResponseHead;

/// What a driver supplies to the shared builders.
pub trait Driver: Sized + 'static {
    /// The driver's client.
    type Client: Clone;
    /// The driver's request body.
    type Body: Default + fmt::Debug + From<Vec<u8>> + From<String>;
    /// The driver's multipart form.
    type Form;
    /// What [`RequestBuilder::send`] returns: the response, or a future of it.
    type Sent;
    /// The driver's trait for credentials that need I/O to obtain (blocking or async), as a
    /// trait object type: a blocking one cannot be given to the async client.
    type Authenticator: ?Sized + Send + Sync + 'static;
    /// The driver's trait for custom transports (Unix sockets, mocks, replays), as a trait
    /// object type.
    type Transport: ?Sized + Send + Sync + 'static;
    /// The driver's trait for looking host names up instead of the system's resolver
    /// (blocking or async), as a trait object type.
    type Resolver: ?Sized + Send + Sync + 'static;

    /// Builds a client from a finished configuration (loads roots, makes the TLS config and
    /// the pool).
    fn build_client(
        config: ClientConfig,
        authenticator: Option<Arc<Self::Authenticator>>,
        mounts: Mounts<Arc<Self::Transport>>,
        resolver: Option<Arc<Self::Resolver>>,
    ) -> Result<Self::Client, Error>;
    /// The configuration a client was built with.
    fn client_config(client: &Self::Client) -> &ClientConfig;
    /// Sends a request.
    fn execute(client: &Self::Client, request: Request<Self>) -> Self::Sent;
    /// What sending returns for a request that could not even be built.
    fn failed(error: Error) -> Self::Sent;
    /// How `body` will be framed, and whether it can be sent twice.
    fn body_plan(body: &Self::Body) -> BodyPlan;
    /// The body's bytes, when it is in memory (for auth schemes that sign or hash it).
    fn body_bytes(body: &Self::Body) -> Option<bytes::Bytes>;
    /// A multipart form as a body, with its `Content-Type`.
    fn multipart(form: Self::Form) -> (String, Self::Body);
    /// 16 bytes from the operating system's CSPRNG (Digest client nonces).
    fn entropy() -> [u8; 16];
}

/// A request that can be inspected, changed, and sent with the client's `execute`.
pub struct Request<D: Driver> {
    method: Method,
    /// Shared with the response (and, for a string URL, with the next request to the same
    /// one); changed copy-on-write.
    url: Arc<Url>,
    headers: Headers,
    body: D::Body,
    auth: Option<Arc<dyn Auth>>,
    overrides: Option<Box<Overrides>>,
}

/// What a request seldom sets, instead of the client's settings: boxed, so that a plain
/// request is small to move around (a few hundred bytes less).
#[derive(Default)]
struct Overrides {
    timeouts: Option<Timeouts>,
    redirect: Option<RedirectPolicy>,
    cookies: Vec<(String, String)>,
    verify_tls: Option<bool>,
    retry: Option<RetryPolicy>,
    proxy: Option<Option<Proxy>>,
    omit: Vec<String>,
}

impl<D: Driver> Request<D> {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Self::with_shared_url(method, Arc::new(url))
    }

    fn with_shared_url(method: Method, url: Arc<Url>) -> Self {
        Request {
            method,
            url,
            headers: Headers::new(),
            body: D::Body::default(),
            auth: None,
            overrides: None,
        }
    }

    /// The overrides, to set one.
    fn overrides_mut(&mut self) -> &mut Overrides {
        self.overrides.get_or_insert_with(Box::default)
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL, query included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL, to change it.
    pub fn url_mut(&mut self) -> &mut Url {
        Arc::make_mut(&mut self.url)
    }

    /// The request's own headers (the client's defaults are added when it is sent).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, to change them.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &D::Body {
        &self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<D::Body>) {
        self.body = body.into();
    }

    /// The timeouts for this request, if they differ from the client's.
    pub fn timeouts(&self) -> Option<&Timeouts> {
        self.overrides.as_ref()?.timeouts.as_ref()
    }

    /// Whether the credentials this request will use (its own, else the client's, and the
    /// client's proxy credentials when the request goes to a forward proxy) need the request
    /// body in memory; a driver then buffers a streamed body first.
    pub fn auth_needs_body(&self, config: &ClientConfig) -> bool {
        let origin = self.auth.as_ref().or(config.auth.as_ref());
        let proxy = config.proxy_auth.as_ref().filter(|_| {
            let own = self.overrides.as_ref().and_then(|o| o.proxy.as_ref());
            super::call::through_forward_proxy(config, own, &self.url)
        });
        origin.is_some_and(|a| a.needs_request_body())
            || proxy.is_some_and(|a| a.needs_request_body())
    }

    /// Sets this request's credentials.
    pub fn set_auth(&mut self, auth: Arc<dyn Auth>) {
        self.auth = Some(auth);
    }

    /// Takes the body out (leaving an empty one), to buffer it.
    pub fn take_body(&mut self) -> D::Body {
        std::mem::take(&mut self.body)
    }

    /// Splits into what the engine needs and the body the driver sends. A body in memory is
    /// handed to the engine (shared, not copied) when the request has credentials, its own or
    /// `config`'s (for the origin or the proxy): a challenge may ask for it (Digest
    /// `auth-int`), and it is at hand to answer.
    /// A streamed body is not; a driver buffers it first when the credentials say they need
    /// it ([`auth_needs_body`](Self::auth_needs_body)).
    pub fn into_parts(self, config: &ClientConfig) -> (RequestParts, D::Body) {
        let has_auth = self.auth.is_some() || config.auth.is_some() || config.proxy_auth.is_some();
        let mut parts = RequestParts::new(self.method, self.url);
        parts.headers = self.headers;
        parts.body = D::body_plan(&self.body);
        parts.auth = self.auth;
        if let Some(overrides) = self.overrides {
            let Overrides {
                timeouts,
                redirect,
                cookies,
                verify_tls: _, // the driver chose the TLS settings from it already
                retry,
                proxy,
                omit,
            } = *overrides;
            parts.timeouts = timeouts;
            parts.redirect = redirect;
            parts.cookies = cookies;
            parts.retry = retry;
            parts.proxy = proxy;
            parts.omit = omit;
        }
        parts.entropy = D::entropy;
        parts.body_bytes = if has_auth {
            D::body_bytes(&self.body)
        } else {
            None
        };
        (parts, self.body)
    }

    /// The redirect policy for this request, if it differs from the client's.
    pub fn redirect(&self) -> Option<&RedirectPolicy> {
        self.overrides.as_ref()?.redirect.as_ref()
    }

    /// The credentials for this request, if it has its own.
    pub fn auth(&self) -> Option<&Arc<dyn Auth>> {
        self.auth.as_ref()
    }

    /// Whether this request verifies TLS certificates, if that differs from the client.
    pub fn verify_tls(&self) -> Option<bool> {
        self.overrides.as_ref()?.verify_tls
    }

    /// The header names (lowercase) this request leaves out, as
    /// [`RequestBuilder::without_header`] gave them.
    pub fn omitted_headers(&self) -> &[String] {
        self.overrides.as_ref().map_or(&[], |o| o.omit.as_slice())
    }
}

impl<D: Driver> fmt::Debug for Request<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}

/// Builds a request; a bad URL or header is kept and reported when it is built or sent.
#[must_use = "a request builder does nothing until it is sent"]
pub struct RequestBuilder<D: Driver> {
    client: D::Client,
    request: Result<Request<D>, Error>,
}

impl<D: Driver> RequestBuilder<D> {
    /// A request on `client`; drivers call this from `Client::request`.
    pub fn new(client: D::Client, method: Method, url: impl IntoUrl) -> Self {
        let config = D::client_config(&client);
        let request = url
            .into_shared_url(config.base_url.as_ref())
            .map(|mut url| {
                if !config.default_query.is_empty() {
                    crate::form::append_query(Arc::make_mut(&mut url), &config.default_query);
                }
                Request::with_shared_url(method, url)
            });
        RequestBuilder { client, request }
    }

    fn with(mut self, change: impl FnOnce(&mut Request<D>) -> Result<(), Error>) -> Self {
        if let Ok(request) = &mut self.request
            && let Err(e) = change(request)
        {
            self.request = Err(e);
        }
        self
    }

    /// Appends a header (repeats are kept, case as given). An invalid name or value (CR, LF,
    /// NUL...) fails the request before anything is sent.
    ///
    /// Framing headers must agree with the body: `Transfer-Encoding: chunked` sends any body
    /// chunked (one of known length too, as curl and hyper do); a `Content-Length` must be
    /// the body's length; any other mix fails before anything is sent.
    pub fn header(self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.with(|r| Ok(r.headers.append(name, value)?))
    }

    /// Appends several headers.
    pub fn headers<N: AsRef<[u8]>, V: AsRef<[u8]>>(
        self,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        self.with(|r| {
            for (name, value) in headers {
                r.headers.append(name, value)?;
            }
            Ok(())
        })
    }

    /// Leaves the header `name` out of this request: the request's own fields of that name
    /// given so far, and the ones duet would add by itself (a client default such as
    /// `User-Agent` or `Accept`, `Accept-Encoding`, the jar's `Cookie`, an automatic
    /// `Expect: 100-continue`, the `Referer` of a redirect), on every hop of a redirect or
    /// an authentication. As curl's `-H 'Name:'` and a header set to `None` in requests.
    ///
    /// `Host`, `Content-Length` and `Transfer-Encoding` (which the message needs) and
    /// `Authorization` and `Proxy-Authorization` (leave out the credentials instead) cannot be
    /// left out: naming one, or an invalid name, fails the request before anything is sent.
    pub fn without_header(self, name: &str) -> Self {
        self.with(|r| {
            crate::headers::check_name(name.as_bytes())?;
            let name = name.to_ascii_lowercase();
            const NEEDED: [&str; 5] = [
                "host",
                "content-length",
                "transfer-encoding",
                "authorization",
                "proxy-authorization",
            ];
            if NEEDED.contains(&name.as_str()) {
                let message = format!("the {name} header cannot be left out of a request");
                return Err(Error::msg(super::ErrorKind::InvalidHeader, message));
            }
            r.headers.remove(&name);
            let omit = &mut r.overrides_mut().omit;
            if !omit.contains(&name) {
                omit.push(name);
            }
            Ok(())
        })
    }

    /// Appends query parameters; repeated keys are kept.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        self.with(|r| {
            crate::form::append_query(
                r.url_mut(),
                pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
            );
            Ok(())
        })
    }

    /// Sets the body: bytes, text, a file, or a stream (see the driver's `Body`).
    pub fn body(self, body: impl Into<D::Body>) -> Self {
        self.with(|r| {
            r.body = body.into();
            Ok(())
        })
    }

    /// An `application/x-www-form-urlencoded` body; repeated keys are kept.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        self.with(|r| {
            let encoded =
                crate::form::urlencoded(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
            set_content_type(&mut r.headers, crate::form::FORM_CONTENT_TYPE)?;
            r.body = D::Body::from(encoded);
            Ok(())
        })
    }

    /// A JSON body (`Content-Type: application/json` unless already set).
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        self.with(|r| {
            let bytes =
                serde_json::to_vec(value).map_err(|e| Error::new(super::ErrorKind::Body, e))?;
            set_content_type(&mut r.headers, "application/json")?;
            r.body = D::Body::from(bytes);
            Ok(())
        })
    }

    /// A `multipart/form-data` body, streamed.
    pub fn multipart(self, form: D::Form) -> Self {
        self.with(|r| {
            let (content_type, body) = D::multipart(form);
            r.headers.insert("Content-Type", content_type)?;
            r.body = body;
            Ok(())
        })
    }

    /// A total deadline for this request.
    pub fn timeout(self, timeout: Duration) -> Self {
        let mut timeouts = D::client_config(&self.client).timeouts;
        timeouts.total = Some(timeout);
        self.timeouts(timeouts)
    }

    /// Timeouts for this request, replacing the client's.
    pub fn timeouts(self, timeouts: Timeouts) -> Self {
        self.with(|r| {
            r.overrides_mut().timeouts = Some(timeouts);
            Ok(())
        })
    }

    /// The redirect policy for this request (e.g. `RedirectPolicy::none()`).
    pub fn redirect(self, policy: RedirectPolicy) -> Self {
        self.with(|r| {
            r.overrides_mut().redirect = Some(policy);
            Ok(())
        })
    }

    /// A cookie for this request only, sent to its own origin as if that origin had set it,
    /// never to another origin a redirect reaches. It is not stored in the client's jar.
    /// A name with `=`, `;` or whitespace, or a value with a control byte, fails the request.
    pub fn cookie(self, name: &str, value: &str) -> Self {
        self.with(|r| {
            let bad_name = name.is_empty()
                || name.bytes().any(|b| {
                    b == b'=' || b == b';' || b.is_ascii_whitespace() || b.is_ascii_control()
                });
            if bad_name || value.bytes().any(|b| b == b';' || b.is_ascii_control()) {
                return Err(Error::msg(
                    super::ErrorKind::InvalidHeader,
                    format!("invalid cookie {name:?}"),
                ));
            }
            r.overrides_mut()
                .cookies
                .push((name.to_owned(), value.to_owned()));
            Ok(())
        })
    }

    /// Basic credentials for this request (RFC 7617). A user with `:` or a control character
    /// fails the request before anything is sent.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let auth =
            BasicAuth::new(user, password).map_err(|e| Error::new(super::ErrorKind::Auth, e));
        self.with(|r| {
            r.auth = Some(Arc::new(auth?));
            Ok(())
        })
    }

    /// Digest credentials for this request (RFC 7616), client nonces from the OS CSPRNG.
    pub fn digest_auth(self, user: &str, password: &str) -> Self {
        self.auth(DigestAuth::new(
            user,
            password,
            CnonceSource::from_bytes(D::entropy),
        ))
    }

    /// A bearer token for this request (RFC 6750).
    pub fn bearer_auth(self, token: &str) -> Self {
        let auth = BearerAuth::new(token).map_err(|e| Error::new(super::ErrorKind::Auth, e));
        self.with(|r| {
            r.auth = Some(Arc::new(auth?));
            Ok(())
        })
    }

    /// Credentials for this request from any pure auth scheme (Digest, OAuth 1.0a, netrc, or
    /// your own [`Auth`]), used instead of the client's.
    pub fn auth(self, auth: impl Auth + 'static) -> Self {
        self.with(|r| {
            r.auth = Some(Arc::new(auth));
            Ok(())
        })
    }

    /// Sends this request through `proxy` (instead of the client's proxy routing).
    pub fn proxy(self, proxy: Proxy) -> Self {
        self.with(|r| {
            r.overrides_mut().proxy = Some(Some(proxy));
            Ok(())
        })
    }

    /// Sends this request directly, whatever the client's proxy routing says.
    pub fn no_proxy(self) -> Self {
        self.with(|r| {
            r.overrides_mut().proxy = Some(None);
            Ok(())
        })
    }

    /// When this request is sent again after a failure, instead of the client's policy.
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.with(|r| {
            r.overrides_mut().retry = Some(policy);
            Ok(())
        })
    }

    /// **Dangerous** when `true`: this request accepts any server certificate and host name.
    pub fn danger_accept_invalid_certs(self, accept: bool) -> Self {
        self.with(|r| {
            r.overrides_mut().verify_tls = Some(!accept);
            Ok(())
        })
    }

    /// The request, for inspection before the client's `execute`.
    pub fn build(self) -> Result<Request<D>, Error> {
        self.request
    }

    /// Sends the request; the response is ready once its head has arrived.
    pub fn send(self) -> D::Sent {
        match self.request {
            Ok(request) => D::execute(&self.client, request),
            Err(e) => D::failed(e),
        }
    }
}

impl<D: Driver> fmt::Debug for RequestBuilder<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("request", &self.request)
            .finish()
    }
}

fn set_content_type(headers: &mut Headers, value: &str) -> Result<(), Error> {
    if !headers.contains("content-type") {
        headers.append("Content-Type", value)?;
    }
    Ok(())
}

/// Configures a client; [`build`](Self::build) makes it.
#[must_use]
pub struct ClientBuilder<D: Driver> {
    config: ClientConfig,
    authenticator: Option<Arc<D::Authenticator>>,
    mounts: Mounts<Arc<D::Transport>>,
    resolver: Option<Arc<D::Resolver>>,
    error: Option<Error>,
    driver: std::marker::PhantomData<fn() -> D>,
}

impl<D: Driver> Default for ClientBuilder<D> {
    fn default() -> Self {
        ClientBuilder {
            config: ClientConfig::default(),
            authenticator: None,
            mounts: Mounts::new(),
            resolver: None,
            error: None,
            driver: std::marker::PhantomData,
        }
    }
}

impl<D: Driver> fmt::Debug for ClientBuilder<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("error", &self.error)
            .finish()
    }
}

impl<D: Driver> ClientBuilder<D> {
    /// A builder with the default configuration.
    pub fn new() -> Self {
        Self::default()
    }

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

    /// The longest wait for a connection when a connection cap (per host or in all) is
    /// reached (default 30 s).
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.pool = Some(timeout);
        self
    }

    /// Idle connections kept per host (default 16; 0 disables reuse).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.config.pool.max_idle_per_host = n;
        self
    }

    /// How long an idle connection may wait for reuse (default 90 s), or less when the server
    /// says it keeps connections open for less (`Keep-Alive: timeout`). Past it the
    /// connection is closed: by duet-async as it expires (a task on the runtime, as hyper's
    /// pool does), by duet-blocking, which has no timer, at the client's next request to any
    /// host (as requests and ureq do).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.pool.idle_timeout = timeout;
        self
    }

    /// A cap on open connections per host (default none); 0 fails [`build`](Self::build).
    pub fn pool_max_per_host(mut self, n: usize) -> Self {
        self.config.pool.max_connections_per_host = Some(n);
        self
    }

    /// Idle connections kept in all, to any host (default 128; httpx's
    /// `max_keepalive_connections`). Past it, the connection idle longest is closed.
    pub fn pool_max_idle(mut self, n: usize) -> Self {
        self.config.pool.max_idle = n;
        self
    }

    /// A cap on open connections in all, to any host (default none; httpx's
    /// `max_connections`). At the cap, a request closes a connection idle to another host to
    /// make room, or when none is idle waits up to the pool timeout. 0 fails
    /// [`build`](Self::build).
    pub fn pool_max_connections(mut self, n: usize) -> Self {
        self.config.pool.max_connections = Some(n);
        self
    }

    /// Connects to `addr` for `host` instead of asking the resolver (curl's `--resolve`). The
    /// URL, the `Host` header and TLS still use `host`. Port 0 in `addr` means the port being
    /// connected to; any other port is used as given. Also applies to proxies named `host`.
    pub fn resolve(self, host: &str, addr: std::net::SocketAddr) -> Self {
        self.resolve_to_addrs(host, &[addr])
    }

    /// Like [`resolve`](Self::resolve), with several addresses, tried as the resolver's
    /// would be (families interleaved, the next beside one that has not answered yet).
    pub fn resolve_to_addrs(mut self, host: &str, addrs: &[std::net::SocketAddr]) -> Self {
        self.config.dial.add_override(host, addrs.to_vec());
        self
    }

    /// Connects to `addrs` for `host` when connecting to `port` only, exactly as curl's
    /// `--resolve HOST:PORT:ADDR`: other ports of `host` ask the resolver (or a
    /// [`resolve`](Self::resolve) entry for any port, which this one wins over at `port`).
    pub fn resolve_for_port(mut self, host: &str, port: u16, addrs: &[std::net::IpAddr]) -> Self {
        self.config.dial.add_port_override(host, port, addrs);
        self
    }

    /// Looks host names up with `resolver` instead of the system's resolver (reqwest's
    /// `dns_resolver`): for origins and proxies alike, and for the origin's address a
    /// `socks5://` proxy is given. The addresses it answers are connected to at the port of
    /// the URL (the origin's or the proxy's), raced as the system's answer would be. It is
    /// not asked for an IP address, for a name that [`resolve`](Self::resolve) and its kin
    /// fix, or for `localhost` and names under it (the loopback addresses, always); nor by a
    /// mounted transport, which connects itself.
    /// The connect timeout bounds it: a lookup still running then fails the request with a
    /// connect timeout. An error it returns fails the request with
    /// [`ErrorKind::Connect`](super::ErrorKind::Connect), and so does an empty answer.
    pub fn dns_resolver(mut self, resolver: Arc<D::Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// How long a connection attempt to one of a host's addresses runs alone before the next
    /// address is tried beside it (Happy Eyeballs, RFC 8305; default 250 ms). A refused
    /// attempt moves on at once; the connect timeout bounds them all.
    pub fn connect_attempt_delay(mut self, delay: Duration) -> Self {
        self.config.dial.attempt_delay = delay;
        self
    }

    /// Makes every connection from the local address `addr` (reqwest's `local_address`,
    /// curl's `--interface` with an address): the socket is bound to it before connecting,
    /// and only a host's addresses of its family are tried. `None` (the default) lets the
    /// system choose. Proxies are connected to from it too.
    pub fn local_address(mut self, addr: impl Into<Option<std::net::IpAddr>>) -> Self {
        self.config.dial.local_address = addr.into();
        self
    }

    /// Binds every connection to the network interface `name` (reqwest's `interface`,
    /// curl's `--interface` with a name, as `eth0` or `wg0`), so its packets leave through it
    /// whatever the routing table says; with [`local_address`](Self::local_address) too, both
    /// apply. Linux only (`SO_BINDTODEVICE`): elsewhere, and for a name the system does not
    /// know, connecting fails with [`ErrorKind::Connect`](super::ErrorKind::Connect).
    /// Proxies are connected to through it too. A name that cannot be one (empty, longer than
    /// 15 bytes, with a NUL, a `/` or white space) fails [`build`](Self::build) with
    /// [`ErrorKind::Connect`](super::ErrorKind::Connect).
    pub fn interface(mut self, name: &str) -> Self {
        let result = match super::is_interface_name(name) {
            true => {
                self.config.dial.interface = Some(name.to_owned());
                Ok(())
            }
            false => Err(Error::msg(
                super::ErrorKind::Connect,
                format!("{name:?} cannot name a network interface"),
            )),
        };
        self.keep(result)
    }

    /// Turns on TCP keep-alive for every connection, the first probe after `idle` without
    /// traffic (reqwest's `tcp_keepalive`, curl's `--keepalive-time`); the system's interval
    /// and probe count follow. `idle` is taken in whole seconds (rounded up), from 1 s to
    /// 32,767 s (about 9 hours, Linux's longest). `None` (the default) leaves it off.
    pub fn tcp_keepalive(mut self, idle: impl Into<Option<Duration>>) -> Self {
        self.config.dial.tcp_keepalive = idle.into();
        self
    }

    /// Asks the kernel for a send buffer of `bytes` on every connection (`SO_SNDBUF`, set
    /// before connecting; hyper's `set_send_buffer_size`, httpx's and urllib3's
    /// `socket_options`). A fixed size turns off the kernel's automatic sizing: smaller
    /// bounds the memory a slow upload holds, larger can speed a long one. Linux doubles the
    /// value and clamps it to its limits. `None` (the default) leaves it to the system.
    pub fn tcp_send_buffer_size(mut self, bytes: impl Into<Option<usize>>) -> Self {
        self.config.dial.send_buffer_size = bytes.into();
        self
    }

    /// Asks the kernel for a receive buffer of `bytes` on every connection (`SO_RCVBUF`,
    /// set before connecting so the window offered in the handshake fits it), as
    /// [`tcp_send_buffer_size`](Self::tcp_send_buffer_size) does for sending. `None` (the
    /// default) leaves it to the system.
    pub fn tcp_recv_buffer_size(mut self, bytes: impl Into<Option<usize>>) -> Self {
        self.config.dial.recv_buffer_size = bytes.into();
        self
    }

    /// Sets a header sent with every request (unless a request sets the same name).
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

    /// Whether to ask for and decode compressed responses (default on). A body in a coding
    /// duet does not decode is handed over as it came, with its `Content-Encoding`.
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

    /// Whether to also trust the PEM bundle named by `SSL_CERT_FILE` and the certificates in
    /// the directories `SSL_CERT_DIR` names, when set (default on, as curl and OpenSSL do).
    pub fn ssl_cert_file(mut self, on: bool) -> Self {
        self.config.tls.ssl_cert_file = on;
        self
    }

    /// Whether to take configuration from the environment (httpx's and requests'
    /// `trust_env`; default true): proxies from `http_proxy`, `https_proxy`, `all_proxy` and
    /// `no_proxy`, roots from `SSL_CERT_FILE` and `SSL_CERT_DIR`, a key log at
    /// `SSLKEYLOGFILE`. Off, a client
    /// behaves the same whatever the environment says (a netrc file asked for with
    /// [`netrc`](Self::netrc) is still found through `$NETRC` or `$HOME`).
    pub fn trust_env(mut self, on: bool) -> Self {
        self.config.trust_env = on;
        self
    }

    /// Whether to append each TLS connection's secrets to the file named by `SSLKEYLOGFILE`
    /// when it is set (NSS key log format, which Wireshark reads to decrypt a capture).
    /// Default on, as curl, requests and httpx do; turn it off for a client that must never
    /// write them, whatever its environment says.
    pub fn ssl_key_log_file(mut self, on: bool) -> Self {
        self.config.tls.ssl_key_log_file = on;
        self
    }

    /// A client certificate chain and key (PEM) for mutual TLS.
    pub fn identity_pem(mut self, cert_chain: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.config.tls.client_identity_pem = Some((cert_chain.into(), key.into()));
        self
    }

    /// The oldest TLS version to offer (reqwest's `min_tls_version`, curl's `--tlsv1.3`);
    /// default TLS 1.2, the oldest rustls speaks. A minimum above the maximum fails
    /// [`build`](Self::build).
    pub fn min_tls_version(mut self, version: super::TlsVersion) -> Self {
        self.config.tls.min_version = Some(version);
        self
    }

    /// The newest TLS version to offer (reqwest's `max_tls_version`, curl's `--tls-max`);
    /// default TLS 1.3.
    pub fn max_tls_version(mut self, version: super::TlsVersion) -> Self {
        self.config.tls.max_version = Some(version);
        self
    }

    /// **Dangerous**: accept any server certificate and host name.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.config.tls.verify = !accept;
        self
    }

    /// How redirects are followed (default: followed, at most 20 hops, Referer sent).
    pub fn redirect(mut self, policy: RedirectPolicy) -> Self {
        self.config.redirect = policy;
        self
    }

    /// Refuses every `http://` URL (reqwest's `https_only`): a request's own is an
    /// [`InvalidUrl`](super::ErrorKind::InvalidUrl) error before anything is sent, a redirect
    /// to one a [`Redirect`](super::ErrorKind::Redirect) error, whatever a request's redirect
    /// policy says. Proxies may still be `http://`. Default off.
    pub fn https_only(mut self, on: bool) -> Self {
        self.config.https_only = on;
        self
    }

    /// Whether to keep cookies between requests in a jar of this client's own (default on).
    /// Off, cookies still live along one request's redirect chain.
    pub fn cookie_store(mut self, on: bool) -> Self {
        self.config.cookies = on.then(SharedJar::new);
        self
    }

    /// Keeps cookies in `jar`, which other clients may share.
    pub fn cookie_jar(mut self, jar: SharedJar) -> Self {
        self.config.cookies = Some(jar);
        self
    }

    /// Joins relative request URLs to `base` (end it with `/` to join below its path).
    pub fn base_url(mut self, base: impl IntoUrl) -> Self {
        let result = base.into_url().map(|url| self.config.base_url = Some(url));
        self = self.keep(result);
        self
    }

    /// Query parameters added to every request (before the request's own; repeats kept).
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        let pairs = pairs
            .iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()));
        self.config.default_query.extend(pairs);
        self
    }

    /// Basic credentials for every request (RFC 7617), for the origin each request starts at.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        let result = BasicAuth::new(user, password)
            .map(|auth| self.config.auth = Some(Arc::new(auth)))
            .map_err(|e| Error::new(super::ErrorKind::Auth, e));
        self = self.keep(result);
        self
    }

    /// Digest credentials for every request (RFC 7616); the client remembers challenges and
    /// nonce counts across requests. Client nonces come from the OS CSPRNG.
    pub fn digest_auth(self, user: &str, password: &str) -> Self {
        self.auth(DigestAuth::new(
            user,
            password,
            CnonceSource::from_bytes(D::entropy),
        ))
    }

    /// Basic credentials from a netrc file for each host a request reaches (used when no
    /// other credentials are set): `None` reads `$NETRC` or `~/.netrc` (a missing default
    /// file means no credentials), `Some(path)` that file (which must exist). A malformed
    /// file fails [`build`](Self::build).
    pub fn netrc(mut self, path: Option<std::path::PathBuf>) -> Self {
        self.config.netrc = Some(path);
        self
    }

    /// A bearer token for every request (RFC 6750).
    pub fn bearer_auth(mut self, token: &str) -> Self {
        let result = BearerAuth::new(token)
            .map(|auth| self.config.auth = Some(Arc::new(auth)))
            .map_err(|e| Error::new(super::ErrorKind::Auth, e));
        self = self.keep(result);
        self
    }

    /// Credentials for every request from any pure auth scheme.
    pub fn auth(mut self, auth: impl Auth + 'static) -> Self {
        self.config.auth = Some(Arc::new(auth));
        self
    }

    /// Credentials that need I/O to obtain (a token file, a refresh under a lock), through
    /// the driver's own `Authenticate` trait; asked once per request that sets no auth itself.
    pub fn authenticator(mut self, authenticator: Arc<D::Authenticator>) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// When failed requests are sent again (default: never). `RetryPolicy::default_safe()`
    /// retries connection failures, connect timeouts and 429/502/503/504 for idempotent
    /// methods, with jittered backoff and `Retry-After`.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// Sends every request through `proxy` (a URL such as `http://user:pw@proxy:3128` or
    /// `socks5h://127.0.0.1:1080`), instead of the environment's proxies. An invalid URL
    /// fails [`build`](Self::build).
    pub fn proxy(mut self, proxy: &str) -> Self {
        let result = Proxy::parse(proxy)
            .map(|p| self.config.proxies = Some(ProxyConfig::all(p)))
            .map_err(|e| Error::new(super::ErrorKind::Proxy, e));
        self = self.keep(result);
        self
    }

    /// Proxy routing in full: per scheme, per host pattern, `no_proxy` rules.
    pub fn proxies(mut self, proxies: ProxyConfig) -> Self {
        self.config.proxies = Some(proxies);
        self
    }

    /// Credentials for proxies that challenge with `407 Proxy Authentication Required`, in
    /// any scheme (Basic, Digest, your own flow); sent only to the proxy.
    pub fn proxy_auth(mut self, auth: impl Auth + 'static) -> Self {
        self.config.proxy_auth = Some(Arc::new(auth));
        self
    }

    /// Digest credentials for proxies that challenge with `407` (RFC 7616).
    pub fn proxy_digest_auth(self, user: &str, password: &str) -> Self {
        self.proxy_auth(DigestAuth::new(
            user,
            password,
            CnonceSource::from_bytes(D::entropy),
        ))
    }

    /// Connects directly, ignoring the proxy environment variables.
    pub fn no_proxy(mut self) -> Self {
        self.config.proxies = Some(ProxyConfig::none());
        self
    }

    /// Sends requests whose URL matches `pattern` through `transport` instead of TCP, as
    /// requests' `Session.mount` and httpx's `mounts` do. Patterns are httpx's:
    /// `"all://"`, `"https://"`, `"http://example.com"`, `"all://*.example.com"`,
    /// `"http://example.com:8080"`; the most specific match wins. The URLs a pattern
    /// matches are never sent through a proxy (the transport is the way there). An invalid
    /// pattern fails [`build`](Self::build).
    pub fn mount(mut self, pattern: &str, transport: Arc<D::Transport>) -> Self {
        match MountPattern::parse(pattern) {
            Ok(pattern) => {
                if !self.config.mounted.contains(&pattern) {
                    self.config.mounted.push(pattern.clone());
                }
                self.mounts.mount(pattern, transport);
            }
            Err(e) => {
                let e = Error::msg(
                    super::ErrorKind::InvalidUrl,
                    format!("mount pattern {pattern:?}: {e}"),
                );
                self = self.keep(Err(e));
            }
        }
        self
    }

    /// Records the exact bytes of every exchange (above TLS) into `recorder`, for replaying
    /// later with the driver's replay transport.
    pub fn record(mut self, recorder: Recorder) -> Self {
        self.config.recorder = Some(recorder);
        self
    }

    /// Runs `hook` with each request head as it is sent (every hop and retry), the framing
    /// field duet adds (`Content-Length` or `Transfer-Encoding`) included.
    pub fn on_request(mut self, hook: impl Fn(&Url, &RequestHead) + Send + Sync + 'static) -> Self {
        self.config.hooks.on_request.push(std::sync::Arc::new(hook));
        self
    }

    /// Runs `hook` with each response head as it arrives (every hop, redirects included).
    pub fn on_response(
        mut self,
        hook: impl Fn(&Url, &ResponseHead) + Send + Sync + 'static,
    ) -> Self {
        self.config
            .hooks
            .on_response
            .push(std::sync::Arc::new(hook));
        self
    }

    /// Builds the client. Fails on invalid TLS material or default headers.
    pub fn build(self) -> Result<D::Client, Error> {
        match self.error {
            Some(e) => Err(e),
            None => D::build_client(self.config, self.authenticator, self.mounts, self.resolver),
        }
    }
}

#[cfg(test)]
#[path = "builder_tests.rs"]
mod tests;
