//! Record and replay: the exact bytes of a session's exchanges, saved and played back.
//!
//! A driver records by wrapping each real connection: it reports every write and read to a
//! [`ConnectionRecorder`] and saves [`Recorder::recording`] as JSON. It replays by asking a
//! [`Replayer`] for a [`ReplayConnection`] instead of opening a socket: the client's writes are
//! checked byte for byte against what was recorded, and the recorded server bytes are what it
//! reads. The bytes are those duet-core writes and reads — above TLS, so a replay needs
//! neither a network nor certificates — and both clients write the same bytes for the same
//! request, so either can replay a recording made by the other.
//!
//! Nothing is normalised: a request that differs between runs in any byte does not replay. A
//! multipart boundary, a Digest `cnonce` or an OAuth nonce and timestamp come from the
//! driver's entropy and clock, so record such requests with deterministic inputs (a fixed
//! boundary, a seeded nonce source) or replay them from the same inputs.
//!
//! Connections are replayed per origin in the order they were opened in the recording, so
//! concurrent requests to one origin replay only if they open their connections in the same
//! order.
//!
//! # The JSON format (version 1)
//!
//! ```text
//! {
//!   "version": 1,
//!   "connections": [
//!     {
//!       "origin": "http://example.com:80",
//!       "events": [
//!         { "sent": ["GET / HTTP/1.1\r\n", "Host: example.com\r\n", "\r\n"] },
//!         { "received": ["HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n", "\r\n", "ok"] },
//!         { "received_base64": "H4sIAAAAAAAA/8vPBQBlzzmaAgAAAA==" },
//!         "closed"
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! A chunk of valid UTF-8 is written as `sent` / `received`: an array of its lines, each with
//! its line end, which join to the exact bytes (a single string is accepted as well). Any
//! other chunk is `sent_base64` / `received_base64`, standard base64 with padding. `"closed"`
//! is the server closing the connection (a read returned end of file). Adjacent chunks of one
//! direction are merged when recorded, so a recording does not depend on how reads and writes
//! happened to be split. Unknown fields and events are refused.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::Error as _;
use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The version of the JSON format written by [`Recording::to_json`].
pub const FORMAT_VERSION: u32 = 1;

/// Why a recording could not be read or replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The JSON is malformed or not a recording (the message says where).
    #[error("invalid recording: {message}")]
    Json {
        /// serde_json's message, with line and column.
        message: String,
    },
    /// The recording is in a format version this duet does not read.
    #[error("recording format version {version} is not supported (expected {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        version: u32,
    },
    /// A connection was opened to an origin with no recorded connection left.
    #[error("no recorded connection left for {origin} ({replayed} already replayed)")]
    NoRecordedConnection {
        /// The origin asked for.
        origin: String,
        /// How many connections to that origin were replayed before.
        replayed: usize,
    },
    /// The client wrote a byte other than the one recorded.
    #[error(
        "request differs from the recording for {origin} (recorded connection {connection}) at \
         byte {offset}, line {line} column {column}: recorded {expected}, written {found}"
    )]
    Mismatch {
        /// The connection's origin.
        origin: String,
        /// The index of the connection in [`Recording::connections`].
        connection: usize,
        /// Offset of the first differing byte among all bytes written on the connection.
        offset: u64,
        /// Line of that byte (1-based; lines end in LF).
        line: u64,
        /// Column of that byte in its line (1-based, in bytes).
        column: u64,
        /// The recorded bytes from there (escaped, shortened).
        expected: String,
        /// The written bytes from there (escaped, shortened).
        found: String,
    },
    /// The client wrote more than the recording holds.
    #[error(
        "request goes on past the recording for {origin} (recorded connection {connection}) at \
         byte {offset}: written {found}"
    )]
    ExtraWrite {
        /// The connection's origin.
        origin: String,
        /// The index of the connection in [`Recording::connections`].
        connection: usize,
        /// Offset of the first byte past the recording among all bytes written.
        offset: u64,
        /// The written bytes from there (escaped, shortened).
        found: String,
    },
}

/// The exact bytes of a session's exchanges: per connection, the origin it went to and the
/// ordered chunks written by the client and read from the server. See the module docs for
/// the JSON format.
///
/// ```
/// use duet_core::transport::{Recorder, Recording};
/// let recorder = Recorder::new();
/// let connection = recorder.connection("http://example.com:80");
/// connection.sent(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// connection.received(b"HTTP/1.1 204 No Content\r\n\r\n");
/// let json = recorder.recording().to_json();
/// assert!(json.contains(r#""GET / HTTP/1.1\r\n","#));
/// assert_eq!(Recording::from_json(&json).unwrap(), recorder.recording());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// The connections, in the order they were opened.
    pub connections: Vec<RecordedConnection>,
}

/// One recorded connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedConnection {
    /// Where it went, `scheme://host:port` as [`Origin`](crate::client::Origin) displays it.
    pub origin: String,
    /// What happened on it, in order.
    pub events: Vec<RecordedEvent>,
}

/// One thing that happened on a recorded connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedEvent {
    /// Bytes the client wrote.
    Sent(Vec<u8>),
    /// Bytes the client read from the server.
    Received(Vec<u8>),
    /// The server closed the connection: a read returned end of file.
    Closed,
}

impl Recording {
    /// The recording as pretty-printed JSON in the format of the module docs.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a recording written by [`Recording::to_json`] (or by hand in that format).
    ///
    /// Fails with [`RecordError::UnsupportedVersion`] for another format version, and
    /// [`RecordError::Json`] for anything else that is not a recording.
    pub fn from_json(s: &str) -> Result<Self, RecordError> {
        let file: RecordingFile = serde_json::from_str(s).map_err(|e| RecordError::Json {
            message: e.to_string(),
        })?;
        file.into_recording()
            .map_err(|version| RecordError::UnsupportedVersion { version })
    }
}

impl RecordedConnection {
    /// Every byte the client wrote, in order.
    pub fn sent(&self) -> Vec<u8> {
        self.bytes(|e| match e {
            RecordedEvent::Sent(b) => Some(b),
            _ => None,
        })
    }

    /// Every byte the server sent, in order.
    pub fn received(&self) -> Vec<u8> {
        self.bytes(|e| match e {
            RecordedEvent::Received(b) => Some(b),
            _ => None,
        })
    }

    fn bytes(&self, pick: impl Fn(&RecordedEvent) -> Option<&Vec<u8>>) -> Vec<u8> {
        self.events
            .iter()
            .filter_map(pick)
            .flatten()
            .copied()
            .collect()
    }
}

/// The file: a version and the connections.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingFile {
    version: u32,
    connections: Vec<RecordedConnection>,
}

impl RecordingFile {
    fn into_recording(self) -> Result<Recording, u32> {
        if self.version != FORMAT_VERSION {
            return Err(self.version);
        }
        Ok(Recording {
            connections: self.connections,
        })
    }
}

impl Serialize for Recording {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut file = serializer.serialize_struct("Recording", 2)?;
        file.serialize_field("version", &FORMAT_VERSION)?;
        file.serialize_field("connections", &self.connections)?;
        file.end()
    }
}

impl<'de> Deserialize<'de> for Recording {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RecordingFile::deserialize(deserializer)?
            .into_recording()
            .map_err(|v| D::Error::custom(RecordError::UnsupportedVersion { version: v }))
    }
}

/// Text as an array of lines (or one string, when read).
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Whole(String),
    Lines(Vec<String>),
}

impl Text {
    fn into_bytes(self) -> Vec<u8> {
        match self {
            Text::Whole(s) => s.into_bytes(),
            Text::Lines(lines) => lines.concat().into_bytes(),
        }
    }
}

/// An event as it is read from JSON.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum EventRepr {
    Sent(Text),
    SentBase64(String),
    Received(Text),
    ReceivedBase64(String),
    Closed,
}

impl Serialize for RecordedEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (bytes, index, text, base64) = match self {
            RecordedEvent::Sent(b) => (b, 0, "sent", "sent_base64"),
            RecordedEvent::Received(b) => (b, 2, "received", "received_base64"),
            RecordedEvent::Closed => {
                return serializer.serialize_unit_variant("RecordedEvent", 4, "closed");
            }
        };
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                let lines: Vec<&str> = s.split_inclusive('\n').collect();
                serializer.serialize_newtype_variant("RecordedEvent", index, text, &lines)
            }
            Err(_) => serializer.serialize_newtype_variant(
                "RecordedEvent",
                index + 1,
                base64,
                &STANDARD.encode(bytes),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for RecordedEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let decode = |s: String| STANDARD.decode(s).map_err(D::Error::custom);
        Ok(match EventRepr::deserialize(deserializer)? {
            EventRepr::Sent(text) => RecordedEvent::Sent(text.into_bytes()),
            EventRepr::SentBase64(s) => RecordedEvent::Sent(decode(s)?),
            EventRepr::Received(text) => RecordedEvent::Received(text.into_bytes()),
            EventRepr::ReceivedBase64(s) => RecordedEvent::Received(decode(s)?),
            EventRepr::Closed => RecordedEvent::Closed,
        })
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records a session: a thread-safe handle (clones share one recording) that hands out a
/// [`ConnectionRecorder`] for each connection opened.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    shared: Arc<Mutex<Recording>>,
}

impl Recorder {
    /// An empty recording.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts recording a new connection to `origin` (`scheme://host:port`, as
    /// [`Origin`](crate::client::Origin) displays it); call when the connection is opened.
    pub fn connection(&self, origin: &str) -> ConnectionRecorder {
        let mut recording = lock(&self.shared);
        recording.connections.push(RecordedConnection {
            origin: origin.to_owned(),
            events: Vec::new(),
        });
        ConnectionRecorder {
            shared: Arc::clone(&self.shared),
            index: recording.connections.len() - 1,
        }
    }

    /// A copy of everything recorded so far.
    pub fn recording(&self) -> Recording {
        lock(&self.shared).clone()
    }
}

/// Records one connection: the driver reports each write and read of the stream it wraps.
#[derive(Debug, Clone)]
pub struct ConnectionRecorder {
    shared: Arc<Mutex<Recording>>,
    index: usize,
}

impl ConnectionRecorder {
    /// The client wrote `bytes` (report only what the stream accepted).
    pub fn sent(&self, bytes: &[u8]) {
        self.push(bytes, RecordedEvent::Sent);
    }

    /// The client read `bytes` from the server.
    pub fn received(&self, bytes: &[u8]) {
        self.push(bytes, RecordedEvent::Received);
    }

    /// What a read of the server returned: `bytes`, or end of file when there are none.
    pub fn read(&self, bytes: &[u8]) {
        match bytes.is_empty() {
            true => self.closed(),
            false => self.received(bytes),
        }
    }

    /// A read returned end of file: the server closed the connection. Recorded once.
    pub fn closed(&self) {
        let mut recording = lock(&self.shared);
        let events = &mut recording.connections[self.index].events;
        if events.last() != Some(&RecordedEvent::Closed) {
            events.push(RecordedEvent::Closed);
        }
    }

    /// Appends `bytes` to the last event if it has the same direction, else a new event.
    fn push(&self, bytes: &[u8], event: fn(Vec<u8>) -> RecordedEvent) {
        if bytes.is_empty() {
            return;
        }
        let mut recording = lock(&self.shared);
        let events = &mut recording.connections[self.index].events;
        match (events.last_mut(), event(Vec::new())) {
            (Some(RecordedEvent::Sent(last)), RecordedEvent::Sent(_))
            | (Some(RecordedEvent::Received(last)), RecordedEvent::Received(_)) => {
                last.extend_from_slice(bytes);
            }
            _ => events.push(event(bytes.to_vec())),
        }
    }
}
