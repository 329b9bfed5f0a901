//! The black-box checks of lesson 16 (production ready): what the standard tools see. Health
//! (`grpc.health.v1.Health`) and reflection (v1 and v1alpha) are called with tonic-health's and
//! tonic-reflection's own clients, as grpc_health_probe and grpcurl would call them; TLS with a
//! certificate the checker makes with rcgen; gzip by its headers; the stream limit in the raw
//! SETTINGS frame the server sends first. After SIGTERM the server drains: a Watch opened before
//! hears NOT_SERVING, a poller that dials anew during the drain is answered NOT_SERVING (that is
//! how a load balancer learns of a shutdown), and after the drain the Watch ends and new
//! connections are refused.
//!
//! [`run`] uses the open server the other checks share; [`run_own_servers`] starts servers of
//! its own: with an API key, with TLS, and one to send SIGTERM to.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use prost::Message as _;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use shortener_proto::CreateLinkRequest;
use shortener_proto::link_service_client::LinkServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::{v1, v1alpha};

use super::rpc::{self, shown};
use super::server::{self, RunningServer, StartFailure};
use super::{Failure, Limits, Reporter};

/// Where the lesson's pieces live, for the hints.
const HEALTH: &str = "Exercise 1, `serve` in src/lib.rs";
const REFLECTION: &str =
    "Exercise 2: build.rs, `pb::FILE_DESCRIPTOR_SET` and `serve` in src/lib.rs";
const TLS: &str = "Exercise 3: src/tls.rs, and `serve` in src/lib.rs";
const GZIP: &str = "Exercise 4, `serve` in src/lib.rs";
const LIMITS: &str = "The given limits (Learn: limits), `serve` in src/lib.rs";

/// SETTINGS_MAX_CONCURRENT_STREAMS, the identifier of the stream limit in a SETTINGS frame.
const MAX_CONCURRENT_STREAMS: u16 = 3;

/// The parameters of the first SETTINGS frame the server at `addr` sends, by identifier: the
/// checker speaks the first bytes of HTTP/2 itself, so that nothing stands between it and the
/// frame.
async fn server_settings(addr: SocketAddr, limit: Duration) -> Result<HashMap<u16, u32>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The client's connection preface, then an empty SETTINGS frame.
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(PREFACE).await?;
        loop {
            let mut header = [0u8; 9];
            stream.read_exact(&mut header).await?;
            let len =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let mut payload = vec![0u8; len];
            stream.read_exact(&mut payload).await?;
            // SETTINGS is type 4; flag 1 marks the ACK of ours, which has no parameters.
            if header[3] == 4 && header[4] & 1 == 0 {
                return Ok::<_, std::io::Error>(
                    payload
                        .chunks_exact(6)
                        .map(|p| {
                            (
                                u16::from_be_bytes([p[0], p[1]]),
                                u32::from_be_bytes([p[2], p[3], p[4], p[5]]),
                            )
                        })
                        .collect(),
                );
            }
        }
    };
    match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(settings)) => Ok(settings),
        Ok(Err(error)) => Err(format!("no SETTINGS frame: {error}")),
        Err(_) => Err(format!("no SETTINGS frame within {} s", limit.as_secs())),
    }
}

/// The server's stream limit must be `wanted`, or any limit at all when `wanted` is `None`.
fn stream_limit(
    found: Result<HashMap<u16, u32>, String>,
    wanted: Option<u32>,
) -> Result<(), Failure> {
    let expected = match wanted {
        Some(limit) => {
            format!("SETTINGS_MAX_CONCURRENT_STREAMS = {limit} in the server's SETTINGS")
        }
        None => "SETTINGS_MAX_CONCURRENT_STREAMS in the server's SETTINGS".to_string(),
    };
    let hint = format!(
        "{LIMITS}: tonic sends no stream limit unless the builder has `max_concurrent_streams` \
         (its default, None, even removes hyper's 200), and the binary passes `--max-streams` \
         on in `settings.limits`."
    );
    match found {
        Ok(settings) => match (settings.get(&MAX_CONCURRENT_STREAMS), wanted) {
            (Some(found), Some(wanted)) if *found == wanted => Ok(()),
            (Some(_), None) => Ok(()),
            (found, _) => Err(Failure::new(
                expected,
                match found {
                    Some(found) => format!("SETTINGS_MAX_CONCURRENT_STREAMS = {found}"),
                    None => format!("no stream limit in SETTINGS {settings:?}: unlimited"),
                },
                hint,
            )),
        },
        Err(got) => Err(Failure::new(expected, got, hint)),
    }
}

/// The six methods of `shortener.LinkService`, sorted.
const METHODS: [&str; 6] = [
    "BatchCreateLinks",
    "CreateLink",
    "DeleteLink",
    "GetLink",
    "ListLinks",
    "SyncClicks",
];

async fn channel(addr: SocketAddr, limit: Duration) -> Result<Channel, String> {
    rpc::channel(addr, limit)
        .await
        .map_err(|failure| match failure {
            rpc::NoChannel::Refused(error) => format!("no connection: {error}"),
            rpc::NoChannel::Silent => format!("no connection within {} s", limit.as_secs()),
        })
}

async fn check_status(
    channel: &Channel,
    service: &str,
    limit: Duration,
) -> Result<ServingStatus, String> {
    let mut health = HealthClient::new(channel.clone());
    let request = HealthCheckRequest {
        service: service.to_string(),
    };
    match tokio::time::timeout(limit, health.check(request)).await {
        Ok(Ok(response)) => Ok(response.into_inner().status()),
        Ok(Err(status)) => Err(shown(&status)),
        Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
    }
}

fn serving(channel_status: Result<ServingStatus, String>, service: &str) -> Result<(), Failure> {
    let expected = format!("Health/Check {{service: {service:?}}} answers SERVING");
    match channel_status {
        Ok(ServingStatus::Serving) => Ok(()),
        Ok(other) => Err(Failure::new(
            expected,
            other.as_str_name(),
            format!("{HEALTH}: set LinkService SERVING when the server starts."),
        )),
        Err(got) => Err(Failure::new(
            expected,
            got,
            format!(
                "{HEALTH}: add tonic-health's service to the server (UNIMPLEMENTED means there \
                 is none), and set LinkService SERVING (NOT_FOUND means its name has no status)."
            ),
        )),
    }
}

/// The names `ListServices` gives, from one version of reflection: v1 and v1alpha are the
/// same messages in two generated modules.
macro_rules! list_services_with {
    ($version:ident, $channel:expr, $limit:expr) => {{
        use $version::server_reflection_request::MessageRequest;
        use $version::server_reflection_response::MessageResponse;
        let request = $version::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut client =
            $version::server_reflection_client::ServerReflectionClient::new($channel.clone());
        let first = tokio::time::timeout($limit, async {
            let mut answers = client
                .server_reflection_info(tokio_stream::iter([request]))
                .await?
                .into_inner();
            answers.next().await.transpose()
        })
        .await
        .map_err(|_| format!("no answer within {} s", $limit.as_secs()))?
        .map_err(|status| shown(&status))?;
        match first.and_then(|answer| answer.message_response) {
            Some(MessageResponse::ListServicesResponse(list)) => Ok(list
                .service
                .into_iter()
                .map(|service| service.name)
                .collect()),
            other => Err(format!("ListServices answered {other:?}")),
        }
    }};
}

/// The names `ListServices` gives, from reflection v1 or v1alpha.
async fn list_services(
    channel: &Channel,
    alpha: bool,
    limit: Duration,
) -> Result<Vec<String>, String> {
    if alpha {
        list_services_with!(v1alpha, channel, limit)
    } else {
        list_services_with!(v1, channel, limit)
    }
}

fn lists(
    found: Result<Vec<String>, String>,
    wanted: &[&str],
    version: &str,
) -> Result<(), Failure> {
    let expected = format!("reflection {version} lists {}", wanted.join(" and "));
    let hint = format!(
        "{REFLECTION}: serve reflection {version}, built from your descriptors and health's \
         (`tonic_health::pb::FILE_DESCRIPTOR_SET`). grpcurl 1.8.6 asks for v1alpha only."
    );
    match found {
        Ok(names) if wanted.iter().all(|w| names.iter().any(|n| n == w)) => Ok(()),
        Ok(names) => Err(Failure::new(expected, format!("it listed {names:?}"), hint)),
        Err(got) => Err(Failure::new(expected, got, hint)),
    }
}

/// The methods of `shortener.LinkService` as reflection v1 describes it (what `grpcurl describe`
/// prints).
async fn described_methods(channel: &Channel, limit: Duration) -> Result<Vec<String>, String> {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "shortener.LinkService".to_string(),
        )),
    };
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let first = tokio::time::timeout(limit, async {
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await?
            .into_inner();
        answers.next().await.transpose()
    })
    .await
    .map_err(|_| format!("no answer within {} s", limit.as_secs()))?
    .map_err(|status| shown(&status))?;
    let files = match first.and_then(|answer| answer.message_response) {
        Some(MessageResponse::FileDescriptorResponse(files)) => files.file_descriptor_proto,
        other => return Err(format!("FileContainingSymbol answered {other:?}")),
    };
    let service = files
        .iter()
        .filter_map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).ok())
        .filter(|file| file.package() == "shortener")
        .flat_map(|file| file.service)
        .find(|service| service.name() == "LinkService")
        .ok_or("no file with shortener.LinkService in it")?;
    let mut methods: Vec<String> = service
        .method
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    methods.sort_unstable();
    Ok(methods)
}

/// The checks against the open server that the lesson's other checks share.
pub async fn run(addr: SocketAddr, limit: Duration, report: &mut Reporter) {
    let channel = match channel(addr, limit).await {
        Ok(channel) => channel,
        Err(got) => {
            report.record(
                "the server accepts a connection for health and reflection",
                Err(Failure::new("an HTTP/2 connection", got, "")),
            );
            return;
        }
    };
    report.record(
        "Health/Check says SERVING for \"\" (the whole server)",
        serving(check_status(&channel, "", limit).await, ""),
    );
    report.record(
        "Health/Check says SERVING for shortener.LinkService",
        serving(
            check_status(&channel, "shortener.LinkService", limit).await,
            "shortener.LinkService",
        ),
    );
    let unknown = match check_status(&channel, "shortener.NoSuchService", limit).await {
        Err(got) if got.starts_with("NotFound") => Ok(()),
        other => Err(Failure::new(
            "Health/Check of a service the server does not have answers NOT_FOUND",
            format!("{other:?}"),
            format!(
                "{HEALTH}: tonic-health answers NOT_FOUND by itself once its service is added."
            ),
        )),
    };
    report.record(
        "Health/Check of an unknown service answers NOT_FOUND",
        unknown,
    );
    report.record(
        "reflection v1 lists shortener.LinkService and grpc.health.v1.Health",
        lists(
            list_services(&channel, false, limit).await,
            &["shortener.LinkService", "grpc.health.v1.Health"],
            "v1",
        ),
    );
    report.record(
        "reflection v1alpha lists shortener.LinkService (grpcurl 1.8.6 asks for v1alpha)",
        lists(
            list_services(&channel, true, limit).await,
            &["shortener.LinkService"],
            "v1alpha",
        ),
    );
    let described = match described_methods(&channel, limit).await {
        Ok(methods) if methods == METHODS => Ok(()),
        Ok(methods) => Err(Failure::new(
            format!("shortener.LinkService described with {METHODS:?}"),
            format!("{methods:?}"),
            format!(
                "{REFLECTION}: the descriptors must be the ones build.rs compiled from proto/link.proto."
            ),
        )),
        Err(got) => Err(Failure::new(
            "FileContainingSymbol(shortener.LinkService) gives the file that defines it",
            got,
            format!("{REFLECTION}: register the descriptor set that build.rs writes."),
        )),
    };
    report.record(
        "reflection describes shortener.LinkService with its six methods",
        described,
    );

    let mut zipped = LinkServiceClient::new(channel).accept_compressed(CompressionEncoding::Gzip);
    let request = CreateLinkRequest {
        url: "https://example.com/quiz-check/gzip".to_string(),
    };
    let gzip = match tokio::time::timeout(limit, zipped.create_link(request)).await {
        Ok(Ok(response)) => match response.metadata().get("grpc-encoding").map(|v| v.to_str()) {
            Some(Ok("gzip")) => Ok(()),
            other => Err(Failure::new(
                "`grpc-encoding: gzip` on the answer to a client that accepts gzip",
                format!("grpc-encoding: {other:?}"),
                format!("{GZIP}: LinkService must send gzip to the clients that accept it."),
            )),
        },
        Ok(Err(status)) => Err(Failure::new(
            "CreateLink answers a client that accepts gzip",
            shown(&status),
            format!("{GZIP}."),
        )),
        Err(_) => Err(Failure::new(
            "CreateLink answers a client that accepts gzip",
            format!("no answer within {} s", limit.as_secs()),
            format!("{GZIP}."),
        )),
    };
    report.record("a client that accepts gzip gets gzipped responses", gzip);
    report.record(
        "the server's SETTINGS frame carries a stream limit (tonic's default is none)",
        stream_limit(server_settings(addr, limit).await, None),
    );
}

/// Starts the server with `args`, or says why it did not start.
async fn start(binary: &Path, args: &[&str], limits: Limits) -> Result<RunningServer, String> {
    server::start_with_args(binary, args, limits.server_start)
        .await
        .map_err(StartFailure::described)
}

/// A CA, and a certificate for 127.0.0.1 and localhost it signed, with its key, written to a
/// folder of their own: `(ca.pem, cert.pem, key.pem)`, and the CA's PEM text.
fn certificates(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf, String), String> {
    let failed = |error: rcgen::Error| format!("rcgen: {error}");
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "cargo quiz check 16 CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().map_err(failed)?)
        .map_err(failed)?;
    let key = KeyPair::generate().map_err(failed)?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(failed)?
        .signed_by(&key, &*ca)
        .map_err(failed)?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    for (path, text) in [
        (&paths.0, ca.pem()),
        (&paths.1, cert.pem()),
        (&paths.2, key.serialize_pem()),
    ] {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok((paths.0, paths.1, paths.2, ca.pem()))
}

/// With TLS on, a client that trusts the CA is answered, and a plaintext one is not.
async fn tls(binary: &Path, limits: Limits, report: &mut Reporter) {
    let dir = std::env::temp_dir().join(format!("quiz-check-16-{}", std::process::id()));
    let (_, cert, key, ca) = match certificates(&dir) {
        Ok(made) => made,
        Err(got) => {
            report.record(
                "the checker makes a certificate",
                Err(Failure::new("a test certificate", got, "")),
            );
            return;
        }
    };
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let args = [
        "--tls-cert",
        cert_arg.as_str(),
        "--tls-key",
        key_arg.as_str(),
    ];
    let server = match start(binary, &args, limits).await {
        Ok(server) => server,
        Err(got) => {
            report.record(
                "the server starts with --tls-cert and --tls-key",
                Err(Failure::new(
                    "`--addr 127.0.0.1:0 --tls-cert CERT --tls-key KEY` to listen",
                    got,
                    format!("{TLS}: `load_identity` reads the two PEM files the checker wrote."),
                )),
            );
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
    };
    report.record("the server starts with --tls-cert and --tls-key", Ok(()));
    let addr = server.addr;
    let limit = limits.call;

    let trusted = async {
        let channel = Endpoint::from_shared(format!("https://{addr}"))?
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&ca)))?
            .connect_timeout(limit)
            .connect()
            .await?;
        let request = CreateLinkRequest {
            url: "https://example.com/quiz-check/tls".to_string(),
        };
        Ok::<_, tonic::transport::Error>(LinkServiceClient::new(channel).create_link(request).await)
    };
    let result = match tokio::time::timeout(limit * 2, trusted).await {
        Ok(Ok(Ok(_))) => Ok(()),
        other => Err(Failure::new(
            "CreateLink over TLS, from a client that trusts the CA that signed --tls-cert",
            match other {
                Ok(Ok(Err(status))) => shown(&status),
                Ok(Err(error)) => format!("no TLS connection: {error:?}"),
                Err(_) => format!("no answer within {} s", (limit * 2).as_secs()),
                Ok(Ok(Ok(_))) => unreachable!("matched above"),
            },
            format!(
                "{TLS}: with `settings.tls`, the builder needs a `ServerTlsConfig` with that identity."
            ),
        )),
    };
    report.record(
        "with --tls-cert and --tls-key, a client that trusts the CA is answered over TLS",
        result,
    );

    let plaintext = async {
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(limit)
            .connect()
            .await?;
        let request = CreateLinkRequest {
            url: "https://example.com/quiz-check/plaintext".to_string(),
        };
        Ok::<_, tonic::transport::Error>(
            LinkServiceClient::new(channel)
                .create_link(request)
                .await
                .is_ok(),
        )
    };
    let result = match tokio::time::timeout(limit * 2, plaintext).await {
        Ok(Ok(true)) => Err(Failure::new(
            "a plaintext call to a server with --tls-cert gets no answer",
            "it was answered",
            format!("{TLS}: the server spoke plaintext although it had an identity."),
        )),
        _ => Ok(()),
    };
    report.record(
        "with --tls-cert and --tls-key, a plaintext call gets no answer",
        result,
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// With an API key, health and reflection still answer a caller without one.
async fn open_with_key(binary: &Path, limits: Limits, report: &mut Reporter) {
    let key = format!("quiz-check-{:016x}", rand::random::<u64>());
    let name =
        "with --api-key, health and reflection answer without a key and LinkService does not";
    let server = match start(binary, &["--api-key", &key], limits).await {
        Ok(server) => server,
        Err(got) => {
            report.record(
                name,
                Err(Failure::new("the server to start with --api-key", got, "")),
            );
            return;
        }
    };
    let limit = limits.call;
    let result = async {
        let channel = channel(server.addr, limit)
            .await
            .map_err(|got| Failure::new("a connection", got, ""))?;
        serving(
            check_status(&channel, "shortener.LinkService", limit).await,
            "shortener.LinkService",
        )
        .map_err(|failure| Failure {
            hint: format!(
                "{HEALTH}: a probe has no key: add health beside the intercepted LinkService, not \
                 behind the key."
            ),
            ..failure
        })?;
        lists(
            list_services(&channel, false, limit).await,
            &["shortener.LinkService"],
            "v1",
        )?;
        let request = CreateLinkRequest {
            url: "https://example.com/quiz-check/no-key".to_string(),
        };
        match tokio::time::timeout(limit, LinkServiceClient::new(channel).create_link(request))
            .await
        {
            Ok(Err(status)) if status.code() == Code::Unauthenticated => Ok(()),
            other => Err(Failure::new(
                "LinkService refuses a call without the key: UNAUTHENTICATED",
                format!("{other:?}"),
                "The key must still guard LinkService, as in lesson 12.",
            )),
        }
    }
    .await;
    report.record(name, result);
    server.stop().await;
}

/// The drain the checker asks for: long enough to poll in, short enough to wait for.
const DRAIN_SECS: u64 = 2;

/// The stream limit the checker asks for, to see it in SETTINGS.
const MAX_STREAMS: u32 = 7;

/// Polls `Check` for shortener.LinkService on new connections, as a probe does, until it says
/// NOT_SERVING; what it saw otherwise.
async fn poll_not_serving(addr: SocketAddr, limit: Duration) -> Result<(), String> {
    let mut last = String::from("nothing");
    let poll = async {
        loop {
            match channel(addr, limit).await {
                Err(got) => return Err(format!("a new connection: {got}")),
                Ok(channel) => match check_status(&channel, "shortener.LinkService", limit).await {
                    Ok(ServingStatus::NotServing) => return Ok(()),
                    Ok(other) => last = other.as_str_name().to_string(),
                    Err(got) => return Err(format!("Check: {got}")),
                },
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    match tokio::time::timeout(limit, poll).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "Check still said {last} {} s after SIGTERM",
            limit.as_secs()
        )),
    }
}

/// Opens a Watch of shortener.LinkService, checks it says SERVING, sends SIGTERM, and checks it
/// then says NOT_SERVING; the Watch, still open.
async fn watch_through_sigterm(
    server: &RunningServer,
    limit: Duration,
) -> Result<tonic::Streaming<tonic_health::pb::HealthCheckResponse>, Failure> {
    let expected = "after SIGTERM, the open Watch of shortener.LinkService says NOT_SERVING";
    let channel = channel(server.addr, limit)
        .await
        .map_err(|got| Failure::new(expected, got, ""))?;
    let request = HealthCheckRequest {
        service: "shortener.LinkService".to_string(),
    };
    let mut watch =
        match tokio::time::timeout(limit, HealthClient::new(channel).watch(request)).await {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) => {
                return Err(Failure::new(
                    expected,
                    format!("Watch: {}", shown(&status)),
                    format!("{HEALTH}: add the health service, with LinkService SERVING."),
                ));
            }
            Err(_) => {
                return Err(Failure::new(
                    expected,
                    "Watch: no answer",
                    format!("{HEALTH}."),
                ));
            }
        };
    match tokio::time::timeout(limit, watch.message()).await {
        Ok(Ok(Some(first))) if first.status() == ServingStatus::Serving => {}
        other => {
            return Err(Failure::new(
                expected,
                format!("before SIGTERM the Watch said {other:?}"),
                format!("{HEALTH}: LinkService is SERVING while the server runs."),
            ));
        }
    }
    server.signal(libc::SIGTERM);
    match tokio::time::timeout(limit, watch.message()).await {
        Ok(Ok(Some(next))) if next.status() == ServingStatus::NotServing => Ok(watch),
        other => Err(Failure::new(
            expected,
            match other {
                Err(_) => format!("nothing within {} s of SIGTERM", limit.as_secs()),
                Ok(answer) => format!("{answer:?}"),
            },
            format!(
                "{HEALTH}: when the shutdown future completes, set LinkService NOT_SERVING \
                 before the server stops (wrap the future in one of your own)."
            ),
        )),
    }
}

/// SIGTERM: the Watch opened before hears NOT_SERVING, a poller that dials anew during the
/// drain is answered NOT_SERVING, and after the drain the Watch ends and new connections are
/// refused. The server runs with `--drain 2 --max-streams 7`, and its SETTINGS are read first.
async fn drain(binary: &Path, limits: Limits, report: &mut Reporter) {
    let (drain_arg, streams_arg) = (DRAIN_SECS.to_string(), MAX_STREAMS.to_string());
    let args = [
        "--drain",
        drain_arg.as_str(),
        "--max-streams",
        streams_arg.as_str(),
    ];
    let server = match start(binary, &args, limits).await {
        Ok(server) => server,
        Err(got) => {
            report.record(
                "the server starts with --drain and --max-streams",
                Err(Failure::new(
                    "`--addr 127.0.0.1:0 --drain 2 --max-streams 7` to listen",
                    got,
                    "The binary is given: its flags must be as the lesson left them.",
                )),
            );
            return;
        }
    };
    let limit = limits.call;
    report.record(
        "with --max-streams 7, the server's SETTINGS frame says SETTINGS_MAX_CONCURRENT_STREAMS = 7",
        stream_limit(server_settings(server.addr, limit).await, Some(MAX_STREAMS)),
    );
    let mut watch = match watch_through_sigterm(&server, limit).await {
        Ok(watch) => {
            report.record(
                "a Health/Watch opened before SIGTERM hears NOT_SERVING after it",
                Ok(()),
            );
            watch
        }
        Err(failure) => {
            report.record(
                "a Health/Watch opened before SIGTERM hears NOT_SERVING after it",
                Err(failure),
            );
            server.stop().await;
            return;
        }
    };
    report.record(
        "during the drain, a poller that dials anew is answered NOT_SERVING by Health/Check",
        poll_not_serving(server.addr, limit).await.map_err(|got| {
            Failure::new(
                format!(
                    "within {DRAIN_SECS} s of SIGTERM (`--drain {DRAIN_SECS}`), a new connection \
                     whose Check says NOT_SERVING"
                ),
                got,
                format!(
                    "{HEALTH}: tonic stops accepting the moment the future you hand it completes, \
                     so a probe that dials after the signal is refused unless that future first \
                     waits `settings.drain`, after setting NOT_SERVING."
                ),
            )
        }),
    );
    let after = Duration::from_secs(DRAIN_SECS) + limit;
    let ended = match tokio::time::timeout(after, watch.message()).await {
        Ok(Err(_) | Ok(None)) => Ok(()),
        other => Err(Failure::new(
            format!("the Watch opened before SIGTERM ends once the {DRAIN_SECS} s drain is over"),
            match other {
                Err(_) => format!("it was still open {} s after SIGTERM", after.as_secs()),
                Ok(answer) => format!("{answer:?}"),
            },
            format!(
                "{HEALTH}: when the drain is over, cancel the `stopping` token that \
                 `health_service` was given: a Watch never ends by itself, and would hold the \
                 shutdown to the end of the grace period."
            ),
        )),
    };
    report.record(
        "after the drain, the Watch opened before SIGTERM ends",
        ended,
    );
    let refused = tokio::time::timeout(limit, async {
        while tokio::net::TcpStream::connect(server.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    report.record(
        "after the drain, new connections are refused",
        refused.map_err(|_| {
            Failure::new(
                "no new connection once the drain is over",
                format!(
                    "connections still accepted {} s after the drain",
                    limit.as_secs()
                ),
                format!(
                    "{HEALTH}: once the drain is over, your future completes, and tonic stops \
                     accepting."
                ),
            )
        }),
    );
    server.stop().await;
}

/// The checks that start servers of their own.
pub async fn run_own_servers(binary: &Path, limits: Limits, report: &mut Reporter) {
    open_with_key(binary, limits, report).await;
    tls(binary, limits, report).await;
    drain(binary, limits, report).await;
}
