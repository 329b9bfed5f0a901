//! The `LinkService` implementation: for now, every method says which lesson builds it.

use tonic::{Request, Response, Status};

use crate::pb::link_service_server::LinkService;
use crate::pb::{
    CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest, DeleteLinkResponse, GetLinkRequest,
    GetLinkResponse,
};

/// The shortener service. It keeps no links yet: lesson 07 gives it its state.
#[derive(Debug, Default, Clone)]
pub struct LinkServer {}

#[tonic::async_trait]
impl LinkService for LinkServer {
    async fn create_link(
        &self,
        _request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        Err(Status::unimplemented("CreateLink is built in lesson 07"))
    }

    async fn get_link(
        &self,
        _request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        Err(Status::unimplemented("GetLink is built in lesson 07"))
    }

    async fn delete_link(
        &self,
        _request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        Err(Status::unimplemented("DeleteLink is built in lesson 07"))
    }
}
