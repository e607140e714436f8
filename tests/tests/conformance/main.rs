//! The conformance suite: every case runs against duet-blocking (`blocking::`) and duet-async
//! (`asynchronous::`), against servers on 127.0.0.1.

/// Inside a case: GETs `url` with `client` three times, reading the body with `bytes()`,
/// through the io trait, and in chunk-sized pieces, and checks each is `body` exactly.
macro_rules! assert_body_read_every_way {
    ($client:expr, $url:expr, $body:expr) => {{
        let (url, body): (String, &[u8]) = ($url, &$body);
        let got = wait!(wait!($client.get(&url).send()).unwrap().bytes()).unwrap();
        assert!(
            got == body,
            "{url}: {} of {} bytes, or different ones",
            got.len(),
            body.len()
        );
        let mut response = wait!($client.get(&url).send()).unwrap();
        let got = read_all!(response).unwrap();
        assert!(
            got == body,
            "{url} through the io trait: {} bytes",
            got.len()
        );
        // Pieces as large as a chunk: each read can take a whole chunk and its framing.
        let mut pieces = wait!($client.get(&url).send()).unwrap().chunks(65_536);
        let mut got = Vec::new();
        while let Some(piece) = next!(pieces) {
            got.extend_from_slice(&piece.unwrap());
        }
        assert!(got == body, "{url} in pieces: {} bytes", got.len());
    }};
}

mod auth;
mod basics;
mod bodies;
mod connecting;
mod custom_streams;
mod decoding;
mod errors;
mod logging;
mod login;
mod pooling;
mod proxies;
mod resolvers;
mod retries;
mod sessions;
mod timeouts;
mod tls;
mod transports;
