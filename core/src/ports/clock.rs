//! The time. The core never reads the clock itself: it takes `now`, or a [`Clock`].

use crate::Timestamp;

/// Now, as a deployment tells it.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;

    /// The clock as a manual one, when it is.
    fn as_manual(&self) -> Option<&ManualClock> {
        None
    }
}

/// The real clock: sessions, credentials and delivery retries run on it, whatever the
/// deployment's clock (a demo's manual one among them).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// A clock that moves only when told to, and only forward: for demos and black-box tests.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `start`.
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: std::sync::Mutex::new(start),
        }
    }

    /// Moves the clock to `to`; refuses to move it backward.
    pub fn set(&self, to: Timestamp) -> Result<Timestamp, crate::ValidationError> {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if to < *now {
            return Err(crate::ValidationError::new(
                "to",
                format!("{to} is before the clock's {now}; time only moves forward"),
            ));
        }
        *now = to;
        Ok(to)
    }

    /// Moves the clock forward by `by` (not negative).
    pub fn advance(&self, by: chrono::Duration) -> Result<Timestamp, crate::ValidationError> {
        if by < chrono::Duration::zero() {
            return Err(crate::ValidationError::new("by", "time only moves forward"));
        }
        let to = self
            .now()
            .checked_add_signed(by)
            .ok_or_else(|| crate::ValidationError::new("by", "moves the clock past its range"))?;
        self.set(to)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn as_manual(&self) -> Option<&ManualClock> {
        Some(self)
    }
}

/// Waits a while: between the attempts of a commit that met a concurrent change. The core has
/// no timer of its own; each runtime gives its own.
#[async_trait::async_trait]
pub trait Pause: Send + Sync {
    /// Returns after `duration`.
    async fn pause(&self, duration: std::time::Duration);
}

/// Does not wait (the default: each attempt reads afresh anyway).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPause;

#[async_trait::async_trait]
impl Pause for NoPause {
    async fn pause(&self, _: std::time::Duration) {}
}

/// Waits with a runtime's own timer, given as its sleep function: `Sleep(tokio::time::sleep)`
/// wherever autolock runs on tokio.
pub struct Sleep<F>(pub F);

impl<F> std::fmt::Debug for Sleep<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sleep(..)")
    }
}

#[async_trait::async_trait]
impl<F, Fut> Pause for Sleep<F>
where
    F: Fn(std::time::Duration) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = ()> + Send,
{
    async fn pause(&self, duration: std::time::Duration) {
        (self.0)(duration).await;
    }
}
