//! `image_processing_lambda`: thumbnails for uploaded images. Under Lambda it handles SQS
//! batches (reporting partial failures); elsewhere it long-polls the queue itself.

#[tokio::main]
async fn main() -> Result<(), common::error::BoxError> {
    common::runtime::serve_image_processor().await
}
