//! The `LinkService` implementation: for now, every method says which lesson builds it.

use tonic::{Request, Response, Status};

use crate::pb::link_service_server::LinkService;
// TODO(lesson 06): Exercise 2: your methods need their request and response types too.
use crate::pb::{CreateLinkRequest, CreateLinkResponse};

/// The shortener service. It keeps no links yet: lesson 07 gives it its state.
#[derive(Debug, Default, Clone)]
pub struct LinkServer {}

// NEW(lesson 06): given, the worked example: the trait that build.rs generated from the
// service in proto/link.proto, implemented for LinkServer, with its first method.
#[tonic::async_trait]
impl LinkService for LinkServer {
    async fn create_link(
        &self,
        _request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        Err(Status::unimplemented("CreateLink is built in lesson 07"))
    }

    // TODO(lesson 06): Exercise 2: once the service has GetLink and DeleteLink, the trait asks
    // for a method for each. Each answers UNIMPLEMENTED with a message that names its RPC and
    // the lesson that builds it, as create_link does.
}
