//! NEW(lesson 19): one channel over several replicas: calls spread over the replicas that are up,
//! and a replica that goes down or says NOT_SERVING stops getting new calls.
//!
//! tonic balances with tower's power-of-two-choices balancer (p2c): for each call it draws
//! two replicas at random and takes the less loaded. tonic reports every connection's load as
//! 0, so in practice each call goes to a replica drawn at random among those that are ready.
//! What "ready" misses is the point of this module. A replica whose connection is refused
//! still looks ready to the balancer: tonic's reconnecting service keeps the connect error
//! and hands it to the next call sent there, which fails with UNAVAILABLE, and so does every
//! later call the draw sends there. With one replica of three down, a third of the calls fail,
//! for as long as it stays down.
//!
//! So the list of replicas is not fixed (`Channel::balance_list`) but changes
//! (`Channel::balance_channel`): every replica is watched with gRPC health checking (a
//! `grpc.health.v1.Health/Watch` stream on a connection of its own, as gRPC's client-side
//! health checking, gRFC A17, does), and a replica leaves the balancer when it cannot be
//! reached or says NOT_SERVING (lesson 16's server says so at once when it starts draining),
//! and comes back when it says SERVING again. When every replica is down, all of them stay in
//! the balancer, so that calls fail fast with UNAVAILABLE instead of waiting for their deadline
//! with nowhere to go.

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tonic::Code;
use tonic::transport::channel::Change;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::backoff::Backoff;
use crate::keepalive::Keepalive;

/// The service whose health decides whether a replica gets calls.
pub const LINK_SERVICE: &str = "shortener.LinkService";

/// How many changes of membership may wait for the balancer to read them.
const CHANGES: usize = 1024;

/// How the channel reaches each replica.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The longest a TCP connection (and its HTTP/2 handshake) may take.
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive, on the calls' connections and on the health watch's.
    pub keepalive: Keepalive,
    /// The wait between attempts to reach a replica that is down.
    pub reconnect: Backoff,
    /// The service name asked of each replica's health service.
    pub health_service: String,
    /// Speak TLS, trusting the servers whose certificates this CA signed (lesson 16).
    pub ca: Option<Certificate>,
}

impl Default for Settings {
    /// Reconnects as gRPC's connection backoff does (first wait within 1 s, growing 1.6
    /// times), but never more than 30 s apart: a replica back from a restart gets calls
    /// within seconds.
    fn default() -> Settings {
        Settings {
            connect_timeout: Duration::from_secs(5),
            keepalive: Keepalive::default(),
            reconnect: Backoff {
                initial: Duration::from_secs(1),
                multiplier: 1.6,
                max: Duration::from_secs(30),
            },
            health_service: LINK_SERVICE.to_string(),
            ca: None,
        }
    }
}

/// Why no channel could be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no server address was given")]
    NoAddress,
    #[error("{addr:?} is not a server address (host:port or http://host:port): {source}")]
    BadAddress {
        addr: String,
        source: tonic::transport::Error,
    },
    #[error("cannot speak TLS to {addr}: {source}")]
    Tls {
        addr: String,
        source: tonic::transport::Error,
    },
    #[error("{0} is given twice")]
    Repeated(String),
    #[error("the balanced channel needs a tokio runtime to run on")]
    NoRuntime,
}

/// The endpoint for `addr` (`host:port`, or a URL such as `http://host:port`), with
/// `settings`: timeouts, TCP_NODELAY, keepalive, and TLS when there is a CA (`https://`).
pub fn endpoint(addr: &str, settings: &Settings) -> Result<Endpoint, Error> {
    let scheme = if settings.ca.is_some() {
        "https"
    } else {
        "http"
    };
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("{scheme}://{addr}")
    };
    let endpoint = Endpoint::from_shared(url).map_err(|source| Error::BadAddress {
        addr: addr.to_string(),
        source,
    })?;
    let mut endpoint = endpoint
        .connect_timeout(settings.connect_timeout)
        .tcp_nodelay(true);
    if let Some(ca) = &settings.ca {
        // The server's name to check is the URL's host: `localhost`, or an IP address.
        let tls = ClientTlsConfig::new().ca_certificate(ca.clone());
        endpoint = endpoint.tls_config(tls).map_err(|source| Error::Tls {
            addr: addr.to_string(),
            source,
        })?;
    }
    Ok(settings.keepalive.apply(endpoint))
}

/// A channel balanced over several replicas, and what it knows of them.
#[derive(Debug, Clone)]
pub struct Balanced {
    /// Every call made on it (or on a clone) goes to one of the replicas in use.
    pub channel: Channel,
    pub replicas: Replicas,
}

/// One channel over the replicas at `addrs`. It connects lazily: a replica that is down now
/// is not an error, and is used once it is up. Must be called within a tokio runtime: the
/// channel and the health watches run as tasks on it, until every clone of the channel is
/// dropped.
pub fn connect_balanced<I, S>(addrs: I, settings: Settings) -> Result<Balanced, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut names: Vec<String> = Vec::new();
    let mut endpoints = Vec::new();
    for addr in addrs {
        let addr = addr.as_ref();
        let endpoint = endpoint(addr, &settings)?;
        let name = endpoint.uri().to_string();
        if names.contains(&name) {
            return Err(Error::Repeated(addr.to_string()));
        }
        names.push(name);
        endpoints.push(endpoint);
    }
    if endpoints.is_empty() {
        return Err(Error::NoAddress);
    }
    // `balance_channel` spawns the balancer on the current runtime, and panics without one.
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;

    // The balancer reads its changes only when a call asks it for a replica: room for many,
    // so that a replica that goes up and down while no call is made never holds `steer` up.
    let (channel, changes) = Channel::balance_channel::<usize>(CHANGES);
    let unknown = ReplicaStatus {
        health: Health::Unknown,
        in_use: false,
    };
    let (publish, states) = watch::channel(vec![unknown; endpoints.len()]);
    runtime.spawn(steer(endpoints, settings, changes, publish));
    Ok(Balanced {
        channel,
        replicas: Replicas {
            addrs: names.into(),
            states,
        },
    })
}

/// What the health watch last heard of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Nothing yet.
    Unknown,
    /// SERVING.
    Serving,
    /// NOT_SERVING, or unreachable, or its health watch failed.
    Down,
}

/// One replica, as the channel sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub health: Health,
    /// Whether new calls may go to it.
    pub in_use: bool,
}

/// The replicas of a [`Balanced`] channel, in the order of the addresses given.
#[derive(Debug, Clone)]
pub struct Replicas {
    addrs: Arc<[String]>,
    states: watch::Receiver<Vec<ReplicaStatus>>,
}

impl Replicas {
    /// Each replica's URL and status, now.
    pub fn statuses(&self) -> Vec<(String, ReplicaStatus)> {
        let states = self.states.borrow();
        self.addrs
            .iter()
            .cloned()
            .zip(states.iter().copied())
            .collect()
    }

    /// Waits until `ready` says yes of the statuses, or `limit` passes (then `false`).
    pub async fn wait_for(
        &self,
        limit: Duration,
        mut ready: impl FnMut(&[ReplicaStatus]) -> bool,
    ) -> bool {
        let mut states = self.states.clone();
        let waited = tokio::time::timeout(limit, states.wait_for(|statuses| ready(statuses))).await;
        matches!(waited, Ok(Ok(_)))
    }
}

/// What one replica's health watch says, for [`steer`].
type Report = (usize, Health);

/// Puts replicas into the balancer and takes them out, as their health watches report, until
/// the channel is dropped.
async fn steer(
    endpoints: Vec<Endpoint>,
    settings: Settings,
    changes: mpsc::Sender<Change<usize, Endpoint>>,
    publish: watch::Sender<Vec<ReplicaStatus>>,
) {
    let (report, mut reports) = mpsc::channel::<Report>(endpoints.len() * 4);
    // Dropped on return, which ends every watch.
    let mut watches = JoinSet::new();
    for (index, endpoint) in endpoints.iter().enumerate() {
        watches.spawn(watch_health(
            index,
            endpoint.clone(),
            settings.clone(),
            report.clone(),
        ));
    }
    drop(report);

    let mut health = vec![Health::Unknown; endpoints.len()];
    let mut in_use = vec![false; endpoints.len()];
    loop {
        // Who should get calls: every replica not known to be down; all of them when every
        // one is down, so that calls fail fast instead of waiting with nowhere to go.
        let all_down = health.iter().all(|h| *h == Health::Down);
        for (index, endpoint) in endpoints.iter().enumerate() {
            let wanted = all_down || health[index] != Health::Down;
            if wanted == in_use[index] {
                continue;
            }
            let change = if wanted {
                Change::Insert(index, endpoint.clone())
            } else {
                Change::Remove(index)
            };
            if changes.send(change).await.is_err() {
                return; // the channel is gone
            }
            in_use[index] = wanted;
        }
        let statuses = health
            .iter()
            .zip(&in_use)
            .map(|(health, in_use)| ReplicaStatus {
                health: *health,
                in_use: *in_use,
            })
            .collect();
        publish.send_replace(statuses);

        tokio::select! {
            () = changes.closed() => return,
            news = reports.recv() => match news {
                Some((index, heard)) => health[index] = heard,
                // Every watch has ended (servers without a health service): nothing will change.
                None => {
                    changes.closed().await;
                    return;
                }
            },
        }
        // Everything else already reported, so that one change of membership covers it all.
        while let Ok((index, heard)) = reports.try_recv() {
            health[index] = heard;
        }
    }
}

/// How a health watch ended.
enum Watched {
    /// The replica has no health service: it is taken as serving, and not watched (gRFC A17).
    Unimplemented,
    /// The watch failed or ended; `heard` says whether the replica answered anything first.
    Ended { heard: bool },
}

/// Watches one replica's health until the report channel closes: a watch at a time, with
/// backoff between attempts that heard nothing.
async fn watch_health(
    index: usize,
    endpoint: Endpoint,
    settings: Settings,
    report: mpsc::Sender<Report>,
) {
    let mut rng = StdRng::from_os_rng();
    let mut failures = 0;
    loop {
        match watch_once(index, &endpoint, &settings.health_service, &report).await {
            Watched::Unimplemented => {
                tracing::warn!(
                    replica = %endpoint.uri(),
                    "the replica has no health service: it is taken as serving, unwatched"
                );
                let _ = report.send((index, Health::Serving)).await;
                return;
            }
            Watched::Ended { heard } => {
                if report.send((index, Health::Down)).await.is_err() {
                    return;
                }
                // After a watch that heard something, the next starts at once (gRFC A17).
                failures = if heard { 0 } else { failures + 1 };
                if failures > 0 {
                    tokio::time::sleep(settings.reconnect.delay(failures, &mut rng)).await;
                }
            }
        }
    }
}

async fn watch_once(
    index: usize,
    endpoint: &Endpoint,
    service: &str,
    report: &mpsc::Sender<Report>,
) -> Watched {
    let channel = match endpoint.connect().await {
        Ok(channel) => channel,
        Err(error) => {
            tracing::debug!(replica = %endpoint.uri(), %error, "cannot connect");
            return Watched::Ended { heard: false };
        }
    };
    let request = HealthCheckRequest {
        service: service.to_string(),
    };
    let mut statuses = match HealthClient::new(channel).watch(request).await {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::Unimplemented => return Watched::Unimplemented,
        Err(status) => {
            tracing::debug!(replica = %endpoint.uri(), %status, "health watch refused");
            return Watched::Ended { heard: false };
        }
    };
    let mut heard = false;
    loop {
        match statuses.message().await {
            Ok(Some(answer)) => {
                heard = true;
                let health = if answer.status() == ServingStatus::Serving {
                    Health::Serving
                } else {
                    Health::Down
                };
                if report.send((index, health)).await.is_err() {
                    return Watched::Ended { heard };
                }
            }
            Ok(None) => return Watched::Ended { heard },
            Err(status) => {
                tracing::debug!(replica = %endpoint.uri(), %status, "health watch ended");
                return Watched::Ended { heard };
            }
        }
    }
}
