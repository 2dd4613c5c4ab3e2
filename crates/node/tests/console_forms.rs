//! The console's forms and its place beside the REST API (DESIGN §7.13), over the harness of
//! `console.rs`: a record submitted through the form is validated, submitted once and shown
//! finalized; and the console is not part of the REST API's document.

#[path = "harness/console.rs"]
mod harness;

use harness::*;

#[tokio::test]
async fn a_record_from_the_form_is_submitted_once_valid_and_finalized() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let cookie = a.sign_in().await;
    let answer = a.get("/console/records/new", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    let csrf = csrf_of(html);
    assert_eq!(html.matches(r#"name="field_name""#).count(), 2);

    // Adding a row keeps what was typed and submits nothing.
    let answer = a
        .post(
            "/console/records",
            &[&cookie],
            &[],
            &[
                ("csrf", &csrf),
                ("kind", "claim"),
                ("field_name", "amount"),
                ("field_type", "number"),
                ("field_value", "1200"),
                ("action", "add"),
            ],
        )
        .await;
    let html = answer.assert_html(StatusCode::OK);
    assert_eq!(html.matches(r#"name="field_name""#).count(), 2, "{html}");
    assert!(html.contains(r#"value="1200""#), "{html}");
    assert!(chain.ledger.mempool().is_empty());

    // A number field that holds no number: 400, naming the field; nothing submitted.
    let answer = a
        .post(
            "/console/records",
            &[&cookie],
            &[],
            &[
                ("csrf", &csrf),
                ("kind", "claim"),
                ("field_name", "amount"),
                ("field_type", "number"),
                ("field_value", "twelve"),
                ("field_name", "insured"),
                ("field_type", "text"),
                ("field_value", "A. Jones"),
                ("action", "submit"),
            ],
        )
        .await;
    let html = answer.assert_html(StatusCode::BAD_REQUEST);
    assert_page_headers(&answer, "a refused form");
    assert!(
        html.contains("field &quot;amount&quot; is a number but &quot;twelve&quot; is not one"),
        "{html}"
    );
    assert!(
        html.contains(r#"value="twelve""#),
        "the form keeps the draft: {html}"
    );
    assert!(
        html.contains(r#"value="A. Jones""#),
        "the form keeps the draft: {html}"
    );
    assert!(chain.ledger.mempool().is_empty());
    assert_eq!(a.api_get("/v1/records").await["records"], json!([]));

    // A valid record: the console waits for the block, then shows the record.
    let rows = [
        ("csrf", csrf.as_str()),
        ("kind", "claim"),
        ("tags", "motor"),
        ("field_name", "amount"),
        ("field_type", "number"),
        ("field_value", "1200"),
        ("field_name", "insured"),
        ("field_type", "text"),
        ("field_value", "A. Jones"),
        ("field_name", ""),
        ("field_type", "text"),
        ("field_value", ""),
        ("action", "submit"),
    ]
    .map(|(name, value)| (name.to_string(), value.to_string()));
    let waiting = {
        let a = a.clone();
        let cookie = cookie.clone();
        tokio::spawn(async move {
            let pairs: Vec<(&str, &str)> =
                rows.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            a.post("/console/records", &[&cookie], &[], &pairs).await
        })
    };
    while chain.ledger.mempool().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!waiting.is_finished(), "answered before any block");
    let receipts = chain.apply_mempool();
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].is_ok(), "{:?}", receipts[0]);
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location().unwrap().to_string();
    let record_id = location
        .strip_prefix("/console/records/")
        .and_then(|rest| rest.strip_suffix("?notice=submitted"))
        .unwrap_or_else(|| panic!("{location}"));
    assert!(record_id.starts_with("rec_"), "{location}");
    assert!(!answer.body.contains("A. Jones"));

    let records = a.api_get("/v1/records").await;
    let records = records["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["record_id"], record_id);
    assert_eq!(records[0]["provider"], "member-a");
    assert_eq!(records[0]["kind"], "claim");
    assert_eq!(records[0]["tags"], json!(["motor"]));
    assert_eq!(records[0]["fields"], json!(["amount", "insured"]));

    let answer = a.get(&location, &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert!(
        html.contains("The record was submitted and finalized."),
        "{html}"
    );
    assert!(html.contains("<dd>amount, insured</dd>"), "{html}");
    assert!(
        !html.contains("A. Jones"),
        "a record page never shows values"
    );
    assert!(!html.contains("1200"), "a record page never shows values");
    let listed = a.get("/console/records", &[&cookie]).await;
    assert!(listed.assert_html(StatusCode::OK).contains(record_id));
}

#[tokio::test]
async fn the_console_is_not_part_of_the_rest_api() {
    let document = openapi_document();
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/v1/records"), "the document has paths");
    let console: Vec<&String> = paths.keys().filter(|p| p.starts_with("/console")).collect();
    assert!(console.is_empty(), "{console:?}");
    let served = served_routes();
    assert!(served.contains(&("POST", "/v1/records")));
    let console: Vec<_> = served
        .iter()
        .filter(|(_, path)| path.starts_with("/console"))
        .collect();
    assert!(console.is_empty(), "{console:?}");

    // As the node serves it, too.
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let answer = a.get("/openapi.json", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let served = answer.json();
    assert!(
        served["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|p| !p.starts_with("/console"))
    );
    // And the API's own paths keep the API's JSON errors, not console pages.
    let answer = a.get("/v1/nope", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(
        answer.json()["error"]["code"].is_string(),
        "{}",
        answer.body
    );
    assert!(answer.header(CONTENT_SECURITY_POLICY).is_none());
}
