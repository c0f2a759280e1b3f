//! `berth watch`: the reconciler's log, one line per event and action
//! (text, or JSON lines for a log pipeline), written through `tracing` so
//! that `--log-level` and `RUST_LOG` choose what is written; exits 0 when
//! stopped.

use std::fmt;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::{Exit, LogFormat, LogLevel, WatchArgs, block_on, error, failed};
use std::sync::Arc;

use crate::ops::{Listen, TokenSource, WatchEvent, WatchObserver, WatchPages, WatchRequest};
use crate::render;

/// The target of watch's own lines: `RUST_LOG=berth=debug` selects them.
const TARGET: &str = "berth::watch";

pub fn run(args: &WatchArgs) -> Exit {
    let filter = match filter(args.log_level, std::env::var("RUST_LOG").ok()) {
        Ok(filter) => filter,
        Err(message) => {
            error(
                message,
                Some(
                    "write a level (RUST_LOG=debug) or target=level pairs (RUST_LOG=warn,berth=debug), or pass --log-level",
                ),
            );
            return Exit::Error;
        }
    };
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(Line {
            format: args.log_format,
        })
        .with_writer(std::io::stdout)
        .finish();
    // Worker threads log too: the subscriber is the process's. Only this
    // command installs one, once.
    let _ = tracing::subscriber::set_global_default(subscriber);
    let req = WatchRequest {
        source: args.source.spec(),
        fetch_interval: args.fetch_interval,
        fleet: args.fleet.fleet(),
        lock_timeout: args.lock_timeout,
        apply_all: args.apply_all,
        resync: args.resync,
        target: args.target.target(),
        local: args.local,
        metrics: args.metrics,
        listen: args.listen.map(|address| Listen {
            address,
            token: match (&args.listen_token_file, &args.listen_token_env) {
                (Some(path), _) => TokenSource::File(path.clone()),
                (None, Some(name)) => TokenSource::Env(name.clone()),
                (None, None) => TokenSource::Env(crate::ops::listen::TOKEN_ENV.to_string()),
            },
        }),
    };
    let pages: Option<Arc<dyn WatchPages>> = args
        .listen
        .map(|_| Arc::new(render::html::Pages) as Arc<dyn WatchPages>);
    let log = Log {
        json: args.log_format == LogFormat::Json,
    };
    match block_on(|cancel| async move { crate::ops::watch(&req, &log, pages, &cancel).await }) {
        // Stopped by a signal: the step under way finished, locks released.
        None | Some(Ok(())) => Exit::Ok,
        Some(Err(e)) => failed(&e),
    }
}

/// What is logged: `--log-level` for berth's lines (other crates' at warn,
/// or error with `--log-level error`), else `RUST_LOG`, else info.
fn filter(flag: Option<LogLevel>, rust_log: Option<String>) -> Result<EnvFilter, String> {
    let directives = |level: LogLevel| {
        let (others, berth) = match level {
            LogLevel::Error => ("error", "error"),
            LogLevel::Warn => ("warn", "warn"),
            LogLevel::Info => ("warn", "info"),
            LogLevel::Debug => ("warn", "debug"),
        };
        EnvFilter::new(format!("{others},berth={berth}"))
    };
    match (flag, rust_log.filter(|s| !s.trim().is_empty())) {
        (Some(level), _) => Ok(directives(level)),
        (None, Some(spec)) => EnvFilter::try_new(&spec)
            .map_err(|e| format!("RUST_LOG={spec} is not a log filter: {e}")),
        (None, None) => Ok(directives(LogLevel::Info)),
    }
}

/// Hands each watch event to `tracing`: its text line as the message and,
/// for JSON lines, the event itself.
struct Log {
    json: bool,
}

impl WatchObserver for Log {
    fn event(&self, event: &WatchEvent) {
        // A level is part of a callsite: one per level.
        macro_rules! emit {
            ($level:expr) => {
                if tracing::enabled!(target: TARGET, $level) {
                    let json = self.json.then(|| render::watch::json(event));
                    tracing::event!(target: TARGET, $level, json = json.as_deref(), "{}", render::watch::text(event));
                }
            };
        }
        match render::watch::level(event) {
            Level::ERROR => emit!(Level::ERROR),
            Level::WARN => emit!(Level::WARN),
            Level::INFO => emit!(Level::INFO),
            _ => emit!(Level::DEBUG),
        }
    }
}

/// Writes each record as `render::watch::line` says.
struct Line {
    format: LogFormat,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut out: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let record = render::watch::Record {
            time: SystemTime::now(),
            level: *meta.level(),
            target: meta.target(),
            ours: meta.target() == TARGET,
            message: &fields.message,
            rest: &fields.rest,
            json: fields.json.as_deref(),
        };
        writeln!(
            out,
            "{}",
            render::watch::line(&record, self.format == LogFormat::Json)
        )
    }
}

/// A record's fields: the message, watch's JSON, and the rest as
/// ` key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    json: Option<String>,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "json" => self.json = Some(value.to_string()),
            name => self.rest.push_str(&format!(" {name}={value}")),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            name => self.rest.push_str(&format!(" {name}={value:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing::level_filters::LevelFilter;

    use super::*;

    fn most(flag: Option<LogLevel>, rust_log: Option<&str>) -> Option<LevelFilter> {
        filter(flag, rust_log.map(str::to_string))
            .expect("a filter")
            .max_level_hint()
    }

    #[test]
    fn the_flag_wins_over_rust_log_which_wins_over_info() {
        assert_eq!(most(None, None), Some(LevelFilter::INFO));
        assert_eq!(most(None, Some(" ")), Some(LevelFilter::INFO));
        assert_eq!(most(None, Some("berth=debug")), Some(LevelFilter::DEBUG));
        assert_eq!(most(None, Some("error")), Some(LevelFilter::ERROR));
        assert_eq!(
            most(Some(LogLevel::Warn), Some("berth=debug")),
            Some(LevelFilter::WARN)
        );
        assert_eq!(most(Some(LogLevel::Debug), None), Some(LevelFilter::DEBUG));
        assert_eq!(most(Some(LogLevel::Error), None), Some(LevelFilter::ERROR));
        let bad = filter(None, Some("berth=loud".into())).expect_err("not a filter");
        assert!(bad.contains("RUST_LOG=berth=loud"), "{bad}");
    }
}
