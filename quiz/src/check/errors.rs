//! The black-box checks of lesson 11 (errors and status codes): bad URLs get INVALID_ARGUMENT
//! with a `google.rpc.BadRequest` field violation, a good URL is stored as sent, a batch with a
//! bad URL names its index and stores nothing, and a batch over the limit is refused and stores
//! nothing. The server runs with [`SERVER_ARGS`], so its limit is [`MAX_BATCH`].

use std::future::Future;

use shortener_proto::{BatchCreateLinksResponse, CreateLinkRequest};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::rpc::{self, Context};
use super::{Failure, Reporter};

/// The batch limit the checker gives the server.
pub const MAX_BATCH: usize = 5;

/// The arguments the server is started with, after `--addr`: a small limit to check.
pub const SERVER_ARGS: &[&str] = &["--max-batch", "5"];

/// Where the lesson's pieces live, for the hints.
const VALIDATE: &str = "`validate_url` in src/validate.rs";
const CONVERT: &str = "`From<ShortenerError> for Status` in src/error.rs";
const BATCH: &str = "`batch_create_links` in src/server.rs";

/// Runs `check` within twice the call limit (a stream takes more than one call's time).
async fn within<T>(
    cx: &Context,
    what: &str,
    hint: &str,
    check: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let limit = cx.limit * 2;
    match tokio::time::timeout(limit, check).await {
        Ok(result) => result,
        Err(_) => Err(Failure::new(
            format!("{what}, within {} s", limit.as_secs()),
            "no answer: the call was still running, and was stopped",
            format!("{hint} The server's last output:\n{}", cx.log.text()),
        )),
    }
}

/// A status as the report shows it: code, message, field violations.
fn shown(status: &Status) -> String {
    let fields = violations(status);
    let mut text = rpc::shown(status);
    if !fields.is_empty() {
        let fields: Vec<String> = fields.iter().map(|(f, d)| format!("{f}: {d}")).collect();
        text.push_str(&format!("\nfield violations: {}", fields.join("; ")));
    }
    text
}

/// The `(field, description)` pairs of a status's BadRequest details.
fn violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// The failure for a call that broke off (a panic, a `todo!()`), or `None` for a real answer.
fn broke_off(cx: &Context, rpc: &str, expected: &str, status: &Status) -> Option<Failure> {
    matches!(
        status.code(),
        Code::Unknown | Code::Internal | Code::Unavailable | Code::Cancelled | Code::Unimplemented
    )
    .then(|| cx.unexpected(rpc, expected, status))
}

/// How many links the server has.
async fn count(cx: &Context) -> Result<usize, Failure> {
    cx.list()
        .await
        .map(|links| links.len())
        .map_err(|status| cx.unexpected("ListLinks", "a stream of links", &status))
}

fn requests(urls: &[String]) -> Vec<CreateLinkRequest> {
    urls.iter()
        .map(|url| CreateLinkRequest { url: url.clone() })
        .collect()
}

async fn batch(cx: &Context, urls: &[String]) -> Result<BatchCreateLinksResponse, Status> {
    let response = cx
        .client
        .clone()
        .batch_create_links(tokio_stream::iter(requests(urls)))
        .await?;
    Ok(response.into_inner())
}

fn good_urls(name: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("https://example.com/quiz-check/{name}/{i}"))
        .collect()
}

/// CreateLink of `url` must answer INVALID_ARGUMENT with a violation on `url`.
async fn refuses(cx: &Context, url: &str, rule: &str) -> Result<(), Failure> {
    let expected = "INVALID_ARGUMENT, with a google.rpc.BadRequest field violation on `url`";
    let status = match cx
        .client
        .clone()
        .create_link(CreateLinkRequest {
            url: url.to_string(),
        })
        .await
    {
        Ok(response) => {
            let link = response.into_inner().link.unwrap_or_default();
            let shown: String = link.url.chars().take(60).collect();
            let cut = if shown.len() < link.url.len() {
                "..."
            } else {
                ""
            };
            return Err(Failure::new(
                expected,
                format!(
                    "OK: created {} -> {shown:?}{cut} ({} bytes)",
                    link.short_code,
                    link.url.len()
                ),
                format!(
                    "{VALIDATE} must refuse it: {rule}. And `create_link` must check before it \
                     stores: `validate_url(&url).map_err(ShortenerError::InvalidUrl)?` first."
                ),
            ));
        }
        Err(status) => status,
    };
    if let Some(failure) = broke_off(cx, "CreateLink", expected, &status) {
        return Err(failure);
    }
    if status.code() != Code::InvalidArgument {
        return Err(Failure::new(
            expected,
            shown(&status),
            format!(
                "A URL the shortener refuses is INVALID_ARGUMENT: see the `InvalidUrl` arm of {CONVERT}."
            ),
        ));
    }
    let fields: Vec<String> = violations(&status).into_iter().map(|v| v.0).collect();
    if fields != ["url"] {
        return Err(Failure::new(
            expected,
            shown(&status),
            format!(
                "The `InvalidUrl` arm of {CONVERT} builds the status with \
                 `Status::with_error_details` and `ErrorDetails::with_bad_request_violation(\"url\", ...)`."
            ),
        ));
    }
    Ok(())
}

async fn stores_as_sent(cx: &Context) -> Result<(), Failure> {
    let sent = "HTTPS://Example.COM/quiz-check/../as-sent?b=1";
    let link = cx.create(sent).await?;
    if link.url == sent {
        Ok(())
    } else {
        Err(Failure::new(
            format!("the link's url {sent:?}, as sent"),
            format!("{:?}", link.url),
            format!(
                "Store the string the client sent. {VALIDATE} only says yes or no; the URL that \
                 `url::Url::parse` gives back is normalised (lower case, `..` resolved)."
            ),
        ))
    }
}

/// A batch with a bad URL at index 2: whether the status names it, and whether nothing of the
/// batch was stored.
async fn bad_batch(cx: &Context) -> (Result<(), Failure>, Result<(), Failure>) {
    let mut urls = good_urls("bad-batch", 4);
    urls[2] = "ftp://example.com/quiz-check/bad-batch/2".to_string();
    let hint = format!("{BATCH} should end the call at the first bad URL.");
    let before = match within(cx, "an answer from ListLinks", "", count(cx)).await {
        Ok(before) => before,
        Err(failure) => return (Err(failure.clone()), Err(failure)),
    };
    let answer = within(cx, "an answer from BatchCreateLinks", &hint, async {
        Ok(batch(cx, &urls).await)
    });
    let named = match answer.await {
        Err(failure) => Err(failure),
        Ok(answer) => named_index(cx, answer),
    };
    let stored = match within(cx, "an answer from ListLinks", "", count(cx)).await {
        Ok(after) if after == before => Ok(()),
        Ok(after) => Err(Failure::new(
            format!("{before} links before and after the refused batch"),
            format!("{after} links after it"),
            format!(
                "All or nothing: {BATCH} stores the URLs only after the loop has read the whole \
                 stream; a bad URL returns from inside the loop, before anything is stored."
            ),
        )),
        Err(failure) => Err(failure),
    };
    (named, stored)
}

/// Whether the answer to the batch with a bad URL at index 2 names index 2.
fn named_index(
    cx: &Context,
    answer: Result<BatchCreateLinksResponse, Status>,
) -> Result<(), Failure> {
    let expected = "INVALID_ARGUMENT, a message with \"index 2\", a violation on `requests[2].url`";
    match answer {
        Ok(response) => Err(Failure::new(
            expected,
            format!("OK: created_count {}", response.created_count),
            format!(
                "{BATCH}: check each URL with `validate_url` as it arrives, and end the call at \
                 the first bad one with `ShortenerError::InvalidUrlInBatch {{ index, error }}`."
            ),
        )),
        Err(status) => {
            if let Some(failure) = broke_off(cx, "BatchCreateLinks", expected, &status) {
                Err(failure)
            } else {
                let fields: Vec<String> = violations(&status).into_iter().map(|v| v.0).collect();
                if status.code() == Code::InvalidArgument
                    && status.message().contains("index 2")
                    && fields == ["requests[2].url"]
                {
                    Ok(())
                } else {
                    Err(Failure::new(
                        expected,
                        shown(&status),
                        format!(
                            "The index counts from 0: it is the number of URLs read before the \
                             bad one ({BATCH}). The status comes from the `InvalidUrlInBatch` arm \
                             of {CONVERT}: INVALID_ARGUMENT, with a violation on `requests[INDEX].url`."
                        ),
                    ))
                }
            }
        }
    }
}

async fn limit_is_accepted(cx: &Context) -> Result<(), Failure> {
    let expected = format!("created_count: {MAX_BATCH}");
    match batch(cx, &good_urls("at-the-limit", MAX_BATCH)).await {
        Ok(response) if response.created_count == MAX_BATCH as i64 => Ok(()),
        Ok(response) => Err(Failure::new(
            expected,
            format!("created_count: {}", response.created_count),
            format!("{BATCH}: a batch within the limit is stored whole."),
        )),
        Err(status) => Err(
            broke_off(cx, "BatchCreateLinks", &expected, &status).unwrap_or_else(|| {
                Failure::new(
                    &expected,
                    shown(&status),
                    format!(
                        "A batch of exactly the limit is allowed: refuse the message at index \
                         `max_batch` (one past the limit), not the one before it ({BATCH})."
                    ),
                )
            }),
        ),
    }
}

async fn over_the_limit(cx: &Context) -> Result<(), Failure> {
    let expected = format!(
        "INVALID_ARGUMENT for {} URLs, and nothing stored",
        MAX_BATCH + 1
    );
    let before = count(cx).await?;
    let refused = match batch(cx, &good_urls("over-the-limit", MAX_BATCH + 1)).await {
        Ok(response) => Err(Failure::new(
            &expected,
            format!("OK: created_count {}", response.created_count),
            format!(
                "The checker started the server with `--max-batch {MAX_BATCH}`. The server binary \
                 passes it to `LinkServer::with_max_batch`; {BATCH} counts the messages as it \
                 reads them and returns `ShortenerError::BatchTooLarge {{ limit }}` when message \
                 {} arrives.",
                MAX_BATCH + 1
            ),
        )),
        Err(status) if status.code() == Code::InvalidArgument => Ok(()),
        Err(status) if status.code() == Code::ResourceExhausted => Err(Failure::new(
            &expected,
            shown(&status),
            format!(
                "This course answers INVALID_ARGUMENT ({CONVERT}): the limit is a fixed property \
                 of the request, so retrying the same batch cannot help. RESOURCE_EXHAUSTED says \
                 a quota or resource may free up later."
            ),
        )),
        Err(status) => Err(
            broke_off(cx, "BatchCreateLinks", &expected, &status).unwrap_or_else(|| {
                Failure::new(
                    &expected,
                    shown(&status),
                    format!("See the `BatchTooLarge` arm of {CONVERT}."),
                )
            }),
        ),
    };
    refused?;
    let after = count(cx).await?;
    if after == before {
        Ok(())
    } else {
        Err(Failure::new(
            &expected,
            format!("refused, but {} links were stored", after - before),
            format!("{BATCH}: a refused batch stores nothing; store only after the loop."),
        ))
    }
}

async fn endless_is_refused(cx: &Context) -> Result<(), Failure> {
    let expected = "INVALID_ARGUMENT for a stream that never ends";
    let endless = tokio_stream::iter((0..).map(|i| CreateLinkRequest {
        url: format!("https://example.com/quiz-check/endless/{i}"),
    }));
    let status = match cx.client.clone().batch_create_links(endless).await {
        Err(status) if status.code() == Code::InvalidArgument => return Ok(()),
        Err(status) => status,
        Ok(response) => {
            return Err(Failure::new(
                expected,
                format!("OK: created_count {}", response.into_inner().created_count),
                format!(
                    "{BATCH}: refuse the batch when message {} arrives.",
                    MAX_BATCH + 1
                ),
            ));
        }
    };
    let timed_out =
        status.code() == Code::DeadlineExceeded || status.message().contains("Timeout expired");
    if timed_out {
        Err(Failure::new(
            expected,
            format!(
                "no answer within {} s: {}",
                cx.limit.as_secs(),
                shown(&status)
            ),
            format!(
                "A batch past the limit must be refused as soon as message {} arrives: {BATCH} \
                 counts while it reads, and returns the error from inside the loop. A server \
                 that reads the whole stream first never answers a stream that never ends.",
                MAX_BATCH + 1
            ),
        ))
    } else {
        Err(cx.unexpected("BatchCreateLinks", expected, &status))
    }
}

/// Runs the lesson's error checks against the server started with [`SERVER_ARGS`].
pub async fn run(cx: &Context, report: &mut Reporter) {
    let long = format!("https://example.com/{}", "a".repeat(2048));
    let bad_urls = [
        ("an empty URL", "", "the URL is empty"),
        (
            "`ftp://example.com/file.txt`",
            "ftp://example.com/file.txt",
            "only http and https are allowed",
        ),
        (
            "`javascript:alert(1)`",
            "javascript:alert(1)",
            "only http and https are allowed",
        ),
        ("`http://` (no host)", "http://", "a URL needs a host"),
        (
            "a URL of 2,068 bytes",
            long.as_str(),
            "a URL is at most 2,048 bytes",
        ),
    ];
    for (name, url, rule) in bad_urls {
        let hint = format!("CreateLink should answer at once. {VALIDATE} must not loop or wait.");
        report.record(
            &format!("CreateLink refuses {name}: INVALID_ARGUMENT, field violation on `url`"),
            within(
                cx,
                "an answer from CreateLink",
                &hint,
                refuses(cx, url, rule),
            )
            .await,
        );
    }
    report.record(
        "CreateLink stores a good URL exactly as sent",
        within(cx, "an answer from CreateLink", "", stores_as_sent(cx)).await,
    );

    let (named, stored_nothing) = bad_batch(cx).await;
    report.record(
        "BatchCreateLinks with a bad URL at index 2 answers INVALID_ARGUMENT naming index 2",
        named,
    );
    report.record(
        "BatchCreateLinks with a bad URL stores nothing of the batch",
        stored_nothing,
    );

    let hint = format!("{BATCH} should answer once the stream ends.");
    report.record(
        &format!("BatchCreateLinks of {MAX_BATCH} URLs, the limit (`--max-batch {MAX_BATCH}`), is accepted"),
        within(cx, "an answer from BatchCreateLinks", &hint, limit_is_accepted(cx)).await,
    );
    report.record(
        &format!(
            "BatchCreateLinks of {} URLs, over the limit, answers INVALID_ARGUMENT and stores nothing",
            MAX_BATCH + 1
        ),
        within(cx, "an answer from BatchCreateLinks", &hint, over_the_limit(cx)).await,
    );
    // Last: a server that reads to the end keeps reading this one until the checker gives up.
    let hint = format!(
        "{BATCH} should refuse the batch at message {}.",
        MAX_BATCH + 1
    );
    report.record(
        "BatchCreateLinks stops reading at the first message past the limit (an endless stream is refused)",
        within(
            cx,
            "INVALID_ARGUMENT for a stream that never ends",
            &hint,
            endless_is_refused(cx),
        )
        .await,
    );
}
