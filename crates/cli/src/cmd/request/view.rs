//! How requests look to people: the table of `request list`, the details of `request show`.

use super::super::output::{Table, cut, key_values, or_dash};
use custodia_client::{RequestDetail, RequestView};

fn fields_text(fields: &[String]) -> String {
    if fields.is_empty() {
        "all".into()
    } else {
        fields.join(",")
    }
}

pub(super) fn table(requests: &[RequestView]) -> String {
    let mut table = Table::new(&[
        "REQUEST",
        "REQUESTER",
        "STATUS",
        "RECORDS",
        "FIELDS",
        "EXPIRES",
        "PURPOSE",
    ]);
    for request in requests {
        table.row(vec![
            request.request_id.to_string(),
            request.requester.clone(),
            request.status.to_string(),
            request.record_ids.len().to_string(),
            cut(&fields_text(&request.fields)),
            request.expires_height.to_string(),
            cut(&request.purpose),
        ]);
    }
    table.render()
}

pub(super) fn details(detail: &RequestDetail) -> String {
    let request = &detail.request;
    let status = match &request.reason {
        Some(reason) => format!(
            "{} at block {} ({reason})",
            request.status, request.status_height
        ),
        None => format!("{} at block {}", request.status, request.status_height),
    };
    let records: Vec<String> = request.record_ids.iter().map(ToString::to_string).collect();
    let delivery = detail.delivery.as_ref().map_or("-".to_string(), |d| {
        format!(
            "block {} (tx {}, {} sealed bytes)",
            d.height, d.tx_id, d.sealed_bytes
        )
    });
    let mut text = key_values(&[
        ("request", request.request_id.to_string()),
        ("requester", request.requester.clone()),
        ("records", records.join(", ")),
        ("fields", fields_text(&request.fields)),
        ("purpose", request.purpose.clone()),
        ("status", status),
        (
            "open",
            format!(
                "blocks {}..={} (ttl {})",
                request.created_height, request.expires_height, request.ttl
            ),
        ),
        ("delivery", delivery),
    ]);
    let mut decisions = Table::new(&["APPROVER", "DECISION", "BLOCK", "REASON"]);
    for decision in &detail.decisions {
        decisions.row(vec![
            decision.org.clone(),
            decision.decision.to_string(),
            or_dash(decision.height),
            cut(decision.reason.as_deref().unwrap_or("")),
        ]);
    }
    text.push('\n');
    text.push_str(&decisions.render());
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodia_client::{Decision as Decided, DecisionState, DeliveryView, RequestStatus};

    const REC_A: &str = "rec_000102030405060708090a0b0c0d0e0f";
    const REQ: &str = "req_000102030405060708090a0b0c0d0e0f";

    fn request() -> RequestDetail {
        RequestDetail {
            request: RequestView {
                request_id: REQ.parse().unwrap(),
                requester: "member-b".into(),
                record_ids: vec![REC_A.parse().unwrap()],
                fields: vec![],
                purpose: "fraud check".into(),
                ttl: 100,
                created_height: 7,
                expires_height: 107,
                status: RequestStatus::Delivered,
                status_height: 9,
                reason: None,
            },
            decisions: vec![
                Decided {
                    org: "supervisor".into(),
                    decision: DecisionState::Approved,
                    reason: None,
                    height: Some(8),
                },
                Decided {
                    org: "member-a".into(),
                    decision: DecisionState::Approved,
                    reason: Some("fine".into()),
                    height: Some(8),
                },
            ],
            delivery: Some(DeliveryView {
                height: 9,
                tx_id: "ab".into(),
                sealed_bytes: 99,
            }),
        }
    }

    #[test]
    fn requests_print_as_tables() {
        let detail = request();
        assert_eq!(
            table(std::slice::from_ref(&detail.request)),
            "REQUEST                               REQUESTER  STATUS     RECORDS  FIELDS  EXPIRES  PURPOSE\n\
             req_000102030405060708090a0b0c0d0e0f  member-b   delivered  1        all     107      fraud check\n"
        );
        let text = details(&detail);
        assert!(text.contains("status:    delivered at block 9\n"), "{text}");
        assert!(
            text.contains("delivery:  block 9 (tx ab, 99 sealed bytes)\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "APPROVER    DECISION  BLOCK  REASON\n\
                 supervisor  approved  8\n\
                 member-a    approved  8      fine\n"
            ),
            "{text}"
        );
    }
}
