//! Where log and metric lines go: stdout, which CloudWatch Logs collects under Lambda.
//!
//! A long-lived server ([`Mode::Background`]) hands each finished line to one writer thread
//! through a bounded queue, so a request never waits on the write (a slow terminal, a pipe a
//! collector drains late): it formats its line and moves on. If the writer falls
//! [`QUEUE_LINES`] lines behind, further lines are dropped rather than stall requests, and the
//! writer says how many it lost (one `WARN` line) once it catches up. [`flush`] waits until
//! every queued line is out (the process calls it before it exits).
//!
//! Under Lambda ([`Mode::Direct`]) each line is written before the call returns: a function
//! serves one request at a time, so nothing else waits on it, and Lambda may freeze the
//! sandbox as soon as the response is sent, which would strand lines still in a queue.

use std::{
    io::Write,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, SyncSender, TrySendError},
    },
    time::Duration,
};

/// How many lines may wait for the writer thread (about 0.5 KiB each).
pub const QUEUE_LINES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Written by the caller, before it goes on.
    Direct,
    /// Queued for the writer thread.
    Background,
}

enum Message {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

struct Queue {
    tx: SyncSender<Message>,
    dropped: &'static AtomicU64,
}

static QUEUE: OnceLock<Option<Queue>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Chooses how lines are written (first call wins; until then lines are written directly).
pub fn init(mode: Mode) {
    QUEUE.get_or_init(|| match mode {
        Mode::Direct => None,
        Mode::Background => {
            let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
            let spawned = std::thread::Builder::new()
                .name("stdout-writer".into())
                .spawn(move || drain(&rx, &mut std::io::stdout(), &DROPPED));
            spawned.ok().map(|_| Queue {
                tx,
                dropped: &DROPPED,
            })
        }
    });
}

/// Writes one line (`line` ends with its newline).
pub fn write_line(line: Vec<u8>) {
    match QUEUE.get() {
        Some(Some(queue)) => match queue.tx.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                queue.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer is gone (it cannot write stdout any more): nothing else could.
            Err(TrySendError::Disconnected(_)) => {}
        },
        _ => {
            let _ = std::io::stdout().lock().write_all(&line);
        }
    }
}

/// Waits (at most `timeout`) until every line queued so far is written.
pub fn flush(timeout: Duration) {
    if let Some(Some(queue)) = QUEUE.get() {
        let (done, wait) = mpsc::sync_channel(1);
        if queue.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(timeout);
        }
    }
}

/// The writer thread: writes what arrives, flushing whenever the queue runs empty.
fn drain(rx: &Receiver<Message>, out: &mut impl Write, dropped: &AtomicU64) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(&line);
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(
                out,
                r#"{{"timestamp":"{}","level":"WARN","message":"log lines dropped: the writer fell behind","dropped":{lost}}}"#,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            );
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

/// The `tracing` writer: collects one event's formatted line and hands it over whole when the
/// event is done.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeStdout;

pub struct LineWriter {
    line: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            write_line(std::mem::take(&mut self.line));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MakeStdout {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            line: Vec::with_capacity(512),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_writes_every_line_in_order_and_answers_a_flush_after_them() {
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        let dropped = AtomicU64::new(0);
        for n in 0..1000 {
            tx.send(Message::Line(format!("line {n}\n").into_bytes()))
                .unwrap();
        }
        let (done, flushed) = mpsc::sync_channel(1);
        tx.send(Message::Flush(done)).unwrap();
        drop(tx);
        let mut out = Vec::new();
        drain(&rx, &mut out, &dropped);
        flushed.try_recv().expect("the flush was answered");
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[999], "line 999");
    }

    #[test]
    fn lines_lost_to_a_full_queue_are_reported_once_the_writer_catches_up() {
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        let dropped = AtomicU64::new(7);
        tx.send(Message::Line(b"kept\n".to_vec())).unwrap();
        drop(tx);
        let mut out = Vec::new();
        drain(&rx, &mut out, &dropped);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "kept");
        let warning: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(warning["level"], "WARN");
        assert_eq!(warning["dropped"], 7);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_line_writer_hands_over_one_event_as_one_line() {
        let mut writer = LineWriter { line: Vec::new() };
        writer.write_all(b"{\"a\":").unwrap();
        writer.write_all(b"1}\n").unwrap();
        assert_eq!(writer.line, b"{\"a\":1}\n");
        writer.line.clear();
    }
}
