//! The shortener's errors, in its own terms, and the one place where they become gRPC statuses.

use thiserror::Error;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::idempotency::IDEMPOTENCY_KEY;
use crate::store::StoreError; // NEW(lesson 18): the store's errors, made statuses below.
use crate::validate::UrlError;

/// Everything that can go wrong in the shortener. The handlers return these, and `?` turns
/// them into a `Status` through the `From` below.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShortenerError {
    /// CreateLink was sent a URL the shortener refuses.
    #[error("invalid URL: {0}")]
    InvalidUrl(UrlError),
    /// The message at `index` (counted from 0) of a BatchCreateLinks stream has a bad URL.
    #[error("the URL at index {index} of the batch is invalid: {error}; nothing was stored")]
    InvalidUrlInBatch { index: usize, error: UrlError },
    /// A BatchCreateLinks stream sent more than `limit` URLs.
    #[error("a batch may hold at most {limit} URLs; nothing was stored")]
    BatchTooLarge { limit: usize },
    /// A BatchCreateLinks stream sent more than `limit` bytes of URLs.
    #[error("a batch may hold at most {limit} bytes of URLs; nothing was stored")]
    BatchTooManyBytes { limit: usize },
    /// The client cancelled a BatchCreateLinks stream before its end.
    #[error("the client cancelled the batch; nothing was stored")]
    BatchCancelled,
    /// No link has this short code.
    #[error("no link has the short code {0:?}")]
    NotFound(String),
    /// NEW(lesson 17): a ListLinks request with a negative `after_id` or `limit`.
    #[error("{field} must be 0 or more; it was {value}")]
    NegativePage { field: &'static str, value: i64 },
    /// NEW(lesson 19): a CreateLink whose `idempotency-key` metadata no server could store.
    #[error("the idempotency-key metadata is not usable: {0}")]
    BadIdempotencyKey(String),
    /// NEW(lesson 19): an idempotency key already used for another URL: a key names one
    /// request, so this is the client's bug, and no link is the right answer.
    #[error(
        "this idempotency-key was used for another URL: a key names one CreateLink; send a new \
         key for a new link"
    )]
    IdempotencyKeyReused,
    /// NEW(lesson 19): the link an idempotency key created has been deleted since.
    #[error("the link this idempotency-key created has been deleted")]
    IdempotentLinkDeleted,
}

impl From<ShortenerError> for Status {
    fn from(error: ShortenerError) -> Status {
        let message = error.to_string();
        match error {
            ShortenerError::InvalidUrl(reason) => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation("url", reason.to_string()),
            ),
            ShortenerError::InvalidUrlInBatch { index, error } => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(
                    format!("requests[{index}].url"),
                    error.to_string(),
                ),
            ),
            ShortenerError::BatchTooLarge { .. } | ShortenerError::BatchTooManyBytes { .. } => {
                Status::invalid_argument(message)
            }
            ShortenerError::BatchCancelled => Status::cancelled(message),
            ShortenerError::NotFound(_) => Status::not_found(message),
            ShortenerError::NegativePage { field, .. } => Status::with_error_details(
                Code::InvalidArgument,
                message.clone(),
                ErrorDetails::with_bad_request_violation(field, message),
            ),
            // NEW(lesson 19)
            ShortenerError::BadIdempotencyKey(reason) => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(IDEMPOTENCY_KEY, reason),
            ),
            ShortenerError::IdempotencyKeyReused => Status::failed_precondition(message),
            ShortenerError::IdempotentLinkDeleted => Status::not_found(message),
        }
    }
}

/// NEW(lesson 18): a store that could not do what it was asked, as the client sees it. The
/// store's message names files and SQL, which are the operator's business: it goes to the log,
/// and the client gets the kind of failure and whether to retry.
impl From<StoreError> for Status {
    fn from(error: StoreError) -> Status {
        tracing::error!(%error, "the link store failed");
        match error {
            StoreError::Unavailable(_) => Status::unavailable(
                "the link store is unavailable; the call was not acknowledged: retry later",
            ),
            StoreError::NoFreeCode { .. } => {
                Status::resource_exhausted("no unused short code was found; nothing was stored")
            }
            StoreError::Internal(_) => {
                Status::internal("the link store failed; the call was not acknowledged")
            }
        }
    }
}
