//! Logging in to a Django site (Hue) the way a browser does: the login page's `csrftoken`
//! cookie, the form POST with `csrfmiddlewaretoken`, `next` and a `Referer`, the redirect to
//! `next`, then the JSON API with the session cookie; and what the site refuses.

use duet_tests::hue::*;
use duet_tests::tls;

/// `(status, path)` of each redirect in a response's history.
macro_rules! hops {
    ($response:expr) => {
        $response
            .history()
            .iter()
            .map(|h| (h.status.as_u16(), h.url.path().to_owned()))
            .collect::<Vec<_>>()
    };
}

/// The whole story on `$hue` with `$client`: login page, form POST (redirect followed), API.
/// Returns the session cookie.
macro_rules! log_in_and_call_the_api {
    ($hue:expr, $client:expr) => {{
        let (hue, client) = (&$hue, &$client);
        let jar = client.cookies().expect("the client keeps cookies");

        // 1. The login page hands out the CSRF cookie; the form carries a masked token.
        let login_url = hue.login_url("/");
        let page = wait!(client.get(&login_url).send()).unwrap();
        assert_eq!(page.status(), 200);
        let html = wait!(page.text()).unwrap();
        let csrf = jar
            .get(CSRF_COOKIE)
            .expect("the login page sets csrftoken")
            .value;
        let form_token = hidden_input(&html, CSRF_FIELD).expect("the form has a CSRF token");
        assert_ne!(form_token, csrf, "the form's token is masked");
        assert_eq!(unmask(&form_token), csrf);

        // 2. The form, with the cookie's secret and a Referer; the 302 to `next` is followed.
        let response = wait!(
            client
                .post(hue.url(LOGIN_PATH))
                .form(&[
                    ("username", USER),
                    ("password", PASSWORD),
                    (CSRF_FIELD, csrf.as_str()),
                    ("next", "/")
                ])
                .header("Referer", &login_url)
                .send()
        )
        .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.url().as_str(), hue.url("/"));
        assert_eq!(hops!(response), [(302, LOGIN_PATH.to_owned())]);
        assert_eq!(response.history()[0].headers.get_str("location"), Some("/"));
        assert!(
            wait!(response.text())
                .unwrap()
                .contains("Welcome to Hue, hue.")
        );
        let rotated = jar.get(CSRF_COOKIE).unwrap().value;
        assert_ne!(rotated, csrf, "the CSRF secret is rotated at login");
        let session = jar.get(SESSION_COOKIE).expect("the login sets sessionid");
        assert!(session.http_only);
        assert_eq!(session.secure, login_url.starts_with("https:"));
        assert_eq!(hue.session_user(&session.value).as_deref(), Some(USER));

        // 3. The JSON API with the session.
        let response = wait!(client.get(hue.url(METADATA_PATH)).send())
            .unwrap()
            .error_for_status()
            .unwrap();
        assert!(response.history().is_empty());
        let metadata: serde_json::Value = wait!(response.json()).unwrap();
        assert_eq!(metadata["status"], 0);
        assert_eq!(metadata["database"], "default");
        assert_eq!(metadata["owner"], "hue");
        assert!(
            metadata["location"]
                .as_str()
                .unwrap()
                .starts_with("hdfs://"),
            "{metadata}"
        );

        // What went on the wire: the POST carried the cookie and the Referer, the redirected
        // GET and the API call the new cookies.
        let requests = hue.requests();
        let post = requests.iter().find(|r| r.method == "POST").unwrap();
        assert_eq!(post.header_str("referer"), Some(login_url.as_str()));
        assert_eq!(
            post.header_str("cookie"),
            Some(format!("{CSRF_COOKIE}={csrf}").as_str())
        );
        let api = requests.last().unwrap();
        assert_eq!(api.target, METADATA_PATH);
        let sent = api.header_str("cookie").unwrap();
        assert!(
            sent.contains(&format!("{SESSION_COOKIE}={}", session.value))
                && sent.contains(&format!("{CSRF_COOKIE}={rotated}")),
            "{sent}"
        );
        session
    }};
}

/// 403 with Django's CSRF failure page giving `$reason`.
macro_rules! assert_csrf_failure {
    ($response:expr, $reason:expr) => {{
        let response = $response;
        assert_eq!(response.status(), 403);
        assert!(response.history().is_empty());
        let body = wait!(response.text()).unwrap();
        assert!(
            body.contains("CSRF verification failed. Request aborted."),
            "{body}"
        );
        assert!(body.contains($reason), "expected {:?} in {body}", $reason);
    }};
}

duet_tests::conformance! {
    fn the_login_story_over_http() {
        let hue = HueServer::start();
        let client = duet::Client::new();
        log_in_and_call_the_api!(hue, client);
        assert_eq!((hue.logins(), hue.sessions()), (1, 1));
    }

    fn the_login_story_over_https() {
        let hue = HueServer::start_https();
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        log_in_and_call_the_api!(hue, client);
        assert_eq!((hue.logins(), hue.sessions()), (1, 1));
        assert!(hue.requests().iter().all(|r| r.tls.is_some()));
    }

    fn the_masked_form_token_works_and_the_cookie_is_kept() {
        let hue = HueServer::start();
        let client = duet::Client::new();
        let first = wait!(wait!(client.get(hue.login_url("/")).send()).unwrap().text()).unwrap();
        let csrf = client.cookies().unwrap().get(CSRF_COOKIE).unwrap().value;
        // A second visit keeps the cookie (no Set-Cookie) and masks it with a new salt.
        let again = wait!(client.get(hue.login_url("/")).send()).unwrap();
        assert_eq!(again.header("set-cookie"), None);
        let again = wait!(again.text()).unwrap();
        let (a, b) = (hidden_input(&first, CSRF_FIELD).unwrap(), hidden_input(&again, CSRF_FIELD).unwrap());
        assert_ne!(a, b);
        assert_eq!((unmask(&a), unmask(&b)), (csrf.clone(), csrf.clone()));
        // The token scraped from the page, as a browser submits it.
        let response = wait!(client
            .post(hue.url(LOGIN_PATH))
            .form(&[("username", USER), ("password", PASSWORD), (CSRF_FIELD, b.as_str()), ("next", PREFERENCES_PATH)])
            .header("Referer", hue.login_url("/"))
            .send())
        .unwrap();
        assert_eq!(response.url().as_str(), hue.url(PREFERENCES_PATH));
        let preferences: serde_json::Value = wait!(response.json()).unwrap();
        assert_eq!(preferences["user"], "hue");
    }

    fn the_api_without_a_session_redirects_to_the_login_page_and_back() {
        let hue = HueServer::start();
        let client = duet::Client::new();
        let response = wait!(client.get(hue.url(METADATA_PATH)).send()).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.url().as_str(), hue.login_url(METADATA_PATH));
        assert_eq!(response.url().as_str(), hue.url("/hue/accounts/login/?next=/metastore/databases/default/metadata"));
        assert_eq!(hops!(response), [(302, METADATA_PATH.to_owned())]);
        assert_eq!(response.header("content-type"), Some("text/html; charset=utf-8"));
        let next: String = response.url().query_pairs().find(|(k, _)| k == "next").unwrap().1.into_owned();
        let html = wait!(response.text()).unwrap();
        assert_eq!(hidden_input(&html, "next").as_deref(), Some(METADATA_PATH));
        assert_eq!(hue.sessions(), 0);
        // Logging in from there lands on the API itself.
        let csrf = client.cookies().unwrap().get(CSRF_COOKIE).unwrap().value;
        let response = wait!(client
            .post(hue.url(LOGIN_PATH))
            .form(&[("username", USER), ("password", PASSWORD), (CSRF_FIELD, csrf.as_str()), ("next", next.as_str())])
            .send())
        .unwrap();
        assert_eq!(response.url().as_str(), hue.url(METADATA_PATH));
        let metadata: serde_json::Value = wait!(response.json()).unwrap();
        assert_eq!(metadata["database"], "default");
    }

    fn a_wrong_password_shows_the_form_again_without_a_session() {
        let hue = HueServer::start();
        let client = duet::Client::new();
        wait!(wait!(client.get(hue.login_url("/")).send()).unwrap().bytes()).unwrap();
        let jar = client.cookies().unwrap();
        let csrf = jar.get(CSRF_COOKIE).unwrap().value;
        let response = wait!(client
            .post(hue.url(LOGIN_PATH))
            .form(&[("username", USER), ("password", "wrong"), (CSRF_FIELD, csrf.as_str()), ("next", "/")])
            .header("Referer", hue.login_url("/"))
            .send())
        .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.history().is_empty());
        assert_eq!(response.url().as_str(), hue.url(LOGIN_PATH));
        let html = wait!(response.text()).unwrap();
        assert!(html.contains(BAD_LOGIN_MESSAGE), "{html}");
        assert!(html.contains("name=\"username\" value=\"hue\""), "the form keeps the username");
        assert_eq!(unmask(&hidden_input(&html, CSRF_FIELD).unwrap()), csrf, "the form is ready for another try");
        assert!(jar.get(SESSION_COOKIE).is_none());
        assert_eq!(jar.get(CSRF_COOKIE).unwrap().value, csrf, "no rotation without a login");
        assert_eq!((hue.logins(), hue.sessions()), (0, 0));
        // Still logged out.
        let response = wait!(client.get(hue.url(METADATA_PATH)).send()).unwrap();
        assert_eq!(response.url().path(), LOGIN_PATH);
    }

    fn a_post_without_a_valid_csrf_token_is_forbidden() {
        let hue = HueServer::start();
        let client = duet::Client::new();
        let credentials = [("username", USER), ("password", PASSWORD), ("next", "/")];
        // No cookie at all: the login page was never visited.
        let response = wait!(client.post(hue.url(LOGIN_PATH)).form(&credentials).send()).unwrap();
        assert_csrf_failure!(response, "CSRF cookie not set.");
        wait!(wait!(client.get(hue.login_url("/")).send()).unwrap().bytes()).unwrap();
        // The cookie, but no token in the form.
        let response = wait!(client.post(hue.url(LOGIN_PATH)).form(&credentials).send()).unwrap();
        let err = response.error_for_status_ref().unwrap();
        assert!(err.is_status(), "{err}");
        assert_csrf_failure!(response, "CSRF token missing.");
        // A token for another secret.
        let other = "a".repeat(32);
        let response = wait!(client
            .post(hue.url(LOGIN_PATH))
            .form(&[("username", USER), ("password", PASSWORD), (CSRF_FIELD, other.as_str())])
            .send())
        .unwrap();
        assert_csrf_failure!(response, "CSRF token from POST incorrect.");
        // The right token, but a cross-site Origin.
        let csrf = client.cookies().unwrap().get(CSRF_COOKIE).unwrap().value;
        let response = wait!(client
            .post(hue.url(LOGIN_PATH))
            .form(&[("username", USER), ("password", PASSWORD), (CSRF_FIELD, csrf.as_str())])
            .header("Origin", "http://evil.example")
            .send())
        .unwrap();
        assert_csrf_failure!(response, "Origin checking failed - http://evil.example does not match any trusted origins.");
        assert_eq!((hue.logins(), hue.sessions()), (0, 0));
        assert!(client.cookies().unwrap().get(SESSION_COOKIE).is_none());
    }

    fn https_requires_a_same_origin_referer() {
        let hue = HueServer::start_https();
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        wait!(wait!(client.get(hue.login_url("/")).send()).unwrap().bytes()).unwrap();
        let csrf = client.cookies().unwrap().get(CSRF_COOKIE).unwrap().value;
        let form = [("username", USER), ("password", PASSWORD), (CSRF_FIELD, csrf.as_str()), ("next", "/")];
        let response = wait!(client.post(hue.url(LOGIN_PATH)).form(&form).send()).unwrap();
        assert_csrf_failure!(response, "Referer checking failed - no Referer.");
        let response = wait!(client.post(hue.url(LOGIN_PATH)).form(&form).header("Referer", "https://evil.example/hue/accounts/login/").send()).unwrap();
        assert_csrf_failure!(response, "Referer checking failed - https://evil.example/hue/accounts/login/ does not match any trusted origins.");
        let insecure = hue.login_url("/").replacen("https:", "http:", 1);
        let response = wait!(client.post(hue.url(LOGIN_PATH)).form(&form).header("Referer", &insecure).send()).unwrap();
        assert_csrf_failure!(response, "Referer checking failed - Referer is insecure while host is secure.");
        assert_eq!(hue.sessions(), 0);
        // The same form with the login page as Referer goes through.
        let response = wait!(client.post(hue.url(LOGIN_PATH)).form(&form).header("Referer", hue.login_url("/")).send()).unwrap();
        assert_eq!(response.url().as_str(), hue.url("/"));
        assert_eq!(hue.sessions(), 1);
    }

    fn a_session_belongs_to_its_client() {
        let hue = HueServer::start();
        let alice = duet::Client::new();
        log_in_and_call_the_api!(hue, alice);
        let bob = duet::Client::new();
        let response = wait!(bob.get(hue.url(METADATA_PATH)).send()).unwrap();
        assert_eq!(response.url().as_str(), hue.login_url(METADATA_PATH), "a fresh client has no session");
        assert!(bob.cookies().unwrap().get(SESSION_COOKIE).is_none());
        let stateless = duet::Client::builder().cookie_store(false).build().unwrap();
        let response = wait!(stateless.get(hue.url(PREFERENCES_PATH)).send()).unwrap();
        assert_eq!(response.url().path(), LOGIN_PATH);
        // The first client is still logged in.
        let response = wait!(alice.get(hue.url(PREFERENCES_PATH)).send()).unwrap();
        assert_eq!(response.url().path(), PREFERENCES_PATH);
        assert_eq!(hue.sessions(), 1);
    }

    fn logging_out_ends_the_session() {
        let hue = HueServer::start();
        let client = duet::Client::new();
        let session = log_in_and_call_the_api!(hue, client);
        let jar = client.cookies().unwrap();
        let csrf = jar.get(CSRF_COOKIE).unwrap().value;
        // Logging out is a POST, so it needs the token too.
        let response = wait!(client.post(hue.url(LOGOUT_PATH)).send()).unwrap();
        assert_csrf_failure!(response, "CSRF token missing.");
        assert_eq!(hue.sessions(), 1);
        let response = wait!(client.post(hue.url(LOGOUT_PATH)).header(CSRF_HEADER, &csrf).send()).unwrap();
        assert_eq!(hops!(response), [(302, LOGOUT_PATH.to_owned())]);
        assert_eq!(response.url().path(), LOGIN_PATH);
        assert_eq!(hue.sessions(), 0);
        assert!(jar.get(SESSION_COOKIE).is_none(), "Max-Age=0 deletes the cookie");
        let response = wait!(client.get(hue.url(METADATA_PATH)).send()).unwrap();
        assert_eq!(response.url().path(), LOGIN_PATH);
        // Replaying the old session cookie by hand does not help either.
        let response = wait!(client.get(hue.url(METADATA_PATH)).cookie(SESSION_COOKIE, &session.value).send()).unwrap();
        assert_eq!(response.url().path(), LOGIN_PATH);
    }
}
