//! A fake replica of the shortener: a LinkService that keeps links in memory, stores creates
//! by idempotency key, counts what it serves, and answers gRPC health checks. A test can hold a
//! call in its handler after the work is done ([`Gate`]), to cut the connection and lose the
//! answer.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shortener_proto::link_service_server::{LinkService, LinkServiceServer};
use shortener_proto::testing::TestServer;
use shortener_proto::{
    BatchCreateLinksResponse, CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest,
    DeleteLinkResponse, GetLinkRequest, GetLinkResponse, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};
use tokio::sync::{Notify, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use solution_19::balance::LINK_SERVICE;
use solution_19::idempotency::IDEMPOTENCY_KEY;

/// How long a test waits for something a replica should do at once.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Holds a handler once, after its work, until released: the test learns it got there, and
/// can cut the connection so that the work is done and the answer lost, or let it go on.
#[derive(Debug, Default)]
pub struct Gate {
    armed: AtomicBool,
    reached: Notify,
    released: Notify,
}

impl Gate {
    /// The next call through this gate stops there.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Calls go through again (a call already held stays held).
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    /// Waits until a call stopped at the gate.
    pub async fn reached(&self) {
        tokio::time::timeout(LIMIT, self.reached.notified())
            .await
            .expect("no call reached the gate: did the client send it to this replica?");
    }

    /// Lets the held call go on.
    pub fn release(&self) {
        self.released.notify_one();
    }

    async fn pass(&self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.reached.notify_one();
            self.released.notified().await;
        }
    }
}

/// What a replica served, and what it holds.
#[derive(Debug, Default)]
pub struct State {
    pub index: usize,
    pub gets: AtomicUsize,
    pub creates: AtomicUsize,
    pub deletes: AtomicUsize,
    pub lists: AtomicUsize,
    /// SyncClicks messages received, over every stream.
    pub syncs: AtomicUsize,
    /// Every idempotency key a CreateLink came with, in order.
    pub keys: Mutex<Vec<String>>,
    links: Mutex<HashMap<String, Link>>,
    by_key: Mutex<HashMap<String, Link>>,
    next_id: AtomicI64,
    /// Holds a CreateLink after the link is stored.
    pub create_gate: Gate,
    /// Holds a DeleteLink after the link is deleted.
    pub delete_gate: Gate,
    /// Holds a GetLink before it answers.
    pub get_gate: Gate,
    /// Holds a ListLinks before its first link.
    pub list_first_gate: Gate,
    /// Holds a ListLinks after its first link.
    pub list_next_gate: Gate,
    health: Mutex<Option<HealthReporter>>,
}

impl State {
    /// Stores a link, as if created earlier.
    pub fn insert(&self, short_code: &str, url: &str) -> Link {
        let link = Link {
            id: self.next_id.fetch_add(1, Ordering::SeqCst) + 1,
            url: url.to_string(),
            short_code: short_code.to_string(),
            clicks: 0,
        };
        self.links
            .lock()
            .expect("links")
            .insert(short_code.to_string(), link.clone());
        link
    }

    /// How many links it holds.
    pub fn link_count(&self) -> usize {
        self.links.lock().expect("links").len()
    }

    /// Says SERVING or NOT_SERVING to health checks from now on.
    pub async fn set_serving(&self, serving: bool) {
        let reporter = self.health.lock().expect("health").clone();
        let reporter = reporter.expect("the replica has started");
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        reporter.set_service_status(LINK_SERVICE, status).await;
    }
}

/// A running replica: dropping it stops it, and closes every connection it accepted.
pub struct Replica {
    pub state: Arc<State>,
    pub server: TestServer,
}

impl Replica {
    pub async fn start(index: usize) -> Replica {
        Replica::start_with(Arc::new(State {
            index,
            ..State::default()
        }))
        .await
    }

    /// A replica over `state`: a replica that restarts on the same store.
    pub async fn start_with(state: Arc<State>) -> Replica {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status(LINK_SERVICE, ServingStatus::Serving)
            .await;
        *state.health.lock().expect("health") = Some(reporter);
        let service = LinkServiceServer::new(Fake(state.clone()));
        let server = TestServer::start(move |listener| async move {
            Server::builder()
                .add_service(health)
                .add_service(service)
                .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
                .await
        })
        .await;
        Replica { state, server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }
}

/// Three replicas, 0, 1 and 2, each holding the link `abc123`.
pub async fn three_replicas() -> Vec<Replica> {
    let mut replicas = Vec::new();
    for index in 0..3 {
        let replica = Replica::start(index).await;
        replica.state.insert("abc123", "https://example.com/");
        replicas.push(replica);
    }
    replicas
}

struct Fake(Arc<State>);

type Links = Pin<Box<dyn Stream<Item = Result<Link, Status>> + Send>>;
type Answers = Pin<Box<dyn Stream<Item = Result<SyncResponse, Status>> + Send>>;

#[tonic::async_trait]
impl LinkService for Fake {
    async fn create_link(
        &self,
        request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        let state = &self.0;
        state.creates.fetch_add(1, Ordering::SeqCst);
        let key = request
            .metadata()
            .get(IDEMPOTENCY_KEY)
            .and_then(|key| key.to_str().ok())
            .map(str::to_string);
        let url = request.into_inner().url;
        let link = match &key {
            Some(key) => {
                state.keys.lock().expect("keys").push(key.clone());
                let mut by_key = state.by_key.lock().expect("by key");
                match by_key.get(key) {
                    Some(link) => link.clone(),
                    None => {
                        let id = state.next_id.load(Ordering::SeqCst) + 1;
                        let link = state.insert(&format!("k{id:05}"), &url);
                        by_key.insert(key.clone(), link.clone());
                        link
                    }
                }
            }
            None => {
                let id = state.next_id.load(Ordering::SeqCst) + 1;
                state.insert(&format!("n{id:05}"), &url)
            }
        };
        state.create_gate.pass().await;
        Ok(Response::new(CreateLinkResponse { link: Some(link) }))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let state = &self.0;
        state.gets.fetch_add(1, Ordering::SeqCst);
        state.get_gate.pass().await;
        let code = request.into_inner().short_code;
        let link = state.links.lock().expect("links").get(&code).cloned();
        match link {
            Some(link) => Ok(Response::new(GetLinkResponse { link: Some(link) })),
            None => Err(Status::not_found(format!("no link has the code {code}"))),
        }
    }

    async fn delete_link(
        &self,
        request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        let state = &self.0;
        state.deletes.fetch_add(1, Ordering::SeqCst);
        let code = request.into_inner().short_code;
        let removed = state.links.lock().expect("links").remove(&code);
        if removed.is_none() {
            return Err(Status::not_found(format!("no link has the code {code}")));
        }
        state.delete_gate.pass().await;
        Ok(Response::new(DeleteLinkResponse {}))
    }

    type ListLinksStream = Links;

    async fn list_links(
        &self,
        _request: Request<ListLinksRequest>,
    ) -> Result<Response<Links>, Status> {
        let state = self.0.clone();
        state.lists.fetch_add(1, Ordering::SeqCst);
        let mut links: Vec<Link> = state
            .links
            .lock()
            .expect("links")
            .values()
            .cloned()
            .collect();
        links.sort_by_key(|link| link.id);
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            state.list_first_gate.pass().await;
            for (sent, link) in links.into_iter().enumerate() {
                if sent == 1 {
                    state.list_next_gate.pass().await;
                }
                if tx.send(Ok(link)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn batch_create_links(
        &self,
        _request: Request<Streaming<CreateLinkRequest>>,
    ) -> Result<Response<BatchCreateLinksResponse>, Status> {
        Err(Status::unimplemented("the fake replica does not batch"))
    }

    type SyncClicksStream = Answers;

    /// Answers every message with `total_clicks` set to the replica's index: who answered.
    async fn sync_clicks(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Answers>, Status> {
        let state = self.0.clone();
        let mut requests = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            while let Ok(Some(request)) = requests.message().await {
                state.syncs.fetch_add(1, Ordering::SeqCst);
                let answer = SyncResponse {
                    short_code: request.short_code,
                    total_clicks: state.index as i64,
                    acknowledged: true,
                };
                if tx.send(Ok(answer)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
