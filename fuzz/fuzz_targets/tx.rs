//! One signed transaction, as `POST /v1/txs` reads it (`api/txs.rs`: `Tx::decode_bytes` under
//! the chain's `TxCfg`). The codec is canonical, so a tx that decodes must encode back to the
//! same bytes (the tx id is the hash of the re-encoding), and the signature must cover
//! everything before it.

#![no_main]

use commonware_codec::{Encode, EncodeSize};
use custodia_protocol::{Tx, TxCfg};
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
    assert_eq!(
        tx.signing_payload(),
        &data[..signed],
        "the signature covers other bytes"
    );
    assert_eq!(Tx::decode_bytes(tx.encode(), &cfg).as_ref(), Ok(&tx));
});
