//! The shared builders through a driver of the tests' own: what each setter leaves in the
//! request or the configuration the engine gets, and which mistakes fail before sending.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use url::Url;

use super::*;
use crate::auth::{AuthFlow, OAuth1};
use crate::client::{ErrorKind, TlsVersion};
use crate::proxy::ProxyConfig;
use crate::transport::Mounts;

/// A driver that sends nothing: "sending" hands the request back.
struct Test;

/// The tests' client: what `build_client` was given.
#[derive(Clone)]
struct Built {
    config: Arc<ClientConfig>,
    authenticator: Option<Arc<str>>,
    mounts: Arc<Mounts<Arc<str>>>,
    resolver: Option<Arc<str>>,
}

/// A body in memory, or a stream of unknown length that cannot be replayed.
#[derive(Debug, Default, PartialEq)]
enum Body {
    #[default]
    Empty,
    Bytes(Vec<u8>),
    Stream,
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::Bytes(bytes)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::Bytes(text.into_bytes())
    }
}

const ENTROPY: [u8; 16] = [7; 16];

impl Driver for Test {
    type Client = Built;
    type Body = Body;
    type Form = Vec<u8>;
    type Sent = Result<Request<Test>, Error>;
    type Authenticator = str;
    type Transport = str;
    type Resolver = str;

    fn build_client(
        config: ClientConfig,
        authenticator: Option<Arc<str>>,
        mounts: Mounts<Arc<str>>,
        resolver: Option<Arc<str>>,
    ) -> Result<Built, Error> {
        Ok(Built {
            config: Arc::new(config),
            authenticator,
            mounts: Arc::new(mounts),
            resolver,
        })
    }

    fn client_config(client: &Built) -> &ClientConfig {
        &client.config
    }

    fn execute(_: &Built, request: Request<Test>) -> Self::Sent {
        Ok(request)
    }

    fn failed(error: Error) -> Self::Sent {
        Err(error)
    }

    fn body_plan(body: &Body) -> BodyPlan {
        match body {
            Body::Empty => BodyPlan::NONE,
            Body::Bytes(b) => BodyPlan {
                framing: crate::RequestBody::Length(b.len() as u64),
                replayable: true,
            },
            Body::Stream => BodyPlan {
                framing: crate::RequestBody::Chunked,
                replayable: false,
            },
        }
    }

    fn body_bytes(body: &Body) -> Option<bytes::Bytes> {
        match body {
            Body::Bytes(b) => Some(bytes::Bytes::from(b.clone())),
            _ => None,
        }
    }

    fn multipart(form: Vec<u8>) -> (String, Body) {
        (
            "multipart/form-data; boundary=b".to_owned(),
            Body::Bytes(form),
        )
    }

    fn entropy() -> [u8; 16] {
        ENTROPY
    }
}

fn client(builder: ClientBuilder<Test>) -> Built {
    builder.build().unwrap()
}

fn default_client() -> Built {
    client(ClientBuilder::new())
}

fn get(client: &Built, url: &str) -> RequestBuilder<Test> {
    RequestBuilder::<Test>::new(client.clone(), Method::GET, url)
}

fn error_kind<T>(result: Result<T, Error>) -> ErrorKind {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

/// Credentials that say whether they need the request body, and nothing else.
#[derive(Debug)]
struct Needs(bool);

impl Auth for Needs {
    fn flow(&self, _: &Url) -> Option<Box<dyn AuthFlow>> {
        None
    }

    fn needs_request_body(&self) -> bool {
        self.0
    }
}

#[test]
fn a_request_url_joins_the_base_and_takes_the_client_query_before_its_own() {
    let client = client(
        ClientBuilder::new()
            .base_url("http://127.0.0.1:9/api/")
            .query(&[("k", "1")]),
    );
    let request = RequestBuilder::<Test>::new(client.clone(), Method::PUT, "items?x=2")
        .query(&[("a", "1"), ("a", "2 3")])
        .build()
        .unwrap();
    assert_eq!(request.method(), Method::PUT);
    assert_eq!(
        request.url().as_str(),
        "http://127.0.0.1:9/api/items?x=2&k=1&a=1&a=2+3"
    );
    // Without a client query, the URL is the one given.
    let plain = get(&default_client(), "http://127.0.0.1:9/p?x=1")
        .build()
        .unwrap();
    assert_eq!(plain.url().as_str(), "http://127.0.0.1:9/p?x=1");
}

#[test]
fn a_bad_url_fails_the_request_and_sending_it_reports_the_same() {
    let client = default_client();
    let kind = error_kind(get(&client, "http://[::1").header("X", "1").build());
    assert_eq!(kind, ErrorKind::InvalidUrl);
    assert_eq!(
        error_kind(get(&client, "no scheme").send()),
        ErrorKind::InvalidUrl
    );
    // A good request is handed to the driver's execute.
    let sent = get(&client, "http://127.0.0.1:9/").send().unwrap();
    assert_eq!(sent.url().as_str(), "http://127.0.0.1:9/");
}

#[test]
fn headers_are_appended_and_the_first_mistake_is_the_one_kept() {
    let client = default_client();
    let request = get(&client, "http://127.0.0.1:9/")
        .header("X-A", "1")
        .headers([("X-A", "2"), ("X-B", "3")])
        .build()
        .unwrap();
    let values: Vec<&[u8]> = request.headers().get_all("x-a").collect();
    assert_eq!(values, [b"1".as_slice(), b"2"]);
    assert_eq!(request.headers().get_str("x-b"), Some("3"));

    let bad = get(&client, "http://127.0.0.1:9/")
        .header("X-A", "1\r\nInjected: yes")
        .basic_auth("a:b", "p")
        .build();
    assert_eq!(error_kind(bad), ErrorKind::InvalidHeader);
    let bad = get(&client, "http://127.0.0.1:9/")
        .headers([("X-A", "1"), ("Bad Name", "2")])
        .build();
    assert_eq!(error_kind(bad), ErrorKind::InvalidHeader);
}

#[test]
fn a_header_left_out_is_removed_and_remembered_once_in_lowercase() {
    let client = default_client();
    let request = get(&client, "http://127.0.0.1:9/")
        .header("Accept", "text/plain")
        .header("X-Keep", "1")
        .without_header("Accept")
        .without_header("ACCEPT")
        .without_header("Cookie")
        .build()
        .unwrap();
    assert!(!request.headers().contains("accept"));
    assert_eq!(request.headers().get_str("x-keep"), Some("1"));
    assert_eq!(request.omitted_headers(), ["accept", "cookie"]);
    let (parts, _) = request.into_parts(&client.config);
    assert_eq!(parts.omit, ["accept", "cookie"]);

    let plain = get(&client, "http://127.0.0.1:9/").build().unwrap();
    assert!(plain.omitted_headers().is_empty());
    for needed in [
        "Host",
        "content-length",
        "Transfer-Encoding",
        "authorization",
        "Proxy-Authorization",
        "bad name",
    ] {
        let result = get(&client, "http://127.0.0.1:9/")
            .without_header(needed)
            .build();
        assert_eq!(error_kind(result), ErrorKind::InvalidHeader, "{needed}");
    }
}

#[test]
fn bodies_set_their_content_type_unless_the_caller_did() {
    let client = default_client();
    let url = "http://127.0.0.1:9/";
    let form = get(&client, url)
        .form(&[("a", "1 2"), ("a", "&")])
        .build()
        .unwrap();
    assert_eq!(form.body(), &Body::Bytes(b"a=1+2&a=%26".to_vec()));
    assert_eq!(
        form.headers().get_str("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let own = get(&client, url)
        .header("Content-Type", "text/x-mine")
        .form(&[("a", "1")])
        .build()
        .unwrap();
    let types: Vec<&[u8]> = own.headers().get_all("content-type").collect();
    assert_eq!(types, [b"text/x-mine".as_slice()]);

    let text = get(&client, url).body("hi".to_owned()).build().unwrap();
    assert_eq!(text.body(), &Body::Bytes(b"hi".to_vec()));
    assert!(!text.headers().contains("content-type"));

    // A multipart form's type replaces the caller's: only it names the boundary.
    let multipart = get(&client, url)
        .header("Content-Type", "text/x-mine")
        .multipart(b"parts".to_vec())
        .build()
        .unwrap();
    let types: Vec<&[u8]> = multipart.headers().get_all("content-type").collect();
    assert_eq!(types, [b"multipart/form-data; boundary=b".as_slice()]);
    assert_eq!(multipart.body(), &Body::Bytes(b"parts".to_vec()));
}

#[cfg(feature = "json")]
#[test]
fn a_json_body_is_serialized_with_its_type() {
    let client = default_client();
    let url = "http://127.0.0.1:9/";
    let json = get(&client, url)
        .json(&serde_json::json!({"a": [1, 2]}))
        .build()
        .unwrap();
    assert_eq!(json.body(), &Body::Bytes(br#"{"a":[1,2]}"#.to_vec()));
    assert_eq!(
        json.headers().get_str("content-type"),
        Some("application/json")
    );
    let own = get(&client, url)
        .header("Content-Type", "application/vnd.x+json")
        .json(&1)
        .build()
        .unwrap();
    assert_eq!(
        own.headers().get_str("content-type"),
        Some("application/vnd.x+json")
    );
    // A value serde cannot write (a map with non-string keys) is a body error.
    let map: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
    assert_eq!(
        error_kind(get(&client, url).json(&map).build()),
        ErrorKind::Body
    );
}

#[test]
fn a_request_timeout_keeps_the_client_steps_and_sets_the_total() {
    let client = client(ClientBuilder::new().read_timeout(Duration::from_secs(3)));
    let url = "http://127.0.0.1:9/";
    assert_eq!(get(&client, url).build().unwrap().timeouts(), None);
    let request = get(&client, url)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let timeouts = request.timeouts().copied().unwrap();
    assert_eq!(timeouts.total, Some(Duration::from_secs(5)));
    assert_eq!(timeouts.read, Some(Duration::from_secs(3)));
    assert_eq!(timeouts.connect, Timeouts::default().connect);

    let mine = Timeouts {
        connect: None,
        ..Timeouts::default()
    };
    let request = get(&client, url).timeouts(mine).build().unwrap();
    assert_eq!(request.timeouts(), Some(&mine));
    let (parts, _) = request.into_parts(&client.config);
    assert_eq!(parts.timeouts, Some(mine));
}

#[test]
fn overrides_reach_the_engine_parts() {
    let client = default_client();
    let proxy = crate::proxy::Proxy::parse("http://127.0.0.1:3128").unwrap();
    let request = get(&client, "http://127.0.0.1:9/")
        .redirect(RedirectPolicy::none())
        .retry(RetryPolicy::default_safe())
        .proxy(proxy.clone())
        .cookie("a", "1")
        .cookie("b", "x=y")
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(request.redirect(), Some(&RedirectPolicy::none()));
    assert_eq!(request.verify_tls(), Some(false));
    let (parts, body) = request.into_parts(&client.config);
    assert_eq!(body, Body::Empty);
    assert_eq!(parts.redirect, Some(RedirectPolicy::none()));
    assert_eq!(parts.retry, Some(RetryPolicy::default_safe()));
    assert_eq!(parts.proxy, Some(Some(proxy)));
    let cookies = [("a".to_owned(), "1".to_owned()), ("b".into(), "x=y".into())];
    assert_eq!(parts.cookies, cookies);
    assert_eq!((parts.entropy)(), ENTROPY);

    let direct = get(&client, "http://127.0.0.1:9/")
        .no_proxy()
        .danger_accept_invalid_certs(false)
        .build()
        .unwrap();
    assert_eq!(direct.verify_tls(), Some(true));
    assert_eq!(direct.redirect(), None);
    let (parts, _) = direct.into_parts(&client.config);
    assert_eq!(parts.proxy, Some(None));

    // Nothing overridden: the engine uses the client's settings for all of it.
    let plain = get(&client, "http://127.0.0.1:9/").build().unwrap();
    assert_eq!(plain.verify_tls(), None);
    let (parts, _) = plain.into_parts(&client.config);
    assert!(parts.redirect.is_none() && parts.retry.is_none() && parts.proxy.is_none());
    assert!(parts.cookies.is_empty() && parts.timeouts.is_none());
}

#[test]
fn a_cookie_that_would_break_the_header_fails_the_request() {
    let client = default_client();
    for (name, value) in [
        ("", "1"),
        ("a=b", "1"),
        ("a;b", "1"),
        ("a b", "1"),
        ("a\tb", "1"),
        ("a\x01", "1"),
        ("a", "1;b=2"),
        ("a", "1\r\n"),
        ("a", "\x7f"),
    ] {
        let result = get(&client, "http://127.0.0.1:9/")
            .cookie(name, value)
            .build();
        assert_eq!(
            error_kind(result),
            ErrorKind::InvalidHeader,
            "{name:?}={value:?}"
        );
    }
}

#[test]
fn request_credentials_are_checked_when_given() {
    let client = default_client();
    let url = "http://127.0.0.1:9/";
    assert!(get(&client, url).build().unwrap().auth().is_none());
    for request in [
        get(&client, url).basic_auth("u", "p"),
        get(&client, url).bearer_auth("t"),
        get(&client, url).digest_auth("u", "p"),
        get(&client, url).auth(Needs(false)),
    ] {
        let request = request.build().unwrap();
        assert!(request.auth().is_some(), "{request:?}");
    }
    let basic = get(&client, url).basic_auth("u", "p").build().unwrap();
    let mut flow = basic.auth().unwrap().flow(&basic.url().clone()).unwrap();
    let mut headers = crate::Headers::new();
    flow.authorize(&mut crate::auth::AuthRequest {
        method: &Method::GET,
        url: basic.url(),
        headers: &mut headers,
        body: None,
    })
    .unwrap();
    assert_eq!(headers.get_str("authorization"), Some("Basic dTpw"));

    let kind = error_kind(get(&client, url).basic_auth("a:b", "p").build());
    assert_eq!(kind, ErrorKind::Auth);
    let kind = error_kind(get(&client, url).bearer_auth("t\n").build());
    assert_eq!(kind, ErrorKind::Auth);
}

/// A body in memory goes to the engine only when some credentials might sign or hash it.
#[test]
fn the_body_bytes_reach_the_engine_only_with_credentials() {
    let bytes = |config: &ClientConfig, own: bool| {
        let mut request = Request::<Test>::new(Method::POST, Url::parse("http://a.test/").unwrap());
        request.set_body(b"data".to_vec());
        if own {
            request.set_auth(Arc::new(Needs(false)));
        }
        let (parts, body) = request.into_parts(config);
        assert_eq!(body, Body::Bytes(b"data".to_vec()));
        assert_eq!(parts.body.framing, crate::RequestBody::Length(4));
        parts.body_bytes
    };
    let none = ClientConfig::default();
    assert_eq!(bytes(&none, false), None);
    assert_eq!(bytes(&none, true).as_deref(), Some(b"data".as_slice()));
    let origin = ClientConfig {
        auth: Some(Arc::new(Needs(false))),
        ..ClientConfig::default()
    };
    assert_eq!(bytes(&origin, false).as_deref(), Some(b"data".as_slice()));
    let proxy = ClientConfig {
        proxy_auth: Some(Arc::new(Needs(false))),
        ..ClientConfig::default()
    };
    assert_eq!(bytes(&proxy, false).as_deref(), Some(b"data".as_slice()));

    // A stream is the driver's to buffer first, when the credentials say so.
    let mut request = Request::<Test>::new(Method::POST, Url::parse("http://a.test/").unwrap());
    request.set_body(Body::Stream);
    let (parts, _) = request.into_parts(&origin);
    assert_eq!(parts.body_bytes, None);
    assert!(!parts.body.replayable);
}

#[test]
fn whether_credentials_need_the_body_follows_whose_credentials_are_used() {
    let url = |s: &str| Url::parse(s).unwrap();
    let plain = Request::<Test>::new(Method::POST, url("http://a.test/"));
    let none = ClientConfig::default();
    assert!(!plain.auth_needs_body(&none));
    let origin = ClientConfig {
        auth: Some(Arc::new(Needs(true))),
        ..ClientConfig::default()
    };
    assert!(plain.auth_needs_body(&origin));
    // The request's own credentials are used instead of the client's.
    let mut own = Request::<Test>::new(Method::POST, url("http://a.test/"));
    own.set_auth(Arc::new(Needs(false)));
    assert!(!own.auth_needs_body(&origin));
    own.set_auth(Arc::new(Needs(true)));
    assert!(own.auth_needs_body(&none));
    // OAuth 1.0a signs a form body.
    own.set_auth(Arc::new(OAuth1::new("key", "secret", || 0, String::new)));
    assert!(own.auth_needs_body(&none));

    // Proxy credentials see the body only when the request goes to a forward proxy in
    // absolute form: not through a tunnel (https), and not when sent directly.
    let proxied = ClientConfig {
        proxy_auth: Some(Arc::new(Needs(true))),
        proxies: Some(ProxyConfig::all(
            crate::proxy::Proxy::parse("http://127.0.0.1:3128").unwrap(),
        )),
        ..ClientConfig::default()
    };
    assert!(plain.auth_needs_body(&proxied));
    let tunneled = Request::<Test>::new(Method::POST, url("https://a.test/"));
    assert!(!tunneled.auth_needs_body(&proxied));
    let client = client(ClientBuilder::new());
    let direct = RequestBuilder::<Test>::new(client, Method::POST, "http://a.test/")
        .no_proxy()
        .build()
        .unwrap();
    assert!(!direct.auth_needs_body(&proxied));
}

#[test]
fn a_request_can_be_changed_before_it_is_sent() {
    let shared = Arc::new(Url::parse("http://a.test/one").unwrap());
    let mut request = Request::<Test>::with_shared_url(Method::DELETE, shared.clone());
    request.url_mut().set_path("/two");
    assert_eq!(shared.path(), "/one", "changed copy-on-write");
    assert_eq!(request.url().path(), "/two");
    request.headers_mut().append("X-A", "1").unwrap();
    assert_eq!(request.headers().get_str("x-a"), Some("1"));
    request.set_body("text".to_owned());
    assert_eq!(request.take_body(), Body::Bytes(b"text".to_vec()));
    assert_eq!(request.body(), &Body::Empty);
    let debug = format!("{request:?}");
    for part in ["DELETE", "http://a.test/two", "X-A", "Empty"] {
        assert!(debug.contains(part), "{debug}");
    }
    let builder = get(&default_client(), "http://b.test/");
    assert!(format!("{builder:?}").contains("http://b.test/"));
}

#[test]
fn a_client_builder_starts_from_the_default_configuration() {
    let built = default_client();
    let config = &built.config;
    let default = ClientConfig::default();
    assert_eq!(config.timeouts, default.timeouts);
    assert_eq!(config.pool, default.pool);
    assert_eq!(config.tls, default.tls);
    assert_eq!(config.default_headers, default.default_headers);
    assert!(config.cookies.is_some() && config.decompress && config.trust_env);
    assert!(config.auth.is_none() && config.proxy_auth.is_none() && config.proxies.is_none());
    assert!(built.authenticator.is_none() && built.resolver.is_none());
    assert!(built.mounts.is_empty() && config.mounted.is_empty());
    let debug = format!("{:?}", ClientBuilder::<Test>::new());
    assert!(
        debug.contains("config") && debug.contains("error: None"),
        "{debug}"
    );
}

#[test]
fn each_client_setting_lands_in_the_configuration() {
    let s = Duration::from_secs;
    let jar = crate::cookies::SharedJar::new();
    let recorder = crate::transport::Recorder::new();
    let addr: std::net::SocketAddr = "127.0.0.2:8080".parse().unwrap();
    let ip: std::net::IpAddr = "127.0.0.3".parse().unwrap();
    let limits = crate::Limits {
        max_headers: 7,
        ..crate::Limits::default()
    };
    let built = client(
        ClientBuilder::new()
            .timeout(s(1))
            .connect_timeout(s(2))
            .read_timeout(s(3))
            .write_timeout(s(4))
            .pool_timeout(s(5))
            .pool_max_idle_per_host(6)
            .pool_idle_timeout(s(7))
            .pool_max_per_host(8)
            .pool_max_idle(9)
            .pool_max_connections(10)
            .resolve("one.test", addr)
            .resolve_to_addrs("two.test", &[addr, "[::1]:0".parse().unwrap()])
            .resolve_for_port("three.test", 443, &[ip])
            .dns_resolver(Arc::from("resolver"))
            .connect_attempt_delay(Duration::from_millis(11))
            .local_address(ip)
            .interface("eth0")
            .tcp_keepalive(s(12))
            .tcp_send_buffer_size(13)
            .tcp_recv_buffer_size(14)
            .decompress(false)
            .limits(limits.clone())
            .add_root_certificate_pem(b"pem".to_vec())
            .webpki_roots(false)
            .native_roots(true)
            .ssl_cert_file(false)
            .trust_env(false)
            .ssl_key_log_file(false)
            .identity_pem(b"chain".to_vec(), b"key".to_vec())
            .min_tls_version(TlsVersion::Tls1_3)
            .max_tls_version(TlsVersion::Tls1_3)
            .danger_accept_invalid_certs(true)
            .redirect(RedirectPolicy::limited(3))
            .https_only(true)
            .cookie_jar(jar.clone())
            .netrc(Some("/n".into()))
            .retry(RetryPolicy::default_safe())
            .authenticator(Arc::from("authenticator"))
            .record(recorder)
            .on_request(|_, _| {})
            .on_request(|_, _| {})
            .on_response(|_, _| {}),
    );
    let c = &built.config;
    let timeouts = c.timeouts;
    assert_eq!(
        [
            timeouts.total,
            timeouts.connect,
            timeouts.read,
            timeouts.write,
            timeouts.pool
        ],
        [1, 2, 3, 4, 5].map(|n| Some(s(n)))
    );
    assert_eq!(c.pool.max_idle_per_host, 6);
    assert_eq!(c.pool.idle_timeout, s(7));
    assert_eq!(c.pool.max_connections_per_host, Some(8));
    assert_eq!(c.pool.max_idle, 9);
    assert_eq!(c.pool.max_connections, Some(10));
    assert_eq!(c.dial.fixed_addrs("one.test", 80), Some(vec![addr]));
    assert_eq!(c.dial.fixed_addrs("two.test", 80).map(|a| a.len()), Some(2));
    assert_eq!(
        c.dial.fixed_addrs("three.test", 443),
        Some(vec![std::net::SocketAddr::new(ip, 443)])
    );
    assert_eq!(c.dial.fixed_addrs("three.test", 80), None);
    assert_eq!(built.resolver.as_deref(), Some("resolver"));
    assert_eq!(c.dial.attempt_delay, Duration::from_millis(11));
    assert_eq!(c.dial.local_address, Some(ip));
    assert_eq!(c.dial.interface.as_deref(), Some("eth0"));
    assert_eq!(c.dial.tcp_keepalive, Some(s(12)));
    assert_eq!(c.dial.send_buffer_size, Some(13));
    assert_eq!(c.dial.recv_buffer_size, Some(14));
    assert!(!c.decompress && !c.trust_env);
    assert_eq!(c.limits, limits);
    let tls = &c.tls;
    assert_eq!(tls.extra_roots_pem, [b"pem".to_vec()]);
    assert!(!tls.webpki_roots && tls.native_roots && !tls.ssl_cert_file);
    assert!(!tls.ssl_key_log_file && !tls.verify);
    assert_eq!(
        tls.client_identity_pem,
        Some((b"chain".to_vec(), b"key".to_vec()))
    );
    assert_eq!(tls.min_version, Some(TlsVersion::Tls1_3));
    assert_eq!(tls.max_version, Some(TlsVersion::Tls1_3));
    assert_eq!(c.redirect, RedirectPolicy::limited(3));
    assert!(c.https_only);
    assert!(c.cookies.as_ref().unwrap().ptr_eq(&jar));
    assert_eq!(c.netrc, Some(Some("/n".into())));
    assert_eq!(c.retry, RetryPolicy::default_safe());
    assert_eq!(built.authenticator.as_deref(), Some("authenticator"));
    assert!(c.recorder.is_some());
    assert_eq!(
        (c.hooks.on_request.len(), c.hooks.on_response.len()),
        (2, 1)
    );

    // Each has its opposite.
    let built = client(
        ClientBuilder::new()
            .local_address(None)
            .tcp_keepalive(None)
            .cookie_store(false)
            .danger_accept_invalid_certs(false)
            .decompress(true),
    );
    let c = &built.config;
    assert!(c.cookies.is_none() && c.tls.verify && c.decompress);
    assert!(c.dial.local_address.is_none() && c.dial.tcp_keepalive.is_none());
    let fresh = client(ClientBuilder::new().cookie_store(true));
    assert!(fresh.config.cookies.is_some());
}

#[test]
fn client_credentials_and_headers() {
    let built = client(
        ClientBuilder::new()
            .user_agent("agent/1")
            .default_header("X-A", "1")
            .default_header("x-a", "2")
            .basic_auth("u", "p")
            .proxy_digest_auth("pu", "pp"),
    );
    let c = &built.config;
    assert_eq!(c.default_headers.get_str("user-agent"), Some("agent/1"));
    assert_eq!(c.default_headers.get_all("x-a").count(), 1, "replaced");
    assert_eq!(c.default_headers.get_str("x-a"), Some("2"));
    assert_eq!(c.default_headers.get_str("accept"), Some("*/*"));
    assert!(format!("{:?}", c.auth).contains("Basic"));
    assert!(format!("{:?}", c.proxy_auth).contains("Digest"));

    let mut only = crate::Headers::new();
    only.append("X-Only", "1").unwrap();
    let built = client(ClientBuilder::new().default_headers(only.clone()));
    assert_eq!(built.config.default_headers, only);

    for (builder, scheme) in [
        (ClientBuilder::new().bearer_auth("t"), "Bearer"),
        (ClientBuilder::new().digest_auth("u", "p"), "Digest"),
        (ClientBuilder::new().auth(Needs(true)), "Needs"),
    ] {
        let built = client(builder);
        assert!(
            format!("{:?}", built.config.auth).contains(scheme),
            "{scheme}"
        );
    }
    let built = client(ClientBuilder::new().proxy_auth(Needs(true)));
    assert!(
        built
            .config
            .proxy_auth
            .as_ref()
            .unwrap()
            .needs_request_body()
    );
}

#[test]
fn client_proxies_and_mounts() {
    let url = Url::parse("http://a.test/").unwrap();
    let built = client(ClientBuilder::new().proxy("http://127.0.0.1:3128"));
    let proxies = built.config.proxies.clone().unwrap();
    assert_eq!(proxies.select(&url).unwrap().host(), "127.0.0.1");
    let built = client(ClientBuilder::new().no_proxy());
    assert!(built.config.proxies.clone().unwrap().is_direct());
    let built = client(ClientBuilder::new().proxies(ProxyConfig::none()));
    assert_eq!(built.config.proxies, Some(ProxyConfig::none()));

    let built = client(
        ClientBuilder::new()
            .mount("http://a.test", Arc::from("first"))
            .mount("http://a.test", Arc::from("second"))
            .mount("all://", Arc::from("any")),
    );
    assert_eq!(built.config.mounted.len(), 2, "each pattern once");
    assert_eq!(built.mounts.select(&url).map(|t| &**t), Some("second"));
    let other = Url::parse("https://b.test/").unwrap();
    assert_eq!(built.mounts.select(&other).map(|t| &**t), Some("any"));
}

#[test]
fn a_client_setting_that_cannot_work_fails_the_build_with_the_first_mistake() {
    let build = |builder: ClientBuilder<Test>| error_kind(builder.build());
    assert_eq!(
        build(ClientBuilder::new().interface("")),
        ErrorKind::Connect
    );
    assert_eq!(
        build(ClientBuilder::new().interface("a/b").proxy("ftp://p")),
        ErrorKind::Connect
    );
    assert_eq!(
        build(ClientBuilder::new().proxy("ftp://p")),
        ErrorKind::Proxy
    );
    assert_eq!(
        build(
            ClientBuilder::new()
                .default_header("X", "a\nb")
                .interface("")
        ),
        ErrorKind::InvalidHeader
    );
    assert_eq!(
        build(ClientBuilder::new().user_agent("a\rb")),
        ErrorKind::InvalidHeader
    );
    assert_eq!(
        build(ClientBuilder::new().base_url("not a url")),
        ErrorKind::InvalidUrl
    );
    assert_eq!(
        build(ClientBuilder::new().basic_auth("a:b", "p")),
        ErrorKind::Auth
    );
    assert_eq!(
        build(ClientBuilder::new().bearer_auth("t\r")),
        ErrorKind::Auth
    );
    assert_eq!(
        build(ClientBuilder::new().mount("gopher://", Arc::from("t"))),
        ErrorKind::InvalidUrl
    );
    let debug = format!("{:?}", ClientBuilder::<Test>::new().interface(""));
    assert!(debug.contains("error: Some"), "{debug}");
}
