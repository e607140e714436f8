//! A recording made by one client replays in the other: the bytes on the wire are the same.

use std::sync::Arc;

use duet_core::transport::{Recorder, Replayer};
use duet_tests::server::*;

#[test]
fn blocking_records_and_async_replays() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|r| Reply::ok(format!("seen {} {}", r.method, r.body_str())));
    let recorder = Recorder::new();
    let blocking = duet_blocking::Client::builder()
        .record(recorder.clone())
        .build()
        .unwrap();
    let text = blocking
        .post(server.url("/form"))
        .form(&[("a", "1")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(text, "seen POST a=1");
    let url = server.url("/form");
    drop(server);
    let replay = duet_async::transports::ReplayTransport::new(Replayer::new(recorder.recording()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let replayed = runtime.block_on(async {
        let client = duet_async::Client::builder()
            .mount("all://", Arc::new(replay))
            .build()
            .unwrap();
        client
            .post(url)
            .form(&[("a", "1")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(replayed, "seen POST a=1");
}
