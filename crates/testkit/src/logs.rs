//! The process's log lines, captured: a test binary that checks what is logged installs the
//! JSON line logger with a [`Captured`] writer (once per process, so such a test is a binary of
//! its own) and reads the lines back.

use std::sync::{Arc, Mutex};

use serde_json::Value;

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs the services' JSON line logger writing here; returns what it captures.
    pub fn install() -> Self {
        let captured = Self::default();
        let writer = captured.clone();
        common::runtime::init_tracing_with(move || writer.clone());
        captured
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The captured JSON lines that mention `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<Value> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
