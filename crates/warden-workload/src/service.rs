//! The `SpiffeWorkloadAPI` gRPC service, written by hand in the shape
//! `tonic-build` generates (no `protoc` at build time): a tower service that
//! routes on the request path and runs each method through tonic's
//! [`Grpc`] with prost's codec.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::codegen::{Body, BoxFuture, Bytes, Service, StdError, http};
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

use crate::api::{ResponseStream, WorkloadApi};
use crate::proto;

/// The service's full name: `workload.proto` has no package.
const SERVICE: &str = "SpiffeWorkloadAPI";

/// The Workload API as a tower service for tonic's server.
#[derive(Clone)]
pub(crate) struct WorkloadApiService {
    api: Arc<WorkloadApi>,
}

impl WorkloadApiService {
    pub(crate) fn new(api: WorkloadApi) -> Self {
        Self { api: Arc::new(api) }
    }
}

impl NamedService for WorkloadApiService {
    const NAME: &'static str = SERVICE;
}

/// A server-streaming method's handler: the request to a stream of responses.
type StreamingHandler<Req, Res> =
    fn(Arc<WorkloadApi>, Request<Req>) -> Result<Response<ResponseStream<Res>>, Status>;

/// One server-streaming method.
struct Streaming<Req, Res> {
    api: Arc<WorkloadApi>,
    handle: StreamingHandler<Req, Res>,
}

impl<Req: Send + 'static, Res: Send + 'static> ServerStreamingService<Req> for Streaming<Req, Res> {
    type Response = Res;
    type ResponseStream = ResponseStream<Res>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let result = (self.handle)(Arc::clone(&self.api), request);
        Box::pin(std::future::ready(result))
    }
}

/// One unary method.
struct Unary<Req, Res> {
    api: Arc<WorkloadApi>,
    handle: fn(&WorkloadApi, Request<Req>) -> Result<Response<Res>, Status>,
}

impl<Req: Send + 'static, Res: Send + 'static> UnaryService<Req> for Unary<Req, Res> {
    type Response = Res;
    type Future = BoxFuture<Response<Res>, Status>;

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let result = (self.handle)(&self.api, request);
        Box::pin(std::future::ready(result))
    }
}

impl<B> Service<http::Request<B>> for WorkloadApiService
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let api = Arc::clone(&self.api);
        let method = request
            .uri()
            .path()
            .strip_prefix("/SpiffeWorkloadAPI/")
            .unwrap_or_default()
            .to_owned();
        Box::pin(async move {
            let response = match method.as_str() {
                "FetchX509SVID" => {
                    let method = Streaming {
                        api,
                        handle: WorkloadApi::fetch_x509_svid,
                    };
                    grpc::<proto::X509SvidResponse, proto::X509SvidRequest>()
                        .server_streaming(method, request)
                        .await
                }
                "FetchX509Bundles" => {
                    let method = Streaming {
                        api,
                        handle: WorkloadApi::fetch_x509_bundles,
                    };
                    grpc::<proto::X509BundlesResponse, proto::X509BundlesRequest>()
                        .server_streaming(method, request)
                        .await
                }
                "FetchJWTSVID" => {
                    let method = Unary {
                        api,
                        handle: WorkloadApi::fetch_jwt_svid,
                    };
                    grpc::<proto::JwtSvidResponse, proto::JwtSvidRequest>()
                        .unary(method, request)
                        .await
                }
                "FetchJWTBundles" => {
                    let method = Streaming {
                        api,
                        handle: WorkloadApi::fetch_jwt_bundles,
                    };
                    grpc::<proto::JwtBundlesResponse, proto::JwtBundlesRequest>()
                        .server_streaming(method, request)
                        .await
                }
                "ValidateJWTSVID" => {
                    let method = Unary {
                        api,
                        handle: WorkloadApi::validate_jwt_svid,
                    };
                    grpc::<proto::ValidateJwtSvidResponse, proto::ValidateJwtSvidRequest>()
                        .unary(method, request)
                        .await
                }
                _ => Status::unimplemented("").into_http(),
            };
            Ok(response)
        })
    }
}

/// tonic's server side of one method: encodes `Res`, decodes `Req`.
fn grpc<Res, Req>() -> Grpc<ProstCodec<Res, Req>>
where
    Res: prost::Message + Send + 'static,
    Req: prost::Message + Default + Send + 'static,
{
    Grpc::new(ProstCodec::default())
}
