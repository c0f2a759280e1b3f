//! Why a step failed, as data: Docker's refusal (its HTTP status and
//! message kept apart, in `DockerError`) or berth's own, what the step had
//! done before it failed, what the failure left behind, and what to do.

use std::fmt;

use crate::docker::DockerError;

/// A failed step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// What the step had done when it failed ("disconnected 3
    /// container(s)"), if anything.
    pub done: Option<String>,
    pub cause: Cause,
    /// What the failure left, and what comes of it ("the network was left
    /// as it was", "the journal … records it: the next apply …").
    pub left: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A Docker request failed. `request` says whether the message names
    /// the request (a step of several requests) or not (the step's one
    /// request, which the step's own line names already).
    Docker { error: DockerError, request: bool },
    /// berth would not act, whatever the plan said: the last look before a
    /// removal or replace, a network of that name that is not the one
    /// asked for, a journal that records what berth does not journal.
    Refused { reason: String, hint: String },
    /// A server the step needs has no connection in this run.
    NotConnected { server: String },
    /// The swarm manager stopped a rollout, it did not finish in time, or
    /// the run was cancelled while it went on.
    Rollout { message: String, hint: String },
}

impl StepError {
    /// The step's one request failed (its line names the request).
    pub fn answer(error: DockerError) -> StepError {
        Cause::Docker {
            error,
            request: false,
        }
        .into()
    }

    /// One request of several failed: the message names it.
    pub fn request(error: DockerError) -> StepError {
        Cause::Docker {
            error,
            request: true,
        }
        .into()
    }

    pub fn refused(reason: impl Into<String>, hint: impl Into<String>) -> StepError {
        Cause::Refused {
            reason: reason.into(),
            hint: hint.into(),
        }
        .into()
    }

    /// What the step had done before it failed.
    pub fn after(mut self, done: impl Into<String>) -> StepError {
        self.done = Some(done.into());
        self
    }

    /// What the failure left.
    pub fn leaving(mut self, left: impl Into<String>) -> StepError {
        self.left.push(left.into());
        self
    }

    /// The Docker error behind it, if Docker's answer was the cause.
    pub fn docker(&self) -> Option<&DockerError> {
        match &self.cause {
            Cause::Docker { error, .. } => Some(error),
            _ => None,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match &self.cause {
            Cause::Docker { error, .. } => error.hint(),
            Cause::Refused { hint, .. } | Cause::Rollout { hint, .. } => Some(hint.clone()),
            Cause::NotConnected { .. } => Some(
                "the connection opened when the run started is gone: `berth apply` again"
                    .to_string(),
            ),
        }
    }

    /// The message and its hint on one line (for logs).
    pub fn full(&self) -> String {
        match self.hint() {
            Some(h) => format!("{self} (hint: {h})"),
            None => self.to_string(),
        }
    }
}

impl From<Cause> for StepError {
    fn from(cause: Cause) -> StepError {
        StepError {
            done: None,
            cause,
            left: Vec::new(),
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Docker {
                error,
                request: true,
            } => write!(f, "{error}"),
            Cause::Docker {
                error,
                request: false,
            } => write!(f, "{}", error.cause()),
            Cause::Refused { reason, .. } => write!(f, "{reason}"),
            Cause::NotConnected { server } => write!(f, "server {server} is not connected"),
            Cause::Rollout { message, .. } => write!(f, "{message}"),
        }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(done) = &self.done {
            write!(f, "{done}; then ")?;
        }
        write!(f, "{}", self.cause)?;
        for left in &self.left {
            write!(f, "; {left}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StepError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> DockerError {
        DockerError::Api {
            what: "disconnect web from prod".to_string(),
            status: Some(500),
            message: "driver failed".to_string(),
        }
    }

    #[test]
    fn status_and_message_stay_apart_and_the_text_reads_as_one_sentence() {
        let e = StepError::request(refused())
            .after("disconnected 2 container(s)")
            .leaving("the network was left as it was");
        assert_eq!(e.docker().and_then(DockerError::status), Some(500));
        assert_eq!(
            e.to_string(),
            "disconnected 2 container(s); then disconnect web from prod: Docker answered 500: driver failed; the network was left as it was"
        );
        assert!(e.hint().is_some_and(|h| h.contains("journalctl")), "{e:?}");
        // The step's own request: its line names it already.
        assert_eq!(
            StepError::answer(refused()).to_string(),
            "Docker answered 500: driver failed"
        );
    }

    #[test]
    fn a_refusal_carries_its_hint() {
        let e = StepError::refused("network n is gone", "plan again");
        assert_eq!(e.to_string(), "network n is gone");
        assert_eq!(e.full(), "network n is gone (hint: plan again)");
    }
}
