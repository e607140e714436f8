use crate::transport::{
    RecordError, RecordedConnection, RecordedEvent, Recorder, Recording, Replayer,
};

const A: &str = "http://a.test:80";
const B: &str = "https://b.test:443";
const REQUEST: &[u8] = b"GET /one HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none";

/// Two connections to A (the second closed by the server) and one to B with binary bytes.
fn record() -> Recording {
    let recorder = Recorder::new();
    let first = recorder.connection(A);
    let other = recorder.connection(B);
    first.sent(&REQUEST[..10]);
    first.sent(&REQUEST[10..]);
    other.sent(b"POST / HTTP/1.1\r\n\r\n");
    first.received(&RESPONSE[..5]);
    first.received(b"");
    first.received(&RESPONSE[5..]);
    other.received(&[0xff, 0x00, b'\n']);
    let second = recorder.connection(A);
    second.sent(b"GET /two HTTP/1.1\r\n\r\n");
    second.received(b"HTTP/1.1 204 No Content\r\n\r\n");
    second.closed();
    second.closed();
    recorder.recording()
}

#[test]
fn recorder_merges_chunks_of_one_direction() {
    let recording = record();
    let origins: Vec<_> = recording
        .connections
        .iter()
        .map(|c| c.origin.as_str())
        .collect();
    assert_eq!(origins, [A, B, A]);
    assert_eq!(
        recording.connections[0].events,
        [
            RecordedEvent::Sent(REQUEST.to_vec()),
            RecordedEvent::Received(RESPONSE.to_vec())
        ]
    );
    assert_eq!(
        recording.connections[2].events.last(),
        Some(&RecordedEvent::Closed)
    );
    assert_eq!(recording.connections[2].events.len(), 3, "closed once");
    assert_eq!(recording.connections[0].sent(), REQUEST);
    assert_eq!(recording.connections[0].received(), RESPONSE);
}

#[test]
fn replays_two_connections_per_origin_in_order() {
    let replayer = Replayer::new(record());
    let mut first = replayer.connection(A).unwrap();
    assert_eq!(first.origin(), A);
    assert_eq!(
        first.poll_read(),
        None,
        "the response waits for the request"
    );
    for piece in REQUEST.chunks(7) {
        assert_eq!(first.poll_read(), None);
        first.handle_written(piece).unwrap();
    }
    assert_eq!(first.poll_read().as_deref(), Some(RESPONSE));
    assert_eq!(first.poll_read(), None);
    assert!(!first.is_eof(), "no close was recorded");
    assert!(first.is_finished());

    let mut second = replayer.connection(A).unwrap();
    second.handle_written(b"GET /two HTTP/1.1\r\n\r\n").unwrap();
    assert!(!second.is_eof());
    assert_eq!(
        second.poll_read().as_deref(),
        Some(&b"HTTP/1.1 204 No Content\r\n\r\n"[..])
    );
    assert!(second.is_eof() && second.is_finished());
    assert_eq!(second.poll_read(), None);

    assert_eq!(replayer.unused(), [1]);
    let mut other = replayer.connection(B).unwrap();
    other.handle_written(b"POST / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(other.poll_read(), Some(vec![0xff, 0x00, b'\n']));
    assert!(replayer.unused().is_empty());
}

#[test]
fn running_out_of_recorded_connections() {
    let replayer = Replayer::new(record());
    let clone = replayer.clone();
    replayer.connection(A).unwrap();
    clone.connection(A).unwrap();
    assert_eq!(
        replayer.connection(A).unwrap_err(),
        RecordError::NoRecordedConnection {
            origin: A.into(),
            replayed: 2
        }
    );
    let err = replayer.connection("http://c.test:80").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no recorded connection left for http://c.test:80 (0 already replayed)"
    );
}

#[test]
fn mismatch_says_where() {
    let replayer = Replayer::new(record());
    let mut replay = replayer.connection(A).unwrap();
    replay
        .handle_written(b"GET /one HTTP/1.1\r\nHost: a.")
        .unwrap();
    let err = replay
        .handle_written(b"test\r\nAccept: text/html\r\n\r\n")
        .unwrap_err();
    assert_eq!(
        err,
        RecordError::Mismatch {
            origin: A.into(),
            connection: 0,
            offset: 41,
            line: 3,
            column: 9,
            expected: r#""*/*\r\n\r\n""#.into(),
            found: r#""text/html\r\n\r\n""#.into(),
        }
    );
    assert!(
        err.to_string().contains("at byte 41, line 3 column 9"),
        "{err}"
    );
    assert_eq!(replay.handle_written(b"").unwrap_err(), err, "sticky");
    assert_eq!(replay.poll_read(), None);

    let mut replay = replayer.connection(A).unwrap();
    let long = [&b"GET /two HTTP/1.1\r\n\r\n"[..], &[b'x'; 100]].concat();
    match replay.handle_written(&long).unwrap_err() {
        RecordError::ExtraWrite {
            connection,
            offset,
            found,
            ..
        } => {
            assert_eq!((connection, offset), (2, 21));
            assert_eq!(found, format!("\"{}\"...", "x".repeat(48)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn writes_may_run_ahead_of_reads() {
    let recording = Recording {
        connections: vec![RecordedConnection {
            origin: A.into(),
            events: vec![
                RecordedEvent::Sent(b"head".to_vec()),
                RecordedEvent::Received(b"100".to_vec()),
                RecordedEvent::Sent(b"body".to_vec()),
                RecordedEvent::Received(b"200".to_vec()),
                RecordedEvent::Closed,
            ],
        }],
    };
    let mut replay = Replayer::new(recording).connection(A).unwrap();
    replay.handle_written(b"headbo").unwrap();
    assert_eq!(replay.poll_read(), Some(b"100".to_vec()));
    assert_eq!(replay.poll_read(), None);
    assert!(!replay.is_finished(), "a write to come");
    replay.handle_written(b"dy").unwrap();
    assert!(!replay.is_eof());
    assert!(!replay.is_finished(), "a chunk to read");
    assert_eq!(replay.poll_read(), Some(b"200".to_vec()));
    assert!(replay.is_eof() && replay.is_finished());
}

#[test]
fn json_round_trip_and_format() {
    let recording = record();
    let json = recording.to_json();
    assert_eq!(Recording::from_json(&json), Ok(recording.clone()));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "version": 1,
            "connections": [
                {"origin": A, "events": [
                    {"sent": ["GET /one HTTP/1.1\r\n", "Host: a.test\r\n", "Accept: */*\r\n", "\r\n"]},
                    {"received": ["HTTP/1.1 200 OK\r\n", "Content-Length: 3\r\n", "\r\n", "one"]}
                ]},
                {"origin": B, "events": [
                    {"sent": ["POST / HTTP/1.1\r\n", "\r\n"]},
                    {"received_base64": "/wAK"}
                ]},
                {"origin": A, "events": [
                    {"sent": ["GET /two HTTP/1.1\r\n", "\r\n"]},
                    {"received": ["HTTP/1.1 204 No Content\r\n", "\r\n"]},
                    "closed"
                ]}
            ]
        })
    );
    // A single string is read as well, and serde users get the same format.
    let hand = r#"{"version": 1, "connections": [{"origin": "x", "events": [
        {"sent": "a\r\nb"}, {"sent_base64": "AA=="}, "closed"]}]}"#;
    let read = Recording::from_json(hand).unwrap();
    assert_eq!(
        read.connections[0].events,
        [
            RecordedEvent::Sent(b"a\r\nb".to_vec()),
            RecordedEvent::Sent(vec![0]),
            RecordedEvent::Closed
        ]
    );
    let via_serde: Recording =
        serde_json::from_str(&serde_json::to_string(&read).unwrap()).unwrap();
    assert_eq!(via_serde, read);
    assert_eq!(
        Recording::from_json(&Recording::default().to_json()),
        Ok(Recording::default())
    );
}

#[test]
fn json_errors() {
    assert_eq!(
        Recording::from_json(r#"{"version": 2, "connections": []}"#),
        Err(RecordError::UnsupportedVersion { version: 2 })
    );
    for bad in [
        "",
        "[]",
        r#"{"connections": []}"#,
        r#"{"version": 1, "connections": [], "extra": 1}"#,
        r#"{"version": 1, "connections": [{"origin": "x", "events": ["opened"]}]}"#,
        r#"{"version": 1, "connections": [{"origin": "x", "events": [{"sent_base64": "!!"}]}]}"#,
        r#"{"version": 1, "connections": [{"origin": "x", "events": [{"sent": 5}]}]}"#,
        r#"{"version": 1, "connections": [{"origin": "x"}]}"#,
    ] {
        assert!(
            matches!(Recording::from_json(bad), Err(RecordError::Json { .. })),
            "{bad}"
        );
    }
}

#[test]
fn handles_are_shared_across_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Recorder>();
    shared::<Replayer>();
    fn owned<T: Send>() {}
    owned::<crate::transport::ReplayConnection>();
    owned::<crate::transport::ConnectionRecorder>();

    let recorder = Recorder::new();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let recorder = recorder.clone();
            std::thread::spawn(move || {
                let connection = recorder.connection(A);
                for _ in 0..100 {
                    connection.sent(&[b'0' + i]);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let recording = recorder.recording();
    assert_eq!(recording.connections.len(), 4);
    for connection in &recording.connections {
        let sent = connection.sent();
        assert_eq!(sent.len(), 100);
        assert!(sent.iter().all(|&b| b == sent[0]));
    }
}

#[test]
fn a_read_is_received_bytes_or_the_close() {
    let recorder = Recorder::new();
    let connection = recorder.connection(A);
    connection.read(b"abc");
    connection.read(b"");
    assert_eq!(
        recorder.recording().connections[0].events,
        [
            RecordedEvent::Received(b"abc".to_vec()),
            RecordedEvent::Closed
        ]
    );
}

#[test]
fn an_excerpt_of_exactly_the_most_shown_is_whole() {
    let replayer = Replayer::new(record());
    let _first = replayer.connection(A).unwrap();
    let mut replay = replayer.connection(A).unwrap();
    let extra = [&b"GET /two HTTP/1.1\r\n\r\n"[..], &[b'x'; 48]].concat();
    match replay.handle_written(&extra).unwrap_err() {
        RecordError::ExtraWrite { found, .. } => {
            assert_eq!(found, format!("\"{}\"", "x".repeat(48)));
        }
        other => panic!("{other:?}"),
    }
}
