//! Docker's event stream, as plain data: the container, network and (on a
//! swarm manager) service events a watcher reacts to, through the same
//! connection (and SSH tunnel) as every other call.

use std::collections::HashMap;

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::{Stream, StreamExt};

use super::{Client, DockerError};
use crate::live::Event;

/// The events that can change what a plan says (a manager's service
/// events included: `create`, `update`, `remove`).
const CONTAINER_ACTIONS: [&str; 5] = ["create", "start", "die", "destroy", "rename"];
const NETWORK_ACTIONS: [&str; 4] = ["create", "destroy", "connect", "disconnect"];
const SERVICE_ACTIONS: [&str; 2] = ["update", "remove"];

impl Client {
    /// The daemon's clock now, as Docker's event filters write a time
    /// (`<seconds>.<nanoseconds>` since the Unix epoch): where
    /// [`events`](Self::events) starts when nothing may be missed from here
    /// on, whatever this machine's clock says. One `/info` call.
    pub async fn clock(&self) -> Result<String, DockerError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| self.fail("read the daemon's clock", &e))?;
        let time = info.system_time.unwrap_or_default();
        event_time(&time).ok_or_else(|| DockerError::Api {
            what: "read the daemon's clock".to_string(),
            status: None,
            message: format!("`{time}` is not an RFC 3339 time"),
        })
    }

    /// Every container create/start/die/destroy/rename, network
    /// create/destroy/connect/disconnect and service update/remove: from
    /// `since` (a [`clock`](Self::clock) reading; the daemon replays what
    /// it kept since then, its last 256 events) or else from now on. The
    /// stream ends (or yields an error) when the daemon or the connection
    /// goes.
    pub fn events<'a>(
        &'a self,
        since: Option<&str>,
    ) -> impl Stream<Item = Result<Event, DockerError>> + use<'a> {
        let filters = HashMap::from([
            ("type", vec!["container", "network", "service"]),
            (
                "event",
                CONTAINER_ACTIONS
                    .iter()
                    .chain(NETWORK_ACTIONS.iter())
                    .chain(SERVICE_ACTIONS.iter())
                    .copied()
                    .collect(),
            ),
        ]);
        let mut opts = EventsOptionsBuilder::default().filters(&filters).build();
        opts.since = since.map(str::to_string);
        self.docker.events(Some(opts)).map(move |e| {
            let e = e.map_err(|e| self.fail("follow events", &e))?;
            let kind = e.typ.map(|t| t.to_string()).unwrap_or_default();
            let (id, mut attributes) = e
                .actor
                .map(|a| (a.id.unwrap_or_default(), a.attributes.unwrap_or_default()))
                .unwrap_or_default();
            let name = attributes
                .remove("name")
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| id.chars().take(12).collect());
            let container = attributes.remove("container");
            // `/old` on a rename: Docker's names keep their leading slash.
            let old_name = attributes
                .remove("oldName")
                .map(|n| n.trim_start_matches('/').to_string());
            // A container event carries the container's labels, beside
            // Docker's own `image` (and `exitCode`, `signal`, …).
            let labels = if kind == "container" {
                attributes.into_iter().collect()
            } else {
                Default::default()
            };
            Ok(Event {
                kind,
                action: e.action.unwrap_or_default(),
                id,
                name,
                labels,
                old_name,
                container,
            })
        })
    }
}

/// An RFC 3339 time as Docker writes it (`2026-12-06T22:00:27.017123456Z`,
/// or with the daemon's offset, `…+01:00`) → `<seconds>.<nanoseconds>`
/// since the Unix epoch, the form `/events?since=` takes.
fn event_time(rfc3339: &str) -> Option<String> {
    use std::time::{Duration, UNIX_EPOCH};
    let s = rfc3339.trim();
    // The offset, if any: `Z`, or `±hh:mm` after the time of day.
    let (local, offset) = match s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        Some(local) => (local, 0i64),
        None => {
            let time_of_day = s.find('T')?;
            let at = s.rfind(['+', '-']).filter(|&i| i > time_of_day)?;
            let (local, zone) = s.split_at(at);
            let (h, m) = zone[1..].split_once(':')?;
            let minutes = h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?;
            (
                local,
                if zone.starts_with('-') {
                    -minutes
                } else {
                    minutes
                },
            )
        }
    };
    let utc = humantime::parse_rfc3339(&format!("{local}Z")).ok()?;
    let shift = Duration::from_secs(offset.unsigned_abs() * 60);
    // Local time = UTC + offset: take the offset back off.
    let utc = if offset >= 0 {
        utc.checked_sub(shift)?
    } else {
        utc.checked_add(shift)?
    };
    let since = utc.duration_since(UNIX_EPOCH).ok()?;
    Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::event_time;

    #[test]
    fn a_daemon_time_becomes_an_event_filter_time_whatever_its_offset() {
        assert_eq!(
            event_time("2026-12-06T22:00:27.017123456Z").as_deref(),
            Some("1796594427.017123456")
        );
        assert_eq!(
            event_time("2026-12-06T23:30:27.5+01:30").as_deref(),
            Some("1796594427.500000000")
        );
        assert_eq!(
            event_time("2026-12-06T17:00:27-05:00").as_deref(),
            Some("1796594427.000000000")
        );
        assert_eq!(event_time(""), None);
        assert_eq!(event_time("yesterday"), None);
        assert_eq!(event_time("2026-12-06T22:00:27+xx:00"), None);
    }
}
