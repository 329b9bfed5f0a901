//! NEW(lesson 19): HTTP/2 keepalive: how a client notices that a server vanished without a word.
//!
//! A server whose machine loses power, or whose network is cut, sends no FIN and no RST: to
//! the client's kernel the connection is still up. A call on it waits for its deadline; an
//! idle connection stays "up" for hours (Linux retransmits unacknowledged data for about 15
//! minutes, and probes an idle connection only when TCP keepalive is on, after 2 hours by
//! default). HTTP/2 has a cheaper test: a PING frame, which the peer must answer. hyper sends
//! one when the connection has read nothing for `interval`, and closes the connection when
//! the answer has not come `timeout` later; the calls on it end with UNAVAILABLE, and the
//! channel connects again, elsewhere if the replica is gone.

use std::time::Duration;

use tonic::transport::Endpoint;

/// When to PING the server, and how long to wait for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// A PING goes out after this long without a frame from the server.
    pub interval: Duration,
    /// No answer within this long after the PING: the connection is dead.
    pub timeout: Duration,
    /// PING an idle connection too (no call open), so that a dead replica is known before
    /// the next call is sent to it.
    pub while_idle: bool,
}

impl Default for Keepalive {
    /// A dead connection is noticed within 15 seconds of its last frame. 10 seconds is the
    /// shortest interval gRPC's keepalive design (gRFC A8) lets a client configure; a server
    /// may refuse more frequent pings: grpc-go and grpc-java servers, by default, close a
    /// connection that pings more often than every 5 minutes, or at all while it has no call
    /// open, with GOAWAY ENHANCE_YOUR_CALM "too_many_pings". A tonic server enforces no such
    /// limit.
    fn default() -> Keepalive {
        Keepalive {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            while_idle: true,
        }
    }
}

impl Keepalive {
    /// `endpoint`, with these keepalive settings.
    pub fn apply(self, endpoint: Endpoint) -> Endpoint {
        endpoint
            .http2_keep_alive_interval(self.interval)
            .keep_alive_timeout(self.timeout)
            .keep_alive_while_idle(self.while_idle)
    }
}
