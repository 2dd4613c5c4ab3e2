//! One signed transaction, as `POST /v1/txs` reads it (`api/txs.rs`: `Tx::decode_bytes` under
//! the chain's `TxCfg`). The codec is canonical, so a tx that decodes must encode back to the
//! same bytes, and the signature must cover everything before it, with a sealed payload as
//! its SHA-256 digest (DESIGN §4.2); the tx id is the hash of that and the signature.

#![no_main]

use commonware_codec::{Encode, EncodeSize};
use custodia_protocol::{Body, Tx, TxCfg, hash::sha256, tx::id_of};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cfg = TxCfg::from(custodia_fuzz::params());
    let Ok(tx) = Tx::decode_bytes(data.to_vec(), &cfg) else {
        return;
    };
    assert_eq!(tx.encode_size(), data.len(), "encode_size of a decoded tx");
    assert_eq!(
        &tx.encode()[..],
        data,
        "a decoded tx re-encodes to other bytes"
    );
    let signed = data.len() - 64;
    let payload = tx.signing_payload();
    match &tx.body {
        Body::SubmitRecord { sealed, .. } | Body::Deliver { sealed, .. } => {
            // The sealed payload is the body's last field: its length prefix and bytes end the
            // signed part, and the payload ends with their digest instead.
            let prefix = signed - sealed.encode_size();
            assert_eq!(
                &payload[..prefix],
                &data[..prefix],
                "the signature covers other bytes"
            );
            assert_eq!(
                &payload[prefix..],
                sha256(&[sealed]).as_ref(),
                "the signature covers the sealed payload by another digest"
            );
        }
        _ => assert_eq!(payload, &data[..signed], "the signature covers other bytes"),
    }
    assert_eq!(tx.id(), id_of(&payload, &tx.signature), "the tx id");
    assert_eq!(Tx::decode_bytes(tx.encode(), &cfg).as_ref(), Ok(&tx));
});
