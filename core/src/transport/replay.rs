//! Replaying a [`Recording`]: each new connection gets the next recorded connection to its
//! origin; the client's writes are checked byte for byte and the server's bytes played back.
//! See [`record`](super::record) for what is recorded and why nothing is normalised.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::record::{RecordError, RecordedConnection, RecordedEvent, Recording, lock};

/// What the [`Replayer`] has handed out.
#[derive(Debug)]
struct ReplayState {
    /// Per origin, the indexes of its connections not yet replayed, in order.
    pending: HashMap<String, VecDeque<usize>>,
    /// Per origin, how many were replayed.
    replayed: HashMap<String, usize>,
}

/// Replays a recording: a thread-safe handle (clones share one state) that gives each new
/// connection to an origin the next recorded connection to that origin.
#[derive(Debug, Clone)]
pub struct Replayer {
    recording: Arc<Recording>,
    state: Arc<Mutex<ReplayState>>,
}

impl Replayer {
    /// A replayer at the start of `recording`.
    pub fn new(recording: Recording) -> Self {
        let mut pending: HashMap<String, VecDeque<usize>> = HashMap::new();
        for (index, connection) in recording.connections.iter().enumerate() {
            pending
                .entry(connection.origin.clone())
                .or_default()
                .push_back(index);
        }
        Replayer {
            recording: Arc::new(recording),
            state: Arc::new(Mutex::new(ReplayState {
                pending,
                replayed: HashMap::new(),
            })),
        }
    }

    /// The next recorded connection to `origin` (as given to
    /// [`Recorder::connection`](super::Recorder::connection)); call
    /// instead of opening one. Fails with [`RecordError::NoRecordedConnection`] when every
    /// connection recorded for that origin was replayed already.
    pub fn connection(&self, origin: &str) -> Result<ReplayConnection, RecordError> {
        let mut state = lock(&self.state);
        let next = state.pending.get_mut(origin).and_then(|q| q.pop_front());
        let replayed = state.replayed.entry(origin.to_owned()).or_default();
        let Some(index) = next else {
            return Err(RecordError::NoRecordedConnection {
                origin: origin.to_owned(),
                replayed: *replayed,
            });
        };
        *replayed += 1;
        Ok(ReplayConnection::new(Arc::clone(&self.recording), index))
    }

    /// The indexes (in [`Recording::connections`]) of the connections not replayed yet: a
    /// test can check that a replay used the whole recording.
    pub fn unused(&self) -> Vec<usize> {
        let state = lock(&self.state);
        let mut unused: Vec<usize> = state.pending.values().flatten().copied().collect();
        unused.sort_unstable();
        unused
    }
}

/// One connection being replayed: takes the client's writes, checks them against the
/// recording, and gives back the server's recorded bytes.
///
/// The recorded `Sent` and `Received` chunks form two streams: a `Received` chunk can be read
/// once every byte recorded as sent before it has been written (however the writes are
/// split), and the client may write ahead of its reads. [`ReplayConnection::poll_read`]
/// returning `None` while not [`ReplayConnection::is_eof`] means the server says nothing
/// yet: a driver treats the read as one that blocks (until the client's own deadline, which
/// is what happens when a recorded `Expect: 100-continue` got no answer).
#[derive(Debug)]
pub struct ReplayConnection {
    recording: Arc<Recording>,
    index: usize,
    /// The first `Sent` event with bytes still to be written (or the number of events).
    write_event: usize,
    /// Bytes of that event already written.
    write_offset: usize,
    /// Bytes written on the connection; lines and the offset where the current line started.
    written: u64,
    lines: u64,
    line_start: u64,
    /// The next event to consider for reading.
    read_event: usize,
    error: Option<RecordError>,
}

/// The most bytes shown of each side of a mismatch.
const EXCERPT: usize = 48;

fn excerpt(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(EXCERPT)];
    let more = if bytes.len() > EXCERPT { "..." } else { "" };
    format!("\"{}\"{more}", shown.escape_ascii())
}

impl ReplayConnection {
    fn new(recording: Arc<Recording>, index: usize) -> Self {
        let mut connection = ReplayConnection {
            recording,
            index,
            write_event: 0,
            write_offset: 0,
            written: 0,
            lines: 0,
            line_start: 0,
            read_event: 0,
            error: None,
        };
        connection.skip_to_unwritten();
        connection
    }

    fn recorded(&self) -> &RecordedConnection {
        &self.recording.connections[self.index]
    }

    /// The origin of the recorded connection.
    pub fn origin(&self) -> &str {
        &self.recorded().origin
    }

    /// Moves the write cursor to the first `Sent` event with bytes left.
    fn skip_to_unwritten(&mut self) {
        let events = &self.recording.connections[self.index].events;
        while let Some(event) = events.get(self.write_event) {
            match event {
                RecordedEvent::Sent(b) if self.write_offset < b.len() => return,
                _ => {
                    self.write_event += 1;
                    self.write_offset = 0;
                }
            }
        }
    }

    /// The client wrote `bytes`: checks them against the recording. Fails with
    /// [`RecordError::Mismatch`] at the first differing byte, or [`RecordError::ExtraWrite`]
    /// past the recorded writes; the error is sticky (every later call returns it).
    pub fn handle_written(&mut self, mut bytes: &[u8]) -> Result<(), RecordError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        while !bytes.is_empty() {
            let recording = Arc::clone(&self.recording);
            let recorded = &recording.connections[self.index];
            let Some(RecordedEvent::Sent(expected)) = recorded.events.get(self.write_event) else {
                return Err(self.fail(RecordError::ExtraWrite {
                    origin: recorded.origin.clone(),
                    connection: self.index,
                    offset: self.written,
                    found: excerpt(bytes),
                }));
            };
            let expected = &expected[self.write_offset..];
            let n = expected.len().min(bytes.len());
            if let Some(k) = (0..n).find(|&k| expected[k] != bytes[k]) {
                self.count(&bytes[..k]);
                return Err(self.fail(RecordError::Mismatch {
                    origin: recorded.origin.clone(),
                    connection: self.index,
                    offset: self.written,
                    line: self.lines + 1,
                    column: self.written - self.line_start + 1,
                    expected: excerpt(&expected[k..]),
                    found: excerpt(&bytes[k..]),
                }));
            }
            self.count(&bytes[..n]);
            self.write_offset += n;
            bytes = &bytes[n..];
            self.skip_to_unwritten();
        }
        Ok(())
    }

    /// Counts matched bytes, their lines, and where the current line started.
    fn count(&mut self, bytes: &[u8]) {
        for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            self.lines += 1;
            self.line_start = self.written + i as u64 + 1;
        }
        self.written += bytes.len() as u64;
    }

    fn fail(&mut self, error: RecordError) -> RecordError {
        self.error = Some(error.clone());
        error
    }

    /// The next event the client may read: the first event at or after the read cursor
    /// that is not `Sent`, if every `Sent` byte before it was written.
    fn readable(&self) -> Option<(usize, &RecordedEvent)> {
        let events = &self.recorded().events;
        let (at, event) = events
            .iter()
            .enumerate()
            .skip(self.read_event)
            .find(|(_, e)| !matches!(e, RecordedEvent::Sent(_)))?;
        (self.write_event >= at).then_some((at, event))
    }

    /// The next chunk the server sent, once every byte recorded as written before it was
    /// written; `None` when there is nothing to read now (more writes are awaited, the
    /// recording ends, or the server closed: see [`ReplayConnection::is_eof`]).
    pub fn poll_read(&mut self) -> Option<Vec<u8>> {
        if self.error.is_some() {
            return None;
        }
        match self.readable()? {
            (at, RecordedEvent::Received(bytes)) => {
                let bytes = bytes.clone();
                self.read_event = at + 1;
                Some(bytes)
            }
            _ => None,
        }
    }

    /// Whether the client's next read is end of file: every chunk before the server closed
    /// the connection was read (and every byte before it written).
    pub fn is_eof(&self) -> bool {
        matches!(self.readable(), Some((_, RecordedEvent::Closed)))
    }

    /// Whether every recorded write was written and every recorded chunk read.
    pub fn is_finished(&self) -> bool {
        let events = &self.recorded().events;
        self.write_event >= events.len()
            && !events[self.read_event.min(events.len())..]
                .iter()
                .any(|e| matches!(e, RecordedEvent::Received(_)))
    }
}
