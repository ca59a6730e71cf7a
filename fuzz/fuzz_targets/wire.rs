//! Fuzzes the automerge-repo message decoder and the connection core behind it: any bytes a
//! peer sends must produce a message or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = glossa::sync::wire::decode(data);
    let mut connection = glossa::sync::connection::Connection::new("server", "storage");
    // A joined connection exercises the sync-data path too.
    let join = glossa::sync::wire::encode(&glossa::sync::wire::WireMessage::Join {
        sender_id: "peer".into(),
        supported_versions: vec!["1".into()],
        metadata: None,
    });
    let _ = connection.receive(&join);
    let _ = connection.receive(data);
});
