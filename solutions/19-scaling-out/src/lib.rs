//! The link shortener: a gRPC service that turns long URLs into six-character short codes.
//!
//! The service lives here, in the library, so that the server binary stays a few lines long and
//! tests can start the real service on a free port of their own.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
    // NEW(lesson 15): the proto3 JSON mapping of every message, written by pbjson-build.
    include!(concat!(env!("OUT_DIR"), "/shortener.serde.rs"));

    /// The descriptors of `proto/link.proto`, encoded: what reflection serves.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/shortener.bin"));
}

mod auth;
pub mod backoff; // NEW(lesson 19): exponential backoff with full jitter.
pub mod balance; // NEW(lesson 19): one channel over several replicas, steered by their health.
mod cancel;
pub mod client;
mod deadline;
mod drain; // NEW(lesson 16): the health service, whose Watch streams end at the drain.
mod error;
pub mod gateway;
pub mod idempotency; // NEW(lesson 19): the key that makes a retried CreateLink safe.
pub mod keepalive; // NEW(lesson 19): HTTP/2 PINGs, so that a vanished replica is noticed.
mod log;
mod log_format; // NEW(lesson 17): the text log's line, written by hand.
mod log_writer; // NEW(lesson 17): the log's lines, many to a write.
mod memory; // NEW(lesson 18): lesson 17's links in memory, behind the `Store` trait.
mod postgres; // NEW(lesson 19): the links in PostgreSQL, shared by every replica.
pub mod retry; // NEW(lesson 19): what is retried, how often, within one deadline and a budget.
mod server;
mod sqlite; // NEW(lesson 18): the links in SQLite: one writer, group commit, a read cache.
mod store; // NEW(lesson 18): the `Store` trait, its errors, and the short codes.
mod streams; // NEW(lesson 17): ListLinks' and SyncClicks' streams, without a task.
mod tls; // NEW(lesson 16): TLS from PEM files.
mod validate;

pub use auth::{AUTHORIZATION, ApiKey, BEARER, KeyFileError, constant_time_eq, read_key_file};
pub use cancel::{StreamReset, StreamResetLayer};
pub use deadline::{GRPC_TIMEOUT, deadline, expired, time_left};
pub use drain::{DrainingHealth, UntilStopping, health_service}; // NEW(lesson 16)
pub use error::ShortenerError;
// NEW(lesson 16): the log format and the subscriber that writes it.
pub use log::{
    CallLog, CallRecord, LogFormat, MAX_REQUEST_ID_LEN, REQUEST_ID, RequestLogLayer, init_tracing,
    request_id, subscriber,
};
pub use log_format::{PlainFields, PlainText}; // NEW(lesson 17)
pub use log_writer::{FLUSH_EVERY, LogGuard, LogWriter, MAX_BUFFER}; // NEW(lesson 17)
pub use memory::MemoryStore;
pub use postgres::{PgOpenError, PgOptions, PgStore, migrator as postgres_migrator}; // NEW(lesson 19)
pub use server::{DEFAULT_MAX_BATCH, LinkServer, MAX_BATCH_BYTES, short_code}; // NEW(lesson 18)
// NEW(lesson 18): the SQLite store, its options, and why a database may not open.
pub use sqlite::{
    APPLICATION_ID, OpenError, SqliteOptions, SqliteStore, lock_path, migrator, migrator_up_to,
    schema_version,
};
// NEW(lesson 18): the store's trait and errors, and where codes come from.
// NEW(lesson 19): and what a create under an idempotency key did.
pub use store::{
    Code, CodeHash, CodeSource, Keyed, MAX_DRAWS, PlannedCodes, RandomCodes, RepeatCode, Store,
    StoreError,
};
pub use streams::{Answers, LIST_PAGE, Pages, SYNC_BATCH};
pub use tls::{TlsError, load_ca, load_identity}; // NEW(lesson 16)
pub use validate::{MAX_URL_LEN, UrlError, validate_url};

use std::fmt;
use std::future::Future;
use std::time::Duration;

use pb::link_service_server::LinkServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic_health::ServingStatus;

/// Where the server listens, and the client connects, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

/// The largest request message the server decodes, in bytes. The largest valid one is a
/// CreateLink with a 2,048-byte URL; anything much bigger is refused before it is read whole.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How long the server keeps serving after shutdown begins, saying NOT_SERVING, unless told
/// otherwise: long enough for a health check polled every second or two to see it twice.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

/// How the server runs, beyond the service itself. `Settings::default()` is the binary's
/// defaults, but for the log: set the fields that differ.
// NEW(lesson 16): `Debug` by hand: the TLS identity holds the private key, and tonic's
// `Identity` prints it.
#[derive(Clone)]
pub struct Settings {
    /// The key every LinkService call must carry; `ApiKey::default()` is an open server.
    pub api_key: ApiKey,
    // NEW(lesson 16): the log itself is `tracing`'s now; `log` is who else hears of each call.
    /// Who else hears of every call (the tests); nobody by default.
    pub log: CallLog,
    /// NEW(lesson 16): the server's certificate chain and private key. With them the server
    /// speaks TLS only; without, plaintext only.
    pub tls: Option<Identity>,
    /// NEW(lesson 16): how long the server goes on accepting and serving after shutdown begins,
    /// while health says NOT_SERVING, so that whoever polls it moves away first.
    pub drain: Duration,
    /// NEW(lesson 16): the bounds on what one connection can hold.
    pub limits: Limits,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field, named: a field added later must be added here too, or this does not build.
        let Settings {
            api_key,
            log,
            tls,
            drain,
            limits,
        } = self;
        f.debug_struct("Settings")
            .field("api_key", api_key)
            .field("log", log)
            .field(
                "tls",
                &tls.as_ref().map(|_| "<certificate and private key>"),
            )
            .field("drain", drain)
            .field("limits", limits)
            .finish()
    }
}

impl Default for Settings {
    /// An open server in plaintext, with the binary's drain and limits.
    fn default() -> Settings {
        Settings {
            api_key: ApiKey::default(),
            log: CallLog::default(),
            tls: None,
            drain: DEFAULT_DRAIN,
            limits: Limits::default(),
        }
    }
}

/// The bounds on what one connection can hold, and how soon a vanished peer is noticed. The
/// defaults are the binary's; tonic's own are in the comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The calls one connection may have open at once (HTTP/2's
    /// SETTINGS_MAX_CONCURRENT_STREAMS). tonic: no limit; ours: 100.
    pub max_streams: u32,
    /// After this long without a frame from the peer, the server sends an HTTP/2 PING.
    /// tonic: never; ours: 30 s.
    pub keepalive_interval: Duration,
    /// A PING not answered within this closes the connection. tonic: 20 s; ours: 10 s.
    pub keepalive_timeout: Duration,
    /// After this long idle, the kernel probes the peer, every this long, and gives up after
    /// three unanswered probes. tonic: off; ours: 60 s.
    pub tcp_keepalive: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_streams: 100,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            tcp_keepalive: Duration::from_secs(60),
        }
    }
}

/// NEW(lesson 17): the path of BatchCreateLinks, the call that reads [`StreamReset`].
const BATCH_CREATE_LINKS: &str = "/shortener.LinkService/BatchCreateLinks";

/// Unanswered TCP keepalive probes before the kernel gives up on a connection.
const TCP_KEEPALIVE_RETRIES: u32 = 3;

// NEW(lesson 16): the server ends with a `ServeError`, which reflection adds to.
/// Serves `links` on `listener` with `settings` until `shutdown` completes, then drains: health
/// says NOT_SERVING at once, the server goes on accepting and serving for `settings.drain`,
/// then it stops accepting, the long-lived streams (SyncClicks, health's Watch) end, and it
/// returns once the calls in flight have ended; the caller decides how long to wait for them.
/// A server that runs until it is dropped gets `std::future::pending()`. The binary and the
/// tests all start the server here.
///
/// NEW(lesson 16): besides LinkService, the server answers `grpc.health.v1.Health` and server
/// reflection, v1 and v1alpha, so that grpcurl, grpc_health_probe and any language's tools can
/// find their way without a `.proto` file.
///
/// NEW(lesson 18): any store. The caller opens it before and closes it after: `serve` returns
/// once no call uses it any more.
pub async fn serve<S: Store>(
    listener: TcpListener,
    links: LinkServer<S>,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let limits = settings.limits;
    // Every accepted socket gets TCP_NODELAY. Without it, Nagle's algorithm holds a small
    // response back until the client's delayed ACK arrives (about 40 ms on Linux), and
    // `serve_with_incoming` does not apply the builder's own `tcp_nodelay` setting.
    // NEW(lesson 16): nor its TCP keepalive: set here too.
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(limits.tcp_keepalive))
        .with_keepalive_interval(Some(limits.tcp_keepalive))
        .with_keepalive_retries(Some(TCP_KEEPALIVE_RETRIES));
    // NEW(lesson 16): cancelled when the drain is over: the long-lived streams end with it.
    let stopping = CancellationToken::new();
    // A request message whose length is over the limit gets OUT_OF_RANGE, and the server goes
    // on.
    let service = LinkServiceServer::new(links.with_stopping(stopping.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        // A client that says `grpc-accept-encoding: gzip` gets gzip; others get plain messages.
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    // The key guards LinkService only: it is an interceptor on that one service, not a layer
    // of the whole server, so services added later (health, reflection) stay open.
    let link_service = InterceptedService::new(service, settings.api_key);

    // `health_reporter` starts with "" (the whole server) SERVING; LinkService gets its own entry.
    let (health, _) = tonic_health::server::health_reporter();
    health
        .set_serving::<LinkServiceServer<LinkServer<S>>>()
        .await;
    let health_service = drain::health_service(health.clone(), stopping.clone());
    let drain = settings.drain;
    let shutdown = async move {
        shutdown.await;
        // Said at once, while the server still accepts and serves: whoever polls Check (a load
        // balancer, a probe) sees it during the drain and sends new calls elsewhere.
        health
            .set_not_serving::<LinkServiceServer<LinkServer<S>>>()
            .await;
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        tracing::info!(drain = ?drain, "shutting down: NOT_SERVING, draining");
        tokio::time::sleep(drain).await;
        // Then tonic stops accepting, and the streams that never end by themselves end now.
        stopping.cancel();
    };

    // Reflection answers from the descriptors build.rs wrote, and from health's own. v1 is the
    // standard; v1alpha is what older tools ask for (grpcurl 1.8.6, for one).
    let descriptors = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = descriptors().build_v1()?;
    let reflection_v1alpha = descriptors().build_v1alpha()?;

    // NEW(lesson 16): the limits. tonic's defaults are no stream limit (it overrides hyper's
    // 200) and no keepalive pings.
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(limits.max_streams)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout));
    if let Some(identity) = settings.tls {
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    builder
        .layer(RequestLogLayer::new(settings.log))
        // NEW(lesson 17): the one call whose handler asks whether its stream was reset.
        .layer(StreamResetLayer::for_paths(&[BATCH_CREATE_LINKS]))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(link_service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// Why the server could not start or went down.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
    #[error("the reflection service cannot read the descriptors: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}
