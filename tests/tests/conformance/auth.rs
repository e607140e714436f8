//! Authentication against in-process servers, for both clients.

use std::sync::Arc;

use duet_core::auth::{Auth, BasicAuth, basic_header};
use duet_tests::server::*;

/// A server that wants `expected` in Authorization and says 401 otherwise.
fn guarded(expected: String) -> Server {
    Server::http(move |r| match r.header_str("authorization") {
        Some(got) if got == expected => Reply::ok(format!("welcome {}", r.path())),
        _ => Reply::new(401)
            .header("WWW-Authenticate", "Basic realm=\"duet\"")
            .body("who are you?"),
    })
}

/// An authenticator with no I/O of its own, to show the driver trait end to end.
#[derive(Debug)]
struct FromEnvironmentLikeSource(&'static str);

impl duet_blocking::Authenticate for FromEnvironmentLikeSource {
    fn authenticate(&self, _url: &duet_core::Url) -> Result<Arc<dyn Auth>, duet_blocking::Error> {
        Ok(Arc::new(duet_core::auth::BearerAuth::new(self.0).unwrap()))
    }
}

#[duet_async::async_trait]
impl duet_async::Authenticate for FromEnvironmentLikeSource {
    async fn authenticate(
        &self,
        _url: &duet_core::Url,
    ) -> Result<Arc<dyn Auth>, duet_async::Error> {
        Ok(Arc::new(duet_core::auth::BearerAuth::new(self.0).unwrap()))
    }
}

duet_tests::conformance! {
    fn basic_per_client_per_request_and_from_the_url() {
        let server = guarded(basic_header("ada", "pw ü"));
        let client = duet::Client::builder().basic_auth("ada", "pw ü").build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/c")).send()).unwrap().text()).unwrap(), "welcome /c");
        let plain = duet::Client::new();
        assert_eq!(wait!(plain.get(server.url("/r")).basic_auth("ada", "pw ü").send()).unwrap().status(), 200);
        let with_userinfo = server.url("/u").replacen("http://", "http://ada:pw%20%C3%BC@", 1);
        assert_eq!(wait!(plain.get(with_userinfo).send()).unwrap().status(), 200);
        let head = String::from_utf8_lossy(server.requests()[2].raw_head()).into_owned();
        assert!(!head.contains("ada:") && head.starts_with("GET /u HTTP/1.1\r\n"), "userinfo never reaches the wire: {head}");
    }

    fn wrong_credentials_give_the_401_and_its_body() {
        let server = guarded(basic_header("ada", "right"));
        let response = wait!(duet::Client::new().get(server.url("/")).basic_auth("ada", "wrong").send()).unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.header("www-authenticate"), Some("Basic realm=\"duet\""));
        assert_eq!(wait!(response.text()).unwrap(), "who are you?");
        assert_eq!(server.requests().len(), 1, "Basic does not retry");
    }

    fn bearer_and_bad_credentials() {
        let server = guarded("Bearer t0k3n".into());
        let client = duet::Client::builder().bearer_auth("t0k3n").build().unwrap();
        assert_eq!(wait!(client.get(server.url("/")).send()).unwrap().status(), 200);
        let err = wait!(duet::Client::new().get(server.url("/")).bearer_auth("a\r\nInjected: yes").send()).unwrap_err();
        assert!(err.is_auth(), "{err}");
        let err = duet::Client::builder().basic_auth("a:b", "c").build().unwrap_err();
        assert!(err.is_auth(), "{err}");
        assert_eq!(server.requests().len(), 1, "nothing was sent for the bad ones");
    }

    fn an_authenticator_with_its_own_io_runs_per_request() {
        let server = guarded("Bearer from-source".into());
        let client = duet::Client::builder().authenticator(Arc::new(FromEnvironmentLikeSource("from-source"))).build().unwrap();
        assert_eq!(wait!(client.get(server.url("/")).send()).unwrap().status(), 200);
        let overridden = wait!(client.get(server.url("/")).bearer_auth("other").send()).unwrap();
        assert_eq!(overridden.status(), 401, "a request's own auth wins over the authenticator");
    }

    fn credentials_do_not_follow_a_redirect_to_another_origin() {
        let other = Server::http(|r| Reply::ok(if r.has_header("authorization") { "leaked" } else { "clean" }));
        let target = other.url("/");
        let server = Server::http(move |r| match r.header_str("authorization") {
            Some(_) => Reply::new(302).header("Location", target.clone()),
            None => Reply::new(401),
        });
        let client = duet::Client::builder().basic_auth("ada", "pw").build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "clean");
    }

    fn the_pure_auth_trait_is_the_same_type_for_both_clients() {
        let server = guarded(basic_header("x", "y"));
        let auth = BasicAuth::new("x", "y").unwrap();
        let response = wait!(duet::Client::new().get(server.url("/")).auth(auth).send()).unwrap();
        assert_eq!(response.status(), 200);
    }
}
