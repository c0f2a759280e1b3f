//! What Docker's refusals mean: the one place berth reads Docker's status
//! codes and message text, to tell "already done" from a failure. Engines
//! differ (a disconnect that finds nothing is a 500 with a message on 20.10
//! and 26.1, a 404 when the container is gone; an attach that is there
//! already is a 403), so each answer is matched on what every engine the
//! suite runs says, and the tests below hold the texts each one gave.

use bollard::errors::Error;

/// Docker's status and message, when the error is Docker's answer.
fn answer(e: &Error) -> Option<(u16, &str)> {
    match e {
        Error::DockerResponseServerError {
            status_code,
            message,
        } => Some((*status_code, message.as_str())),
        _ => None,
    }
}

/// "No such container, network or volume": 404.
pub(super) fn gone(e: &Error) -> bool {
    matches!(answer(e), Some((404, _)))
}

/// A disconnect that finds the container not attached (500 "container … is
/// not connected to network …", or "… to the network …" when the network
/// is gone), or the container gone (404 "endpoint … not found").
pub(super) fn not_connected(e: &Error) -> bool {
    match answer(e) {
        Some((404, _)) => true,
        Some((_, message)) => message.contains("is not connected to"),
        None => false,
    }
}

/// A connect that finds the container attached already (403 "endpoint with
/// name … already exists in network …"), with aliases the caller checks.
pub(super) fn already_attached(e: &Error) -> bool {
    matches!(answer(e), Some((403 | 409, m)) if m.contains("already exists in network"))
}

/// A create that finds a network or container of that name (409).
pub(super) fn exists(e: &Error) -> bool {
    matches!(answer(e), Some((409, _)))
}

/// A start that finds the container running (304).
pub(super) fn not_modified(e: &Error) -> bool {
    matches!(answer(e), Some((304, _)))
}

/// A swarm service update made against an old version.
pub(super) fn out_of_sequence(e: &super::DockerError) -> bool {
    matches!(e, super::DockerError::Api { message, .. } if message.contains("update out of sequence"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(status_code: u16, message: &str) -> Error {
        Error::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    /// What Docker Engine 20.10.24 (API 1.41) and 26.1.5 (API 1.45) answer
    /// to each request repeated once it is done: the same on both, taken
    /// from each with curl (`tests/it/idempotent.rs` sends every request
    /// twice against the engine the suite runs on, which CI runs on both).
    #[test]
    fn every_engines_already_done_answer_is_recognised() {
        let id = "b23b5b7d9606401404e7ca576280a62fe09478e16503d55eb1d658e635a97d10";
        assert!(not_connected(&docker(
            500,
            &format!("container {id} is not connected to network n")
        )));
        assert!(not_connected(&docker(
            500,
            &format!("container {id} is not connected to the network gone")
        )));
        assert!(not_connected(&docker(404, "endpoint c not found")));
        assert!(already_attached(&docker(
            403,
            "endpoint with name c already exists in network n"
        )));
        assert!(exists(&docker(409, "network with name n already exists")));
        assert!(exists(&docker(
            409,
            &format!(
                "Conflict. The container name \"/j\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
            )
        )));
        assert!(gone(&docker(404, "network n not found")));
        assert!(gone(&docker(404, "No such container: j")));
        assert!(not_modified(&docker(304, "")));
    }

    #[test]
    fn other_failures_stay_failures() {
        let refusals = [
            docker(
                500,
                "failed to create endpoint c on network n: address already in use",
            ),
            docker(403, "operation not permitted"),
            docker(
                400,
                "container cannot be connected to multiple networks with one of the networks in private (none) mode",
            ),
            docker(
                403,
                "error while removing network: network n has active endpoints",
            ),
            Error::RequestTimeoutError,
        ];
        for e in &refusals {
            assert!(!not_connected(e), "{e}");
            assert!(!already_attached(e), "{e}");
        }
        assert!(!exists(&refusals[0]));
        assert!(!gone(&refusals[3]));
    }
}
