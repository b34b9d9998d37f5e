//! Where log and metric lines go: stdout, which CloudWatch Logs collects under Lambda.
//!
//! A long-lived server ([`Mode::Background`]) hands each finished line to one writer thread
//! through a bounded queue, so a request never waits on the write (a slow terminal, a pipe a
//! collector drains late): it formats its line and moves on. If the writer falls
//! [`QUEUE_BYTES`] behind, further lines are dropped rather than stall requests, and the
//! writer says how many it lost (one `WARN` line) once it catches up. The writer is woken
//! once per batch, not per line. [`flush`] waits until every queued line is out (the process
//! calls it before it exits).
//!
//! Under Lambda ([`Mode::Direct`]) each line is written before the call returns: a function
//! serves one request at a time, so nothing else waits on it, and Lambda may freeze the
//! sandbox as soon as the response is sent, which would strand lines still in a queue.

use std::{
    io::Write,
    sync::{Condvar, Mutex, OnceLock},
    time::{Duration, Instant},
};

/// How many bytes may wait for the writer thread (about 2,000 lines).
pub const QUEUE_BYTES: usize = 1024 * 1024;

/// After the writer wakes, it lets lines gather this long before it takes them: one wake-up
/// (a futex call on both sides and a context switch) per batch, not per line, so at most 200
/// a second. At 40,000 requests a second (two lines each) a batch is about 150 KiB, well
/// within [`QUEUE_BYTES`].
const GATHER: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Written by the caller, before it goes on.
    Direct,
    /// Queued for the writer thread.
    Background,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// Lines accepted so far, and how many of them are written.
    accepted: u64,
    written: u64,
    dropped: u64,
}

#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
    /// The writer waits on it for lines; [`flush`] waits on it for the writer.
    wake: Condvar,
    written: Condvar,
}

static QUEUE: OnceLock<Option<&'static Queue>> = OnceLock::new();

/// Chooses how lines are written (first call wins; until then lines are written directly).
pub fn init(mode: Mode) {
    QUEUE.get_or_init(|| match mode {
        Mode::Direct => None,
        Mode::Background => {
            let queue: &'static Queue = Box::leak(Box::default());
            std::thread::Builder::new()
                .name("stdout-writer".into())
                .spawn(move || drain(queue, &mut std::io::stdout()))
                .ok()
                .map(|_| queue)
        }
    });
}

/// Writes one line, given in parts (the last one ends with the newline).
pub fn write_line(parts: &[&[u8]]) {
    match QUEUE.get() {
        Some(Some(queue)) => queue.push(parts),
        _ => {
            let mut out = std::io::stdout().lock();
            for part in parts {
                let _ = out.write_all(part);
            }
        }
    }
}

/// Waits (at most `timeout`) until every line accepted so far is written.
pub fn flush(timeout: Duration) {
    if let Some(Some(queue)) = QUEUE.get() {
        queue.wait_written(timeout);
    }
}

impl Queue {
    fn push(&self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.lines.len() + len > QUEUE_BYTES {
            pending.dropped += 1;
            return;
        }
        let was_idle = pending.lines.is_empty();
        for part in parts {
            pending.lines.extend_from_slice(part);
        }
        pending.accepted += 1;
        drop(pending);
        if was_idle {
            self.wake.notify_one();
        }
    }

    fn wait_written(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let target = pending.accepted;
        self.wake.notify_one();
        while pending.written < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            pending = self
                .written
                .wait_timeout(pending, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Takes what is pending, waiting for something to be there (or for `idle` to pass; then
    /// `None`).
    fn take(&self, idle: Option<Duration>) -> Option<(Vec<u8>, u64, u64)> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        while pending.lines.is_empty() && pending.dropped == 0 {
            match idle {
                None => pending = self.wake.wait(pending).unwrap_or_else(|e| e.into_inner()),
                Some(idle) => {
                    let (next, waited) = self
                        .wake
                        .wait_timeout(pending, idle)
                        .unwrap_or_else(|e| e.into_inner());
                    pending = next;
                    if waited.timed_out() && pending.lines.is_empty() && pending.dropped == 0 {
                        return None;
                    }
                }
            }
        }
        drop(pending);
        std::thread::sleep(GATHER);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let lines = std::mem::replace(&mut pending.lines, Vec::with_capacity(64 * 1024));
        let dropped = std::mem::take(&mut pending.dropped);
        Some((lines, dropped, pending.accepted))
    }

    fn mark_written(&self, upto: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.written = upto;
        drop(pending);
        self.written.notify_all();
    }
}

/// The writer thread: writes each batch that gathered, then says how many lines it lost, if
/// any, to a full queue.
fn drain(queue: &Queue, out: &mut impl Write) {
    loop {
        drain_once(queue, out, None);
    }
}

fn drain_once(queue: &Queue, out: &mut impl Write, idle: Option<Duration>) -> bool {
    let Some((lines, dropped, upto)) = queue.take(idle) else {
        return false;
    };
    let _ = out.write_all(&lines);
    if dropped > 0 {
        let _ = writeln!(
            out,
            r#"{{"timestamp":"{}","level":"WARN","message":"log lines dropped: the writer fell behind","dropped":{dropped}}}"#,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        );
    }
    let _ = out.flush();
    queue.mark_written(upto);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_all(queue: &Queue) -> String {
        let mut out = Vec::new();
        while drain_once(queue, &mut out, Some(Duration::from_millis(5))) {}
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_writer_writes_every_line_in_order() {
        let queue = Queue::default();
        for n in 0..1000 {
            queue.push(&[format!("line {n}").as_bytes(), b"\n"]);
        }
        let text = drain_all(&queue);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[999], "line 999");
        assert_eq!(queue.pending.lock().unwrap().written, 1000);
    }

    #[test]
    fn a_flush_returns_once_the_lines_before_it_are_written() {
        let queue: &'static Queue = Box::leak(Box::default());
        queue.push(&[b"first\n"]);
        let writer = std::thread::spawn(move || {
            let mut out = Vec::new();
            drain_once(queue, &mut out, Some(Duration::from_secs(5)));
            out
        });
        queue.wait_written(Duration::from_secs(5));
        assert_eq!(queue.pending.lock().unwrap().written, 1);
        assert_eq!(writer.join().unwrap(), b"first\n");
    }

    #[test]
    fn lines_past_the_queue_budget_are_dropped_and_reported() {
        let queue = Queue::default();
        let line = vec![b'x'; QUEUE_BYTES / 4];
        for _ in 0..6 {
            let mut with_newline = line.clone();
            with_newline.push(b'\n');
            queue.push(&[&with_newline]);
        }
        let text = drain_all(&queue);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "three whole lines fit, then the warning");
        let warning: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
        assert_eq!(warning["level"], "WARN");
        assert_eq!(warning["dropped"], 3);
    }
}
