//! NEW(lesson 17): the text log's format, written by hand.
//!
//! tracing-subscriber's own text format writes every piece through Rust's formatting machinery
//! (`write!`, with a colour style around each piece, even with colours off), and its clock
//! formats the whole date at every line. callgrind counted about 12,000 instructions a
//! CreateLink for the span's fields and the line: more than the handler. This format writes
//! the same line (a timestamp, the level, the span with its fields, the target, the message
//! and the event's fields) with plain string writes, and formats the date once a second.
//!
//! Values are written bare, as `%value` would be, and quoted (Rust's `Debug` for strings)
//! when they hold a space, a quote or an `=`, as logfmt does, so that a line splits back into
//! its fields.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format: `2026-12-05T20:01:09.737473Z  INFO call{method=... request_id=...
/// code=Ok}: solution_19::log: call ended took_us=731`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainText;

/// The span fields' format: `method=/shortener.LinkService/CreateLink request_id=...`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainFields;

impl<S, N> FormatEvent<S, N> for PlainText
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_now(&mut writer)?;
        let level = match *event.metadata().level() {
            Level::TRACE => "TRACE ",
            Level::DEBUG => "DEBUG ",
            Level::INFO => " INFO ",
            Level::WARN => " WARN ",
            Level::ERROR => "ERROR ",
        };
        writer.write_str(level)?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            writer.write_char(' ')?;
        }
        writer.write_str(event.metadata().target())?;
        writer.write_str(": ")?;
        let mut visitor = Fields::new(writer.by_ref());
        event.record(&mut visitor);
        visitor.result?;
        writer.write_char('\n')
    }
}

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = Fields::new(writer);
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes fields as `name=value`, one space apart; the message bare.
struct Fields<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl<'a> Fields<'a> {
    fn new(writer: Writer<'a>) -> Fields<'a> {
        Fields {
            writer,
            first: true,
            result: Ok(()),
        }
    }

    /// The separator and the name: what comes before any value.
    fn name(&mut self, field: &Field) -> fmt::Result {
        if !std::mem::replace(&mut self.first, false) {
            self.writer.write_char(' ')?;
        }
        if field.name() != "message" {
            self.writer.write_str(field.name())?;
            self.writer.write_char('=')?;
        }
        Ok(())
    }

    fn text(&mut self, field: &Field, value: &str) -> fmt::Result {
        self.name(field)?;
        let bare = field.name() == "message"
            || !value.is_empty()
                && !value
                    .bytes()
                    .any(|b| matches!(b, b' ' | b'"' | b'=' | b'\n'));
        if bare {
            self.writer.write_str(value)
        } else {
            write!(self.writer, "{value:?}")
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() {
            self.result = self.text(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.result.is_ok() {
            self.result = self
                .name(field)
                .and_then(|()| write!(self.writer, "{value}"));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.result.is_ok() {
            self.result = self
                .name(field)
                .and_then(|()| write!(self.writer, "{value}"));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record_str(field, if value { "true" } else { "false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        // A `%value` or a message comes here as `Debug`; its text decides the quoting.
        thread_local! {
            static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
        }
        self.result = TEXT.with(|text| match text.try_borrow_mut() {
            Ok(mut text) => {
                text.clear();
                write!(text, "{value:?}")?;
                self.text(field, &text)
            }
            // A `Debug` that logs comes back here while the buffer is in use: a buffer of its own.
            Err(_) => self.text(field, &format!("{value:?}")),
        });
    }
}

/// The instant, as `2026-12-05T20:01:09.737473Z `: the date and time of the second, made once
/// a second on each thread, then the microseconds.
fn write_now(writer: &mut Writer<'_>) -> fmt::Result {
    thread_local! {
        /// The second last formatted, and its text up to the dot.
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (seconds, micros) = (since_epoch.as_secs(), since_epoch.subsec_micros());
    SECOND.with(|second| {
        let mut second = second.borrow_mut();
        if second.0 != seconds {
            second.1.clear();
            write_second(&mut second.1, seconds)?;
            second.0 = seconds;
        }
        writer.write_str(&second.1)?;
        write!(writer, ".{micros:06}Z ")
    })
}

/// `seconds` since 1970 as `YYYY-MM-DDTHH:MM:SS`, in UTC.
fn write_second(out: &mut String, seconds: u64) -> fmt::Result {
    let days = seconds / 86_400;
    let in_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// The date `days` after 1970-01-01, in the proleptic Gregorian calendar (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(seconds: u64) -> String {
        let mut out = String::new();
        write_second(&mut out, seconds).expect("a date");
        out
    }

    #[test]
    fn seconds_since_the_epoch_read_as_their_date() {
        assert_eq!(second(0), "1970-01-01T00:00:00");
        assert_eq!(second(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(second(1_709_251_199), "2024-02-29T23:59:59");
        assert_eq!(second(4_102_444_800), "2100-01-01T00:00:00");
        assert_eq!(second(1_796_499_669), "2026-12-05T19:41:09"); // `date -u -d @1796499669`
    }

    #[test]
    fn a_line_reads_as_the_span_then_the_message_and_its_fields() {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::prelude::*;

        #[derive(Clone, Default)]
        struct Kept(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Kept {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("the lines").extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let kept = Kept::default();
        let writer = {
            let kept = kept.clone();
            move || kept.clone()
        };
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(PlainText)
                .fmt_fields(PlainFields)
                .with_writer(writer),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "call",
                method = %"/shortener.LinkService/CreateLink",
                request_id = "0a1b",
                code = tracing::field::Empty,
            );
            span.record("code", tracing::field::debug(tonic::Code::Ok));
            tracing::info!(parent: &span, took_us = 731u64, cut_off = "cut off", "call ended");
        });
        let line = String::from_utf8(kept.0.lock().expect("the lines").clone()).expect("UTF-8");
        let (time, rest) = line.split_once(' ').expect("a timestamp");
        assert_eq!(time.len(), "2026-12-05T20:01:09.737473Z".len(), "{line}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{line}");
        assert_eq!(
            rest,
            " INFO call{method=/shortener.LinkService/CreateLink request_id=0a1b code=Ok}: \
             solution_19::log_format::tests: call ended took_us=731 cut_off=\"cut off\"\n"
        );
    }
}
