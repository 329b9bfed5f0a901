//! An error as the gateway answers it: the HTTP status from the table, and a JSON body in
//! grpc-gateway's shape, with the server's error details.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tonic::{Code, Status};
use tonic_types::{ErrorDetail, StatusExt};

use super::status::http_status;

/// An error as the gateway answers it: the HTTP status from [`http_status`], and a body shaped
/// like grpc-gateway's, `{"code": 3, "message": "...", "details": [...]}`: the gRPC code as a
/// number, as in `google.rpc.Status`, and the server's rich error details in proto3 JSON.
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    message: String,
    details: Vec<Value>,
}

impl ApiError {
    /// A request the gateway refuses itself, before any call: INVALID_ARGUMENT, so 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::InvalidArgument, message)
    }

    /// An error of the gateway's own, with no details.
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl From<Status> for ApiError {
    fn from(status: Status) -> ApiError {
        ApiError {
            code: status.code(),
            message: status.message().to_string(),
            details: status
                .get_error_details_vec()
                .iter()
                .filter_map(detail_json)
                .collect(),
        }
    }
}

/// The JSON name of a `google.rpc` message packed in an `Any`.
fn type_url(name: &str) -> String {
    format!("type.googleapis.com/google.rpc.{name}")
}

/// One detail as proto3 JSON writes an `Any`: its type under `@type`, its fields beside it.
/// `DebugInfo` (stack traces, internal state) is for the server's operators, not for whoever
/// reached the gateway: it is left out.
fn detail_json(detail: &ErrorDetail) -> Option<Value> {
    let value = match detail {
        ErrorDetail::BadRequest(bad) => json!({
            "@type": type_url("BadRequest"),
            "fieldViolations": bad.field_violations.iter().map(|violation| json!({
                "field": violation.field,
                "description": violation.description,
            })).collect::<Vec<_>>(),
        }),
        ErrorDetail::ErrorInfo(info) => json!({
            "@type": type_url("ErrorInfo"),
            "reason": info.reason,
            "domain": info.domain,
            "metadata": info.metadata,
        }),
        ErrorDetail::RetryInfo(retry) => json!({
            "@type": type_url("RetryInfo"),
            // A google.protobuf.Duration in JSON: seconds with an `s`, as "1.5s".
            "retryDelay": retry.retry_delay.map(|delay| format!("{}s", delay.as_secs_f64())),
        }),
        ErrorDetail::PreconditionFailure(failure) => json!({
            "@type": type_url("PreconditionFailure"),
            "violations": failure.violations.iter().map(|violation| json!({
                "type": violation.r#type,
                "subject": violation.subject,
                "description": violation.description,
            })).collect::<Vec<_>>(),
        }),
        ErrorDetail::ResourceInfo(info) => json!({
            "@type": type_url("ResourceInfo"),
            "resourceType": info.resource_type,
            "resourceName": info.resource_name,
            "owner": info.owner,
            "description": info.description,
        }),
        ErrorDetail::Help(help) => json!({
            "@type": type_url("Help"),
            "links": help.links.iter().map(|link| json!({
                "description": link.description,
                "url": link.url,
            })).collect::<Vec<_>>(),
        }),
        ErrorDetail::LocalizedMessage(localized) => json!({
            "@type": type_url("LocalizedMessage"),
            "locale": localized.locale,
            "message": localized.message,
        }),
        ErrorDetail::QuotaFailure(failure) => json!({
            "@type": type_url("QuotaFailure"),
            "violations": failure.violations.iter().map(|violation| json!({
                "subject": violation.subject,
                "description": violation.description,
            })).collect::<Vec<_>>(),
        }),
        ErrorDetail::RequestInfo(info) => json!({
            "@type": type_url("RequestInfo"),
            "requestId": info.request_id,
            "servingData": info.serving_data,
        }),
        // DebugInfo, and any kind tonic-types adds later: not for the public.
        _ => return None,
    };
    Some(value)
}

/// The error body, in grpc-gateway's shape.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    code: i32,
    message: &'a str,
    details: &'a [Value],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status: StatusCode = http_status(self.code);
        let body = ErrorBody {
            code: self.code as i32,
            message: &self.message,
            details: &self.details,
        };
        match serde_json::to_string(&body) {
            Ok(body) => {
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
            }
            Err(_) => status.into_response(),
        }
    }
}
