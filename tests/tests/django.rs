//! The login story against Django itself (see `duet_tests::django`): both clients log in to
//! a real Django site the way a browser does and call its API with the session, and Django's
//! CSRF middleware and auth views decide. Also checks the suite's `HueServer` against it:
//! Django's masked form token unmasks to its cookie the way `hue::unmask` does.

use duet_tests::django::DjangoSite;
use duet_tests::hue::*;

duet_tests::conformance! {
    fn logging_in_to_django_the_way_a_browser_does_then_calling_its_api() {
        let Some(site) = DjangoSite::shared() else { return };
        let client = duet::Client::new();
        // 1. The login page: the CSRF cookie, and the token masked in the form.
        let login_page = site.url(&format!("{LOGIN_PATH}?next={METADATA_PATH}"));
        let page = wait!(client.get(&login_page).send()).unwrap();
        assert_eq!(page.status(), 200);
        let html = wait!(page.text()).unwrap();
        let csrf = client.cookies().unwrap().get(CSRF_COOKIE).expect("Django's csrftoken").value;
        let token = hidden_input(&html, CSRF_FIELD).expect("the form's token");
        assert_eq!(unmask(&token), csrf, "Django masks its token as HueServer does");
        let next = hidden_input(&html, "next").unwrap();
        assert_eq!(next, METADATA_PATH);
        // 2. The form posted back, with the Referer a browser sends; Django's 302 to `next`
        // is followed with the new session.
        let response = wait!(client
            .post(site.url(LOGIN_PATH))
            .form(&[("username", USER), ("password", PASSWORD), (CSRF_FIELD, token.as_str()), ("next", next.as_str())])
            .header("Referer", &login_page)
            .send())
        .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.url().as_str(), site.url(METADATA_PATH));
        assert_eq!(response.history().iter().map(|h| h.status.as_u16()).collect::<Vec<_>>(), [302]);
        let metadata: serde_json::Value = wait!(response.json()).unwrap();
        assert_eq!((metadata["database"].as_str(), metadata["owner"].as_str()), (Some("default"), Some(USER)));
        let jar = client.cookies().unwrap();
        assert!(jar.get(SESSION_COOKIE).is_some(), "Django's sessionid");
        let rotated = jar.get(CSRF_COOKIE).unwrap().value;
        assert_ne!(rotated, csrf, "Django rotates the CSRF secret at login");
        // 3. The JSON API with the session; a POST with the token in Django's header.
        let response = wait!(client
            .post(site.url(PREFERENCES_PATH))
            .form(&[("note", "from duet")])
            .header(CSRF_HEADER, &rotated)
            .send())
        .unwrap();
        assert_eq!(response.status(), 200);
        let preferences: serde_json::Value = wait!(response.json()).unwrap();
        assert_eq!((preferences["user"].as_str(), preferences["note"].as_str()), (Some(USER), Some("from duet")));
        // Without the token, Django's CSRF middleware refuses the POST.
        let refused = wait!(client.post(site.url(PREFERENCES_PATH)).form(&[("note", "x")]).send()).unwrap();
        assert_eq!(refused.status(), 403);
        assert!(wait!(refused.text()).unwrap().contains("CSRF verification failed"));
        // 4. Logging out ends the session: the API sends the client back to the login page.
        let out = wait!(client.post(site.url(LOGOUT_PATH)).form(&[(CSRF_FIELD, rotated.as_str())]).send()).unwrap();
        assert_eq!(out.url().path(), LOGIN_PATH);
        let response = wait!(client.get(site.url(METADATA_PATH)).send()).unwrap();
        assert_eq!(response.url().path(), LOGIN_PATH);
        assert_eq!(response.url().query(), Some("next=/metastore/databases/default/metadata"));
    }

    fn a_wrong_password_gets_djangos_form_again_and_no_session() {
        let Some(site) = DjangoSite::shared() else { return };
        let client = duet::Client::new();
        wait!(wait!(client.get(site.url(LOGIN_PATH)).send()).unwrap().bytes()).unwrap();
        let csrf = client.cookies().unwrap().get(CSRF_COOKIE).unwrap().value;
        let response = wait!(client
            .post(site.url(LOGIN_PATH))
            .form(&[("username", USER), ("password", "wrong"), (CSRF_FIELD, csrf.as_str())])
            .send())
        .unwrap();
        assert_eq!((response.status().as_u16(), response.url().path()), (200, LOGIN_PATH));
        let html = wait!(response.text()).unwrap();
        assert!(html.contains(BAD_LOGIN_MESSAGE), "{html}");
        assert!(client.cookies().unwrap().get(SESSION_COOKIE).is_none());
    }
}
