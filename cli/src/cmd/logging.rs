//! The service's logs: `tracing` events on standard error, as text or JSON lines, filtered by
//! `RUST_LOG` (default `info`).

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::report::{input_error, Failure};

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// One line per event: time, level, target, message and fields as key=value.
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the fields.
    Json,
}

impl LogFormat {
    pub(crate) fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// Installs the process's log subscriber; keep the guard until the process is done logging
/// (dropping it writes what is still queued). A `RUST_LOG` that does not parse is a usage error
/// naming it (rather than silently logging at another level than asked).
///
/// Lines go through a writer thread that batches them into few writes: a request no longer
/// waits on a `write` system call to standard error for its log line (measured with wrk, that
/// write cost the JSON 404 route a third of its throughput). Nothing is dropped: past 128k
/// queued lines, requests wait for the writer as they did for the terminal.
pub(crate) fn init(format: LogFormat) -> Result<WorkerGuard, Failure> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|e| input_error(format!("RUST_LOG={directives:?}: {e}")))?,
        _ => EnvFilter::new("info"),
    };
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("macaroon-mint-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|e| input_error(format!("cannot install the log subscriber: {e}")))?;
    Ok(guard)
}
