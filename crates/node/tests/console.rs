//! The web console at `/console` (DESIGN §7.13), as a browser sees it, over a ledger without
//! consensus: requests go straight to the node's whole router (`api::app`: the API and its
//! console), and the test plays the chain by applying the mempool's txs as blocks.
//!
//! What is checked: nothing but the sign-in page without a session; the session cookie's name
//! and attributes; the security headers of every console response; the CSRF and same-origin
//! checks on every write; and two consoles in one browser. The harness is `harness/console.rs`;
//! the forms and the console's place beside the REST API are `console_forms.rs`.

#[path = "harness/console.rs"]
mod harness;

use harness::*;

#[tokio::test]
async fn signed_out_pages_send_to_the_sign_in_and_show_nothing() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let record_id = applied_record(&chain, &a).await;
    let paths = [
        "/console".to_string(),
        "/console/".to_string(),
        "/console/records".to_string(),
        format!("/console/records/{record_id}"),
        "/console/records/new".to_string(),
        "/console/requests".to_string(),
        "/console/audit".to_string(),
        "/console/audit/export?format=json".to_string(),
        "/console/audit/1/proof".to_string(),
        "/console/orgs".to_string(),
        "/console/proposals".to_string(),
        "/console/events".to_string(),
        "/console/nope".to_string(),
    ];
    let strangers = [
        String::new(),
        format!("{}={}", a.cookie, "0".repeat(64)),
        format!("{}=", a.cookie),
        format!("other_cookie={}", "1".repeat(64)),
    ];
    for path in &paths {
        for cookie in &strangers {
            let cookies: Vec<&str> = [cookie.as_str()]
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect();
            let answer = a.get(path, &cookies).await;
            answer.assert_see_other("/console/sign-in");
            assert!(!answer.body.contains(&record_id));
            assert!(answer.header(SET_COOKIE).is_none(), "{path}");
            assert_page_headers(&answer, path);
        }
    }
    // The API's own data stays behind its token too.
    let answer = a.get("/v1/records", &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let answer = a.get("/console/sign-in", &[]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert_page_headers(&answer, "the sign-in page");
    assert_no_inline_code(html, "the sign-in page");
    let input = html
        .match_indices("<input")
        .map(|(at, _)| &html[at..at + html[at..].find('>').unwrap()])
        .find(|tag| tag.contains(r#"name="token""#))
        .unwrap_or_else(|| panic!("no token input: {html}"));
    assert!(input.contains(r#"type="password""#), "{input}");
    assert!(html.contains(r#"<form class="card" method="post" action="/console/sign-in">"#));
    assert!(
        html.contains("member-a"),
        "the sign-in page names the organisation"
    );
    assert!(!html.contains(&record_id));
    assert!(
        !html.contains(r#"name="csrf""#),
        "no session, no csrf token"
    );
    assert!(!html.contains(TOKEN_A));
}

#[tokio::test]
async fn the_token_signs_in_with_a_strict_http_only_cookie_and_nothing_else_does() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    assert_eq!(a.cookie, "custodia_member_a_7301");
    for wrong in [
        "",
        "wrong",
        &TOKEN_A[..TOKEN_A.len() - 1],
        &format!("{TOKEN_A}x"),
        TOKEN_B,
    ] {
        let answer = a
            .post("/console/sign-in", &[], &[], &[("token", wrong)])
            .await;
        let html = answer.assert_html(StatusCode::UNAUTHORIZED);
        assert!(answer.header(SET_COOKIE).is_none(), "{wrong:?}");
        assert!(answer.location().is_none());
        assert!(html.contains(r#"id="sign-in-error""#), "{html}");
        assert!(!html.contains(TOKEN_A));
        if !wrong.is_empty() {
            assert!(
                !html.contains(wrong),
                "the wrong token is not echoed: {html}"
            );
        }
        assert_page_headers(&answer, "a failed sign-in");
    }
    // No field at all is a wrong token, not a crash.
    let answer = a.post("/console/sign-in", &[], &[], &[]).await;
    answer.assert_html(StatusCode::UNAUTHORIZED);
    assert!(answer.header(SET_COOKIE).is_none());

    let answer = a
        .post("/console/sign-in", &[], &[], &[("token", TOKEN_A)])
        .await;
    answer.assert_see_other("/console");
    assert_page_headers(&answer, "the sign-in");
    let set_cookie = answer.header(SET_COOKIE).unwrap();
    let (pair, attributes) = set_cookie.split_once("; ").unwrap();
    let value = pair
        .strip_prefix("custodia_member_a_7301=")
        .expect(set_cookie);
    assert_hex_id(value);
    assert_eq!(attributes, "Path=/console; HttpOnly; SameSite=Strict");
    assert!(!answer.body.contains(TOKEN_A));
    assert!(!answer.location().unwrap().contains(TOKEN_A));
    assert_eq!(answer.headers.get_all(SET_COOKIE).iter().count(), 1);

    // Every sign-in is a session of its own.
    let again = a.sign_in().await;
    assert_ne!(again, pair);
    assert!(a.opens(pair).await && a.opens(&again).await);

    // Signed in, the sign-in page sends to the overview; no page shows the token.
    a.get("/console/sign-in", &[pair])
        .await
        .assert_see_other("/console");
    for path in ["/console", "/console/records/new", "/console/orgs"] {
        let answer = a.get(path, &[pair]).await;
        assert!(!answer.body.contains(TOKEN_A), "{path} shows the token");
        assert!(!answer.body.contains(value), "{path} shows the session id");
    }

    let tls = chain.node(MEMBER_A, TOKEN_A, true, PORT_A);
    let answer = tls
        .post("/console/sign-in", &[], &[], &[("token", TOKEN_A)])
        .await;
    answer.assert_see_other("/console");
    let set_cookie = answer.header(SET_COOKIE).unwrap();
    let (pair, attributes) = set_cookie.split_once("; ").unwrap();
    assert_hex_id(pair.strip_prefix("custodia_member_a_7301=").unwrap());
    assert_eq!(
        attributes,
        "Path=/console; HttpOnly; SameSite=Strict; Secure"
    );
    assert!(!answer.body.contains(TOKEN_A));
}

#[tokio::test]
async fn every_console_response_carries_the_security_headers_and_no_inline_code() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let record_id = applied_record(&chain, &a).await;
    applied_record(&chain, &a).await;
    assert_eq!(chain.ledger.state().height(), 2);
    let cookie = a.sign_in().await;

    let answer = a.get("/console", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert!(
        html.contains(r#"<span class="org">member-a</span>"#),
        "{html}"
    );
    assert!(html.contains("<dd>member-a</dd>"), "{html}");
    let status = a.api_get("/v1/status").await;
    let height = status["height"].as_u64().expect("a height");
    assert!(
        html.contains(&format!("<dd data-height>{height}</dd>")),
        "{html}"
    );
    assert!(
        html.contains("submit_record") || html.contains(&record_id),
        "{html}"
    );

    let pages = [
        "/console".to_string(),
        "/console/".to_string(),
        "/console/records".to_string(),
        format!("/console/records/{record_id}"),
        "/console/records/new".to_string(),
        "/console/requests".to_string(),
        "/console/requests/new".to_string(),
        "/console/audit".to_string(),
        "/console/audit/1/proof".to_string(),
        "/console/orgs".to_string(),
        "/console/proposals".to_string(),
    ];
    for path in &pages {
        let answer = a.get(path, &[&cookie]).await;
        let html = answer.assert_html(StatusCode::OK);
        assert_page_headers(&answer, path);
        assert_no_inline_code(html, path);
        assert!(
            html.contains(r#"<script src="/console/static/console.js" defer></script>"#),
            "{path}"
        );
        assert_eq!(csrf_of(html).len(), 64);
        assert!(!html.contains("J. Secret"), "{path} shows a sealed value");
    }

    let answer = a.get("/console/audit/1/proof", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert!(
        html.contains("Verified: this entry is leaf 1 of the history"),
        "{html}"
    );
    let answer = a.get("/console/audit/abc/proof", &[&cookie]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.contains("invalid_seq"), "{answer:?}");
    let answer = a.get("/console/audit/999999/proof", &[&cookie]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.body.contains("event_not_found"), "{answer:?}");

    let answer = a.get("/console/nope", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::NOT_FOUND);
    assert_page_headers(&answer, "a 404");
    assert_no_inline_code(html, "a 404");
    let answer = a.get("/console/records/rec_nope", &[&cookie]).await;
    assert!(answer.status.is_client_error(), "{answer:?}");
    assert_page_headers(&answer, "an API refusal shown as a page");
    assert_no_inline_code(&answer.body, "an API refusal shown as a page");

    let answer = a.get("/console/sign-in", &[]).await;
    answer.assert_html(StatusCode::OK);
    assert_page_headers(&answer, "the sign-in page");

    let answer = a.post("/console/sign-out", &[&cookie], &[], &[]).await;
    let html = answer.assert_html(StatusCode::FORBIDDEN);
    assert_page_headers(&answer, "a refusal");
    assert_no_inline_code(html, "a refusal");
    let answer = a.post("/console/records", &[], &[], &[]).await;
    answer.assert_html(StatusCode::FORBIDDEN);
    assert_page_headers(&answer, "a refusal without a session");

    for (file, kind) in [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
    ] {
        let answer = a.get(&format!("/console/static/{file}"), &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header(CONTENT_TYPE), Some(kind));
        assert_secure_headers(&answer, file);
        assert!(!answer.body.is_empty());
    }
    let answer = a.get("/console/static/nope.js", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_secure_headers(&answer, "a missing asset");
}

#[tokio::test]
async fn every_write_needs_the_sessions_csrf_token_from_this_origin() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let cookie = a.sign_in().await;
    let csrf = a.csrf(&cookie).await;
    let sign_out = "/console/sign-out";

    let refused = |answer: Answer, what: &str| {
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            answer.body
        );
        assert!(answer.header(SET_COOKIE).is_none(), "{what}");
        assert!(answer.location().is_none(), "{what}");
        assert!(
            answer.body.contains(r#"role="alert""#),
            "{what}: {}",
            answer.body
        );
        assert!(!answer.body.contains(&csrf), "{what}");
    };
    refused(a.post(sign_out, &[&cookie], &[], &[]).await, "no csrf");
    assert!(
        a.opens(&cookie).await,
        "a refused sign-out left the session"
    );
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", "")]).await,
        "an empty csrf",
    );
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", &"0".repeat(64))])
            .await,
        "a wrong csrf",
    );
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", &csrf[..63])])
            .await,
        "a cut csrf",
    );
    refused(
        a.post(sign_out, &[], &[], &[("csrf", &csrf)]).await,
        "the csrf without the cookie",
    );
    for site in ["same-site", "cross-site", "none"] {
        refused(
            a.post(
                sign_out,
                &[&cookie],
                &[("sec-fetch-site", site)],
                &[("csrf", &csrf)],
            )
            .await,
            site,
        );
    }
    for origin in [
        "http://127.0.0.1:9999",
        "http://localhost:7301",
        "http://127.0.0.1",
        "null",
    ] {
        refused(
            a.post(
                sign_out,
                &[&cookie],
                &[(ORIGIN.as_str(), origin)],
                &[("csrf", &csrf)],
            )
            .await,
            origin,
        );
    }
    // The sign-in itself takes no csrf token but the same origin checks (login CSRF).
    let answer = a
        .post(
            "/console/sign-in",
            &[],
            &[("sec-fetch-site", "same-site")],
            &[("token", TOKEN_A)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.header(SET_COOKIE).is_none());
    let answer = a
        .post(
            "/console/sign-in",
            &[],
            &[(ORIGIN.as_str(), "http://127.0.0.1:9999")],
            &[("token", TOKEN_A)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.header(SET_COOKIE).is_none());
    // A write other than the sign-out, refused before its handler (nothing reaches the pool).
    let record = [
        ("kind", "claim"),
        ("field_name", "amount"),
        ("field_type", "number"),
        ("field_value", "1"),
        ("action", "submit"),
    ];
    refused(
        a.post("/console/records", &[&cookie], &[], &record).await,
        "a record without csrf",
    );
    assert!(chain.ledger.mempool().is_empty());

    assert!(a.opens(&cookie).await, "the refusals left the session");
    assert_eq!(a.csrf(&cookie).await, csrf, "one csrf token per session");

    let answer = a
        .post(
            sign_out,
            &[&cookie],
            &[
                ("sec-fetch-site", "same-origin"),
                (ORIGIN.as_str(), "http://127.0.0.1:7301"),
            ],
            &[("csrf", &csrf)],
        )
        .await;
    answer.assert_see_other("/console/sign-in");
    assert_eq!(
        answer.header(SET_COOKIE),
        Some("custodia_member_a_7301=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
    );
    assert!(
        !a.opens(&cookie).await,
        "the old cookie still opens the console"
    );
    // Signed out, the old csrf token is nothing either.
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", &csrf)]).await,
        "a signed-out session",
    );
}

#[tokio::test]
async fn two_consoles_in_one_browser_keep_their_sessions_apart() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let b = chain.node(MEMBER_B, TOKEN_B, false, PORT_B);
    assert_eq!(b.cookie, "custodia_member_b_7302");
    // Each console takes its own node's token only.
    let answer = b
        .post("/console/sign-in", &[], &[], &[("token", TOKEN_A)])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let cookie_a = a.sign_in().await;
    let cookie_b = b.sign_in().await;
    let (_, id_a) = cookie_a.split_once('=').unwrap();
    let (_, id_b) = cookie_b.split_once('=').unwrap();

    // One console's cookie is nothing to the other, under either name.
    b.get("/console", &[&cookie_a])
        .await
        .assert_see_other("/console/sign-in");
    a.get("/console", &[&cookie_b])
        .await
        .assert_see_other("/console/sign-in");
    assert!(!b.opens(&format!("{}={id_a}", b.cookie)).await);
    assert!(!a.opens(&format!("{}={id_b}", a.cookie)).await);

    // A browser sends both cookies to both (same host): each console finds its own.
    let both = [cookie_a.as_str(), cookie_b.as_str()];
    for (node, other) in [(&a, &b), (&b, &a)] {
        let answer = node.get("/console", &both).await;
        let html = answer.assert_html(StatusCode::OK);
        let brand = format!(r#"<span class="org">{}</span>"#, node.org);
        assert!(html.contains(&brand), "{html}");
        assert!(!html.contains(&format!(r#"<span class="org">{}</span>"#, other.org)));
    }
    let csrf_a = csrf_of(&a.get("/console", &both).await.body);
    let csrf_b = csrf_of(&b.get("/console", &both).await.body);
    assert_ne!(csrf_a, csrf_b);

    // One session's csrf token is refused by the other's.
    let answer = b
        .post("/console/sign-out", &both, &[], &[("csrf", &csrf_a)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(b.opens(&cookie_b).await);
    let answer = a
        .post("/console/sign-out", &both, &[], &[("csrf", &csrf_b)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(a.opens(&cookie_a).await);

    // Two sessions of one console: neither's token serves the other.
    let second = a.sign_in().await;
    let csrf_second = a.csrf(&second).await;
    assert_ne!(csrf_second, csrf_a);
    let answer = a
        .post("/console/sign-out", &[&second], &[], &[("csrf", &csrf_a)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);

    // The same node on two ports: two cookie names, two session stores.
    let a_again = chain.node(MEMBER_A, TOKEN_A, false, PORT_B);
    assert_eq!(a_again.cookie, "custodia_member_a_7302");
    a_again
        .get("/console", &[&cookie_a])
        .await
        .assert_see_other("/console/sign-in");
    assert!(!a_again.opens(&format!("{}={id_a}", a_again.cookie)).await);

    // Signing out of one console leaves the other signed in.
    let answer = a
        .post("/console/sign-out", &both, &[], &[("csrf", &csrf_a)])
        .await;
    answer.assert_see_other("/console/sign-in");
    assert!(
        answer
            .header(SET_COOKIE)
            .unwrap()
            .starts_with("custodia_member_a_7301=;")
    );
    assert!(!a.opens(&cookie_a).await);
    assert!(a.opens(&second).await);
    assert!(b.opens(&cookie_b).await);
}
