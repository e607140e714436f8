//! Sessions: redirects (with hostile ones), cookies, hooks, base URLs, pagination, per-request
//! settings.

use std::sync::{Arc, Mutex};

use duet_tests::server::*;
use duet_tests::tls;

fn redirect_to(status: u16, location: impl Into<String>) -> Reply {
    Reply::new(status)
        .header("Location", location.into())
        .body("moved")
}

duet_tests::conformance! {
    fn a_redirect_chain_is_followed_with_its_history() {
        let server = Server::http(|r| match r.path() {
            "/a" => redirect_to(302, "/b"),
            "/b" => redirect_to(301, "c?x=1"),
            _ => Reply::ok(format!("at {}", r.target)),
        });
        let response = wait!(duet::get(server.url("/a"))).unwrap();
        assert_eq!(response.url().as_str(), server.url("/c?x=1"));
        let history: Vec<(u16, String)> = response.history().iter().map(|h| (h.status.as_u16(), h.url.path().to_owned())).collect();
        assert_eq!(history, [(302, "/a".to_owned()), (301, "/b".to_owned())]);
        assert_eq!(wait!(response.text()).unwrap(), "at /c?x=1");
        assert_eq!(server.connections(), 1, "drained redirects keep the connection");
        assert_eq!(server.requests()[1].header_str("referer"), Some(server.url("/a").as_str()));
    }

    fn a_303_turns_a_post_into_a_bodiless_get() {
        let server = Server::http(|r| if r.path() == "/login" { redirect_to(303, "/home") } else { Reply::ok(r.method.clone()) });
        let response = wait!(duet::Client::new().post(server.url("/login")).form(&[("user", "ada")]).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "GET");
        let home = &server.requests()[1];
        assert!(home.body.is_empty() && !home.has_header("content-type") && !home.has_header("content-length"));
    }

    fn a_307_replays_the_body_and_a_stream_cannot_be_replayed() {
        let server = Server::http(|r| if r.path() == "/old" { redirect_to(307, "/new") } else { Reply::ok(format!("{} {}", r.method, r.body_str())) });
        let client = duet::Client::new();
        let response = wait!(client.put(server.url("/old")).body("payload").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "PUT payload");
        let stream = duet::Body::from_reader(std::io::Cursor::new(b"once".to_vec()), None);
        let err = wait!(client.put(server.url("/old")).body(stream).send()).unwrap_err();
        assert!(err.is_redirect(), "{err}");
        assert_eq!(server.requests().iter().filter(|r| r.path() == "/new").count(), 1, "the stream never reached /new");
    }

    fn credentials_are_dropped_across_origins_for_the_rest_of_the_chain() {
        // home:/start -> other:/ -> home:/end. Once the chain left home, it comes back without
        // the credentials.
        let home_end = Arc::new(Mutex::new(String::new()));
        let back = home_end.clone();
        let other = Server::http(move |_| redirect_to(302, back.lock().unwrap().clone()));
        let other_url = other.url("/");
        let home = Server::http(move |r| if r.path() == "/start" { redirect_to(302, other_url.clone()) } else { Reply::ok("home") });
        *home_end.lock().unwrap() = home.url("/end");
        let client = duet::Client::new();
        let response = wait!(client.get(home.url("/start")).header("Authorization", "Bearer secret").header("Cookie", "manual=1").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "home");
        let seen: Vec<(String, bool, bool)> = home.requests().iter().chain(other.requests().iter())
            .map(|r| (r.path().to_owned(), r.has_header("authorization"), r.has_header("cookie")))
            .collect();
        assert_eq!(seen, [("/start".to_owned(), true, true), ("/end".to_owned(), false, false), ("/".to_owned(), false, false)]);
    }

    fn protocol_relative_and_backslash_locations_resolve_like_browsers() {
        let target = Server::http(|r| Reply::ok(format!("target {}", r.path())));
        let authority = target.authority();
        let server = Server::http(move |r| match r.path() {
            "/relative" => redirect_to(302, format!("//{authority}/p1")),
            _ => redirect_to(302, format!("/\\{authority}/p2")),
        });
        let client = duet::Client::new();
        assert_eq!(wait!(wait!(client.get(server.url("/relative")).send()).unwrap().text()).unwrap(), "target /p1");
        assert_eq!(wait!(wait!(client.get(server.url("/backslash")).send()).unwrap().text()).unwrap(), "target /p2");
    }

    fn hostile_locations_are_errors_without_a_request() {
        let server = Server::http(|r| match r.path() {
            "/ftp" => redirect_to(302, "ftp://127.0.0.1/file"),
            "/js" => redirect_to(302, "javascript:alert(1)"),
            "/two" => Reply::new(302).header("Location", "/a").header("Location", "/b"),
            _ => Reply::ok("nope"),
        });
        let client = duet::Client::new();
        for path in ["/ftp", "/js", "/two"] {
            let err = wait!(client.get(server.url(path)).send()).unwrap_err();
            assert!(err.is_redirect(), "{path}: {err}");
        }
        assert_eq!(server.requests().len(), 3, "no request followed a refused Location");
    }

    fn a_redirect_loop_runs_into_the_limit_and_keeps_the_history() {
        let server = Server::http(|_| redirect_to(302, "/loop"));
        let client = duet::Client::builder().redirect(duet::RedirectPolicy::limited(5)).build().unwrap();
        let err = wait!(client.get(server.url("/loop")).send()).unwrap_err();
        assert_eq!(err.kind(), duet::ErrorKind::TooManyRedirects, "{err}");
        assert_eq!(err.history().len(), 5);
    }

    fn redirects_can_be_off_per_client_or_per_request() {
        let server = Server::http(|r| if r.path() == "/from" { redirect_to(302, "/to") } else { Reply::ok("to") });
        let off = duet::Client::builder().redirect(duet::RedirectPolicy::none()).build().unwrap();
        assert_eq!(wait!(off.get(server.url("/from")).send()).unwrap().status(), 302);
        let on = duet::Client::new();
        let response = wait!(on.get(server.url("/from")).redirect(duet::RedirectPolicy::none()).send()).unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(response.header("location"), Some("/to"));
        assert_eq!(wait!(on.get(server.url("/from")).send()).unwrap().status(), 200);
    }

    fn https_only_refuses_a_downgrade() {
        let plain = Server::http(|_| Reply::ok("plain"));
        let target = plain.url("/");
        let secure = Server::https(Cert::Localhost, move |_| redirect_to(302, target.clone()));
        let mut policy = duet::RedirectPolicy::default();
        policy.https_only = true;
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).redirect(policy).build().unwrap();
        let err = wait!(client.get(secure.url("/")).send()).unwrap_err();
        assert!(err.is_redirect(), "{err}");
        assert_eq!(plain.requests().len(), 0);
    }

    fn an_https_only_client_refuses_http_urls_and_downgrades_whatever_the_request_policy() {
        let plain = Server::http(|_| Reply::ok("plain"));
        let target = plain.url("/");
        let secure = Server::https(Cert::Localhost, move |r| match r.path() {
            "/down" => redirect_to(302, target.clone()),
            _ => Reply::ok("secure"),
        });
        let client = duet::Client::builder()
            .add_root_certificate_pem(tls::ca_pem())
            .resolve("localhost", tls::LOOPBACK)
            .https_only(true)
            .build()
            .unwrap();
        let err = wait!(client.get(plain.url("/")).send()).unwrap_err();
        assert_eq!(err.kind(), duet::ErrorKind::InvalidUrl, "{err}");
        assert!(err.to_string().contains("https only"), "{err}");
        let response = wait!(client.get(secure.url("/")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "secure");
        let request = client.get(secure.url("/down")).redirect(duet::RedirectPolicy::default());
        let err = wait!(request.send()).unwrap_err();
        assert!(err.is_redirect(), "{err}");
        assert_eq!(plain.requests().len(), 0, "no byte went to the http server");
    }

    fn cookies_persist_in_the_session_and_along_redirects() {
        let server = Server::http(|r| match r.path() {
            "/login" => Reply::new(302).header("Set-Cookie", "session=s1; Path=/; HttpOnly").header("Location", "/home"),
            _ => Reply::ok(r.header_str("cookie").unwrap_or("none").to_owned()),
        });
        let client = duet::Client::new();
        assert_eq!(wait!(wait!(client.get(server.url("/login")).send()).unwrap().text()).unwrap(), "session=s1");
        assert_eq!(wait!(wait!(client.get(server.url("/later")).send()).unwrap().text()).unwrap(), "session=s1");
        assert_eq!(client.cookies().unwrap().get("session").map(|c| c.value), Some("s1".to_owned()));
        let stateless = duet::Client::builder().cookie_store(false).build().unwrap();
        assert_eq!(wait!(wait!(stateless.get(server.url("/login")).send()).unwrap().text()).unwrap(), "session=s1", "the chain still carries it");
        assert_eq!(wait!(wait!(stateless.get(server.url("/later")).send()).unwrap().text()).unwrap(), "none");
    }

    fn a_site_on_localhost_keeps_its_secure_session_cookie_over_http() {
        // A Django site under development with SESSION_COOKIE_SECURE: browsers and curl take
        // a loopback host for a secure origin, so its Secure cookies work over plain http.
        // Under any other name they are refused.
        let server = Server::http(|r| match r.path() {
            "/login" => Reply::new(302).header("Set-Cookie", "sessionid=s1; Secure; HttpOnly; Path=/").header("Location", "/home"),
            _ => Reply::ok(r.header_str("cookie").unwrap_or("none").to_owned()),
        });
        let client = duet::Client::builder()
            .resolve("localhost", server.addr())
            .resolve("app.localhost", server.addr())
            .resolve("site.test", server.addr())
            .build()
            .unwrap();
        for host in ["localhost", "app.localhost", "127.0.0.1"] {
            let url = format!("http://{host}:{}/login", server.port());
            assert_eq!(wait!(wait!(client.get(&url).send()).unwrap().text()).unwrap(), "sessionid=s1", "{url}");
        }
        let url = format!("http://site.test:{}/login", server.port());
        assert_eq!(wait!(wait!(client.get(&url).send()).unwrap().text()).unwrap(), "none");
        let mut kept: Vec<String> = client.cookies().unwrap().cookies().into_iter().map(|c| c.domain).collect();
        kept.sort();
        assert_eq!(kept, ["127.0.0.1", "app.localhost", "localhost"]);
    }

    fn a_response_lists_the_cookies_it_sets() {
        let server = Server::http(|r| match r.path() {
            "/go" => Reply::new(302).header("Set-Cookie", "hop=1").header("Location", "/set"),
            "/set" => Reply::ok("")
                .header("Set-Cookie", "a=1; Path=/")
                .header("Set-Cookie", "elsewhere=2; Domain=example.com")
                .header("Set-Cookie", "gone=3; Max-Age=0")
                .header("Set-Cookie", "b=4; Max-Age=3600; HttpOnly")
                .header("Set-Cookie", "a=5"),
            _ => Reply::ok(""),
        });
        let client = duet::Client::new();
        let response = wait!(client.get(server.url("/go")).send()).unwrap();
        let cookies = response.cookies();
        let pairs: Vec<(&str, &str)> = cookies.iter().map(|c| (c.name.as_str(), c.value.as_str())).collect();
        // Another site's domain and an expired cookie are left out; a name set twice keeps its
        // last value; the redirect's cookie belongs to the redirect, not to this response.
        assert_eq!(pairs, [("a", "5"), ("b", "4")]);
        let b = &cookies[1];
        assert!(b.http_only && b.expires.is_some() && b.host_only && b.domain == "127.0.0.1", "{b:?}");
        let mut jar: Vec<String> = client.cookies().unwrap().cookies().iter().map(|c| format!("{}={}", c.name, c.value)).collect();
        jar.sort();
        assert_eq!(jar, ["a=5", "b=4", "hop=1"], "the session jar holds them too");
        let plain = wait!(client.get(server.url("/plain")).send()).unwrap();
        assert!(plain.cookies().is_empty(), "the jar's cookies are not the response's");
    }

    fn a_jar_can_be_shared_between_clients() {
        let server = Server::http(|r| if r.path() == "/set" { Reply::ok("").header("Set-Cookie", "k=v") } else { Reply::ok(r.header_str("cookie").unwrap_or("none").to_owned()) });
        let jar = duet::SharedJar::new();
        let one = duet::Client::builder().cookie_jar(jar.clone()).build().unwrap();
        let two = duet::Client::builder().cookie_jar(jar.clone()).build().unwrap();
        wait!(wait!(one.get(server.url("/set")).send()).unwrap().bytes()).unwrap();
        assert_eq!(wait!(wait!(two.get(server.url("/get")).send()).unwrap().text()).unwrap(), "k=v");
    }

    fn request_cookies_stay_with_their_origin() {
        let other = Server::http(|r| Reply::ok(r.header_str("cookie").unwrap_or("none").to_owned()));
        let target = other.url("/");
        let server = Server::http(move |_| redirect_to(302, target.clone()));
        let response = wait!(duet::Client::new().get(server.url("/")).cookie("theme", "dark").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "none");
        assert_eq!(server.requests()[0].header_str("cookie"), Some("theme=dark"));
        let err = wait!(duet::Client::new().get(server.url("/")).cookie("bad name", "x").send()).unwrap_err();
        assert!(err.is_invalid_header());
    }

    fn hooks_fire_on_every_hop() {
        let server = Server::http(|r| if r.path() == "/a" { redirect_to(302, "/b") } else { Reply::ok("") });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (requests, responses) = (seen.clone(), seen.clone());
        let client = duet::Client::builder()
            .on_request(move |url, head| requests.lock().unwrap().push(format!("> {} {}", head.method(), url.path())))
            .on_response(move |url, head| responses.lock().unwrap().push(format!("< {} {}", head.status().as_u16(), url.path())))
            .build()
            .unwrap();
        wait!(wait!(client.get(server.url("/a")).send()).unwrap().bytes()).unwrap();
        assert_eq!(*seen.lock().unwrap(), ["> GET /a", "< 302 /a", "> GET /b", "< 200 /b"]);
    }

    fn request_hooks_see_the_framing_field_sent() {
        let server = Server::http(|_| Reply::ok(""));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let fields = seen.clone();
        let client = duet::Client::builder()
            .on_request(move |_, head| {
                let framing = ["content-length", "transfer-encoding"].map(|name| head.headers().get_str(name).map(str::to_owned));
                fields.lock().unwrap().push(framing);
            })
            .build()
            .unwrap();
        wait!(client.get(server.url("/")).send()).unwrap();
        wait!(client.post(server.url("/")).body("twelve bytes").send()).unwrap();
        let streamed = duet::multipart::Form::new().part("f", duet::multipart::Part::reader(std::io::Cursor::new(b"x".to_vec()), None));
        wait!(client.post(server.url("/")).multipart(streamed).send()).unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], [None, None], "a GET has no framing field");
        assert_eq!(seen[1], [Some("12".to_owned()), None]);
        assert_eq!(seen[2], [None, Some("chunked".to_owned())]);
        let sent = server.requests();
        assert_eq!(sent[1].header_str("content-length"), Some("12"));
        assert!(sent[2].chunked);
    }

    fn a_base_url_joins_relative_paths() {
        let server = Server::http(|r| Reply::ok(r.target.clone()));
        let client = duet::Client::builder().base_url(server.url("/api/v1/")).build().unwrap();
        assert_eq!(wait!(wait!(client.get("users?page=2").send()).unwrap().text()).unwrap(), "/api/v1/users?page=2");
        assert_eq!(wait!(wait!(client.get("/health").send()).unwrap().text()).unwrap(), "/health");
        let keyed = duet::Client::builder().base_url(server.url("/")).query(&[("api_key", "k")]).build().unwrap();
        let target = wait!(wait!(keyed.get("search?q=1").query(&[("q", "2")]).send()).unwrap().text()).unwrap();
        assert_eq!(target, "/search?q=1&api_key=k&q=2", "client parameters come before the request's own");
    }

    fn link_headers_drive_pagination() {
        let server = Server::http(|r| {
            let page: u32 = r.query().and_then(|q| q.strip_prefix("page=")).and_then(|p| p.parse().ok()).unwrap_or(1);
            let reply = Reply::ok(format!("page {page}"));
            if page < 3 { reply.header("Link", format!("</items?page={}>; rel=\"next\", </items?page=3>; rel=\"last\"", page + 1)) } else { reply }
        });
        let client = duet::Client::new();
        let mut url = Some(duet::Url::parse(&server.url("/items")).unwrap());
        let mut pages = Vec::new();
        while let Some(next) = url.take() {
            let response = wait!(client.get(next).send()).unwrap();
            url = response.next_link();
            pages.push(wait!(response.text()).unwrap());
        }
        assert_eq!(pages, ["page 1", "page 2", "page 3"]);
    }

    fn tls_verification_can_be_relaxed_for_one_request() {
        let server = Server::https(Cert::SelfSigned, |_| Reply::ok("self-signed"));
        let client = duet::Client::builder().resolve("localhost", tls::LOOPBACK).build().unwrap();
        assert!(wait!(client.get(server.url("/")).send()).unwrap_err().is_tls());
        let response = wait!(client.get(server.url("/")).danger_accept_invalid_certs(true).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "self-signed");
        assert!(wait!(client.get(server.url("/")).send()).unwrap_err().is_tls(), "the relaxed connection is not reused by a verifying request");
    }
}
