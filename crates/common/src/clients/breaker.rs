//! A circuit breaker for an AWS SDK client: after [`Breaker::THRESHOLD`] calls in a row that
//! got no answer (a timeout, a refused or dropped connection), the dependency is taken as down
//! and calls fail at once, without waiting on it, for [`Breaker::COOLDOWN`]; then one call at a
//! time is let through as a probe, and the first answer closes the circuit again. An answer of
//! any kind (including a service error such as a failed condition) counts as "up".
//!
//! It is an SDK interceptor, so every operation of the client goes through it, and the health
//! routes report its state.

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::{
    config::{
        ConfigBag, Intercept, RuntimeComponents,
        interceptors::{BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef},
    },
    error::BoxError,
};

/// What the health routes report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// The dependency is taken as down: calls fail at once.
    Open,
    /// The cooldown is over: one probe call at a time goes through.
    HalfOpen,
}

pub struct Breaker {
    name: &'static str,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    probe_since: Option<Instant>,
}

/// The error of a call refused while the circuit is open.
#[derive(Debug)]
pub struct CircuitOpen {
    pub dependency: &'static str,
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is taken as down after {} calls in a row got no answer; not waiting on it",
            self.dependency,
            Breaker::THRESHOLD
        )
    }
}

impl std::error::Error for CircuitOpen {}

impl Breaker {
    pub const THRESHOLD: u32 = 5;
    pub const COOLDOWN: Duration = Duration::from_secs(2);

    pub fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            state: Mutex::new(State::default()),
        })
    }

    pub fn state(&self) -> CircuitState {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.open_until {
            None => CircuitState::Closed,
            Some(until) if Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    /// Whether a call may go out now (a half-open circuit lets one probe through at a time; a
    /// probe whose caller gave up on it is replaced after a cooldown).
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match state.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) => {
                if state
                    .probe_since
                    .is_some_and(|since| now.duration_since(since) < Self::COOLDOWN)
                {
                    return false;
                }
                state.probe_since = Some(now);
                true
            }
        }
    }

    /// The outcome of a call that went out: `answered` unless it timed out or could not
    /// connect.
    pub fn record(&self, answered: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.probe_since = None;
        if answered {
            if state.open_until.take().is_some() {
                tracing::warn!(
                    dependency = self.name,
                    "circuit closed: the dependency answers again"
                );
            }
            state.failures = 0;
            return;
        }
        state.failures = state.failures.saturating_add(1);
        if state.failures >= Self::THRESHOLD {
            if state.open_until.is_none() {
                tracing::warn!(
                    dependency = self.name,
                    failures = state.failures,
                    "circuit open: the dependency does not answer; failing fast"
                );
            }
            state.open_until = Some(Instant::now() + Self::COOLDOWN);
        }
    }

    /// The interceptor to add to the client's config.
    pub fn interceptor(self: &Arc<Self>) -> BreakerInterceptor {
        BreakerInterceptor(self.clone())
    }
}

#[derive(Clone)]
pub struct BreakerInterceptor(Arc<Breaker>);

impl fmt::Debug for BreakerInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BreakerInterceptor({})", self.0.name)
    }
}

impl Intercept for BreakerInterceptor {
    fn name(&self) -> &'static str {
        "CircuitBreaker"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.0.allow() {
            Ok(())
        } else {
            Err(Box::new(CircuitOpen {
                dependency: self.0.name,
            }))
        }
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let answered = match context.output_or_error() {
            Some(Ok(_)) => true,
            // A refused call (this interceptor's error) never went out: it says nothing new
            // about the dependency.
            Some(Err(err)) if err.is_interceptor_error() => return Ok(()),
            Some(Err(err)) => !(err.is_timeout_error() || err.is_connector_error()),
            None => return Ok(()),
        };
        self.0.record(answered);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_circuit_opens_after_the_threshold_and_one_answer_closes_it() {
        let breaker = Breaker::new("dynamodb");
        for _ in 0..Breaker::THRESHOLD - 1 {
            assert!(breaker.allow());
            breaker.record(false);
        }
        assert_eq!(breaker.state(), CircuitState::Closed);
        // An answer in between starts the count again.
        breaker.record(true);
        for _ in 0..Breaker::THRESHOLD {
            assert!(breaker.allow());
            breaker.record(false);
        }
        assert_eq!(breaker.state(), CircuitState::Open);
        assert!(!breaker.allow());
        // After the cooldown, one probe goes through, not two.
        breaker.state.lock().unwrap().open_until = Some(Instant::now());
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        assert!(breaker.allow());
        assert!(!breaker.allow());
        breaker.record(true);
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert!(breaker.allow());
    }

    #[test]
    fn a_failed_probe_opens_the_circuit_for_another_cooldown() {
        let breaker = Breaker::new("dynamodb");
        for _ in 0..Breaker::THRESHOLD {
            breaker.record(false);
        }
        breaker.state.lock().unwrap().open_until = Some(Instant::now());
        assert!(breaker.allow());
        breaker.record(false);
        assert_eq!(breaker.state(), CircuitState::Open);
        assert!(!breaker.allow());
    }
}
