//! The receive buffer: bytes that arrived and have not been consumed yet.

/// A byte queue that a driver can read into directly, so received bytes are copied at most
/// once more (into the caller's buffer) on their way out.
#[derive(Debug, Default, Clone)]
pub(crate) struct ReceiveBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReceiveBuffer {
    /// Unconsumed bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks `n` bytes at the front as consumed.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Consumes `n` bytes at the front and returns where they sit, for [`raw`](Self::raw).
    pub fn take(&mut self, n: usize) -> std::ops::Range<usize> {
        let range = self.start..self.start + n;
        self.consume(n);
        range
    }

    /// Bytes by absolute position; valid for a range from [`take`](Self::take) until the next
    /// write into the buffer.
    pub fn raw(&self, range: std::ops::Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// The absolute position of the first unconsumed byte.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Drops every byte, returning the unconsumed ones.
    pub fn take_all(&mut self) -> Vec<u8> {
        let rest = self.data().to_vec();
        self.consume(self.len());
        rest
    }

    /// Appends a copy of `bytes`.
    pub fn extend(&mut self, bytes: &[u8]) {
        let spare = self.spare(bytes.len());
        spare[..bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// At least `min` writable bytes after the data; commit what was written with [`commit`].
    ///
    /// [`commit`]: ReceiveBuffer::commit
    pub fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.buf.len() - self.end < min && self.start > 0 {
            // Move the unconsumed bytes to the front before growing.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < min {
            self.buf.resize(self.end + min, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Frees the buffer when it holds nothing and has grown past `keep` bytes, so an idle
    /// connection does not hold on to what one large response needed. Whether it did.
    pub fn release_if_larger(&mut self, keep: usize) -> bool {
        let release = self.is_empty() && self.buf.len() > keep;
        if release {
            *self = ReceiveBuffer::default();
        }
        release
    }

    /// The bytes it holds room for (test use).
    #[cfg(test)]
    pub fn room(&self) -> usize {
        self.buf.len()
    }

    /// Adds `n` bytes written into [`spare`](ReceiveBuffer::spare) to the data.
    pub fn commit(&mut self, n: usize) {
        assert!(
            self.end + n <= self.buf.len(),
            "committed more than the spare space"
        );
        self.end += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_behaviour() {
        let mut b = ReceiveBuffer::default();
        b.extend(b"hello");
        b.consume(2);
        assert_eq!(b.data(), b"llo");
        let spare = b.spare(4);
        spare[..2].copy_from_slice(b"!!");
        b.commit(2);
        assert_eq!(b.data(), b"llo!!");
        b.consume(5);
        assert!(b.is_empty());
        // Space is reused once everything is consumed.
        b.extend(b"ab");
        assert_eq!((b.start, b.end), (0, 2));
    }

    #[test]
    fn compacts_before_growing() {
        let mut b = ReceiveBuffer::default();
        b.extend(&[1; 8]);
        b.consume(6);
        let cap = b.buf.len();
        b.spare(6);
        assert_eq!(b.buf.len(), cap);
        assert_eq!(b.data(), &[1, 1]);
    }

    #[test]
    fn leaves_the_data_in_place_while_there_is_room() {
        // Room for exactly what is asked, after consumed bytes: nothing moves (a copy per read
        // would cost what the buffer saves), and nothing grows.
        let mut b = ReceiveBuffer::default();
        b.extend(&[1; 8]);
        b.consume(6);
        b.spare(0);
        assert_eq!((b.start(), b.room()), (6, 8));
        let mut b = ReceiveBuffer::default();
        b.spare(8);
        b.commit(4);
        b.consume(2); // 2 bytes unconsumed, 4 of room behind them
        assert_eq!(b.spare(4).len(), 4);
        assert_eq!((b.start(), b.room()), (2, 8));
    }

    #[test]
    fn releases_only_an_empty_buffer_larger_than_asked() {
        let mut b = ReceiveBuffer::default();
        b.extend(&[1; 8]);
        assert!(!b.release_if_larger(4), "it holds data");
        b.consume(8);
        assert!(!b.release_if_larger(8), "not larger");
        assert_eq!(b.room(), 8);
        assert!(b.release_if_larger(7));
        assert_eq!(b.room(), 0);
    }

    #[test]
    #[should_panic(expected = "committed more")]
    fn over_commit_panics() {
        let mut b = ReceiveBuffer::default();
        let n = b.spare(4).len();
        b.commit(n + 1);
    }
}
