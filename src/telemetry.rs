//! Logging: a `tracing` subscriber writing human-readable or JSON lines to a sink.
//!
//! Taking the sink as a parameter keeps tests silent: they pass `std::io::sink` unless
//! `TEST_LOG` is set.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; `RUST_LOG` overrides `default_filter`. Calling it twice is
/// harmless (the second call is ignored), which tests rely on.
pub fn init<W>(default_filter: &str, format: LogFormat, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), default_filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The filter from `RUST_LOG` (or `default_filter` without it), with Automerge held at `warn`
/// unless it is named: Automerge opens `info` spans whose fields are the document's whole change
/// graph, formatted on every change applied, so an enabled span made each sync edit cost time in
/// proportion to the document's history.
fn filter(rust_log: Option<&str>, default_filter: &str) -> EnvFilter {
    let spec = rust_log
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(default_filter);
    let filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new(default_filter));
    if spec.contains("automerge") {
        return filter;
    }
    filter.add_directive("automerge=warn".parse().expect("a valid directive"))
}

#[cfg(test)]
mod tests {
    use super::filter;

    #[test]
    fn automerge_spans_are_off_at_the_default_level() {
        let text = filter(None, "info").to_string();
        assert!(text.contains("automerge=warn"), "{text}");
    }

    #[test]
    fn naming_automerge_in_rust_log_wins() {
        let text = filter(Some("info,automerge=debug"), "info").to_string();
        assert!(text.contains("automerge=debug"), "{text}");
        assert!(!text.contains("automerge=warn"), "{text}");
    }
}
